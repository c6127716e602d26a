// Shape family, part 1: Constant, ConstantOfShape, Shape, Size, Range, EyeLike, Trilu, Reshape,
// Flatten, Squeeze, Unsqueeze, Expand, Tile. Expected values are computed by hand.
#include "shape_test_util.hpp"

namespace nnaccel::testing {
namespace {

using ::testing::ElementsAre;


// ---- Constant ----------------------------------------------------------------------------------

TEST(ShapeConstant, ValueTensorAndScalarForms) {
  Tensor v = f32({2}, {1.5f, -2});
  Tensor out = run1(make_node("Constant", 0, 1, {Attribute::of_tensor("value", v)}), {});
  EXPECT_EQ(out.shape(), Shape({2}));
  EXPECT_THAT(floats(out), ElementsAre(1.5f, -2.f));

  out = run1(make_node("Constant", 0, 1, {Attribute::of_float("value_float", 0.25f)}), {});
  EXPECT_EQ(out.dtype(), DType::f32);
  EXPECT_EQ(out.rank(), 0);
  EXPECT_THAT(floats(out), ElementsAre(0.25f));

  out = run1(make_node("Constant", 0, 1, {Attribute::of_ints("value_ints", {3, -4, 5})}), {});
  EXPECT_EQ(out.dtype(), DType::i64);
  EXPECT_THAT(ints(out), ElementsAre(3, -4, 5));

  out = run1(make_node("Constant", 0, 1, {Attribute::of_int("value_int", -7)}), {});
  EXPECT_EQ(out.rank(), 0);
  EXPECT_THAT(ints(out), ElementsAre(-7));

  auto t = infer_op(make_node("Constant", 0, 1, {Attribute::of_ints("value_ints", {1, 2})}), {});
  EXPECT_EQ(t[0].dtype, DType::i64);
  EXPECT_THAT(dims(t[0]), ElementsAre(2));
}

TEST(ShapeConstant, RejectsStringsSparseAndAmbiguity) {
  EXPECT_ERROR_WITH(run1(make_node("Constant", 0, 1, {Attribute::of_string("value_string", "x")}), {}),
                    "string tensors are not supported");
  Attribute strs;
  strs.name = "value_strings";
  strs.kind = Attribute::Kind::strings;
  strs.strings = {"a"};
  EXPECT_ERROR_WITH(run1(make_node("Constant", 0, 1, {strs}), {}),
                    "string tensors are not supported");
  EXPECT_ERROR_WITH(run1(make_node("Constant", 0, 1, {Attribute::of_tensor("sparse_value", i64s({1}))}), {}),
                    "sparse");
  EXPECT_ERROR_WITH(run1(make_node("Constant", 0, 1), {}), "exactly one");
  EXPECT_ERROR_WITH(
      run1(make_node("Constant", 0, 1, {Attribute::of_int("value_int", 1), Attribute::of_float("value_float", 1)}), {}),
      "exactly one");
}

// ---- ConstantOfShape ---------------------------------------------------------------------------

TEST(ShapeConstantOfShape, FillsWithValueOrZero) {
  Tensor seven = i32({1}, {7});
  Tensor out = run1(make_node("ConstantOfShape", 1, 1, {Attribute::of_tensor("value", seven)}), {i64s({2, 3})});
  EXPECT_EQ(out.dtype(), DType::i32);
  EXPECT_EQ(out.shape(), Shape({2, 3}));
  EXPECT_THAT(ints(out), ElementsAre(7, 7, 7, 7, 7, 7));

  out = run1(make_node("ConstantOfShape", 1, 1), {i64s({3})});
  EXPECT_EQ(out.dtype(), DType::f32);
  EXPECT_THAT(floats(out), ElementsAre(0.f, 0.f, 0.f));

  // An empty shape gives a scalar; a zero dim gives an empty tensor.
  out = run1(make_node("ConstantOfShape", 1, 1, {Attribute::of_tensor("value", f32({1}, {2.5f}))}),
             {Tensor(DType::i64, {0})});
  EXPECT_EQ(out.rank(), 0);
  EXPECT_THAT(floats(out), ElementsAre(2.5f));
  out = run1(make_node("ConstantOfShape", 1, 1), {i64s({4, 0})});
  EXPECT_EQ(out.shape(), Shape({4, 0}));
}

TEST(ShapeConstantOfShape, HugeOrNegativeShapesAreErrors) {
  ScopedMemoryCap cap(1 << 30);
  Node n = make_node("ConstantOfShape", 1, 1);
  EXPECT_ERROR_WITH(run1(n, {i64s({1000000000000})}), "ConstantOfShape");
  EXPECT_ERROR_WITH(run1(n, {i64s({10000000000, 10000000000})}), "overflow");
  EXPECT_ERROR_WITH(run1(n, {i64s({2, -1})}), "negative dimension -1");
}

TEST(ShapeConstantOfShape, InfersExactShapeFromKnownInput) {
  Node n = make_node("ConstantOfShape", 1, 1, {Attribute::of_tensor("value", i64s({1}))});
  Tensor s = i64s({5, 2});
  auto t = infer_op(n, {type_of(s)}, {&s});
  EXPECT_EQ(t[0].dtype, DType::i64);
  EXPECT_THAT(dims(t[0]), ElementsAre(5, 2));
  t = infer_op(n, {partial(DType::i64, {3})});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1, -1, -1));
}

// ---- Shape / Size ------------------------------------------------------------------------------

TEST(ShapeShape, StartEndClampAndNegative) {
  Tensor x(DType::f32, {2, 3, 4, 5});
  EXPECT_THAT(ints(run1(make_node("Shape", 1, 1), {x})), ElementsAre(2, 3, 4, 5));
  EXPECT_THAT(ints(run1(make_node("Shape", 1, 1, {Attribute::of_int("start", -1)}), {x})), ElementsAre(5));
  EXPECT_THAT(ints(run1(make_node("Shape", 1, 1, {Attribute::of_int("start", 1), Attribute::of_int("end", -1)}), {x})),
              ElementsAre(3, 4));
  EXPECT_THAT(ints(run1(make_node("Shape", 1, 1, {Attribute::of_int("start", -10), Attribute::of_int("end", 10)}), {x})),
              ElementsAre(2, 3, 4, 5));
  EXPECT_EQ(run1(make_node("Shape", 1, 1, {Attribute::of_int("start", 3), Attribute::of_int("end", 1)}), {x}).numel(), 0);
  auto t =
      infer_op(make_node("Shape", 1, 1, {Attribute::of_int("end", -1)}), {partial(DType::f32, {-1, 3, -1})});
  EXPECT_EQ(t[0].dtype, DType::i64);
  EXPECT_THAT(dims(t[0]), ElementsAre(2));
}

TEST(ShapeSize, CountsElements) {
  Tensor s = run1(make_node("Size", 1, 1), {Tensor(DType::f16, {3, 0, 2})});
  EXPECT_EQ(s.rank(), 0);
  EXPECT_THAT(ints(s), ElementsAre(0));
  EXPECT_THAT(ints(run1(make_node("Size", 1, 1), {Tensor(DType::i8, {3, 7})})), ElementsAre(21));
}

// ---- Range -------------------------------------------------------------------------------------

TEST(ShapeRange, FloatAndIntegerCounts) {
  Node n = make_node("Range", 3, 1);
  Tensor out = run1(n, {Tensor::scalar_f32(1), Tensor::scalar_f32(2), Tensor::scalar_f32(0.3f)});
  ASSERT_EQ(out.numel(), 4);  // ceil(1 / 0.3)
  EXPECT_FLOAT_EQ(floats(out)[3], 1.9f);
  Tensor s = i32({}, {10}), l = i32({}, {4}), d = i32({}, {-3});
  out = run1(n, {s, l, d});
  EXPECT_EQ(out.dtype(), DType::i32);
  EXPECT_THAT(ints(out), ElementsAre(10, 7));
  // Going the wrong way gives an empty range.
  EXPECT_EQ(run1(n, {Tensor::scalar_i64(5), Tensor::scalar_i64(1), Tensor::scalar_i64(2)}).numel(),
            0);
  auto t = infer_op(n, {type_of(s), type_of(l), type_of(d)}, {&s, &l, &d});
  EXPECT_THAT(dims(t[0]), ElementsAre(2));
}

TEST(ShapeRange, ErrorsBeforeAllocating) {
  ScopedMemoryCap cap(1 << 30);
  Node n = make_node("Range", 3, 1);
  EXPECT_ERROR_WITH(run1(n, {Tensor::scalar_i64(0), Tensor::scalar_i64(5), Tensor::scalar_i64(0)}),
                    "delta is zero");
  EXPECT_ERROR_WITH(run1(n, {Tensor::scalar_i64(INT64_MIN), Tensor::scalar_i64(INT64_MAX),
                             Tensor::scalar_i64(1)}),
                    "Range");
  EXPECT_ERROR_WITH(
      run1(n, {Tensor::scalar_f32(0), Tensor::scalar_f32(1e30f), Tensor::scalar_f32(1)}),
      "too many elements");
  EXPECT_ERROR_WITH(run1(n, {Tensor::scalar_f32(0), Tensor::scalar_i64(3), Tensor::scalar_f32(1)}),
                    "one dtype");
}

// ---- EyeLike / Trilu ---------------------------------------------------------------------------

TEST(ShapeEyeLike, DiagonalOffsetAndDtype) {
  Tensor x(DType::f32, {3, 4});
  Tensor out = run1(make_node("EyeLike", 1, 1, {Attribute::of_int("k", 1), Attribute::of_int("dtype", 6)}), {x});
  EXPECT_EQ(out.dtype(), DType::i32);
  EXPECT_THAT(ints(out), ElementsAre(0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1));
  out = run1(make_node("EyeLike", 1, 1, {Attribute::of_int("k", -2)}), {Tensor(DType::f16, {3, 2})});
  EXPECT_EQ(out.dtype(), DType::f16);
  EXPECT_THAT(floats(out), ElementsAre(0, 0, 0, 0, 1, 0));
  out = run1(make_node("EyeLike", 1, 1, {Attribute::of_int("dtype", 9)}), {Tensor(DType::i64, {2, 2})});
  EXPECT_EQ(out.dtype(), DType::boolean);
  EXPECT_THAT(ints(out), ElementsAre(1, 0, 0, 1));
  EXPECT_ERROR_WITH(run1(make_node("EyeLike", 1, 1), {Tensor(DType::f32, {2, 2, 2})}), "2-D");
}

TEST(ShapeTrilu, UpperLowerWithK) {
  Tensor x = f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_THAT(floats(run1(make_node("Trilu", 1, 1), {x})), ElementsAre(1, 2, 3, 0, 5, 6, 0, 0, 9));
  EXPECT_THAT(floats(run1(make_node("Trilu", 2, 1), {x, Tensor::scalar_i64(1)})),
              ElementsAre(0, 2, 3, 0, 0, 6, 0, 0, 0));
  EXPECT_THAT(
      floats(run1(make_node("Trilu", 2, 1, {Attribute::of_int("upper", 0)}), {x, Tensor::scalar_i64(-1)})),
      ElementsAre(0, 0, 0, 4, 0, 0, 7, 8, 0));
  // Huge k keeps everything (lower) or nothing (upper); batches are handled per matrix.
  EXPECT_THAT(floats(run1(make_node("Trilu", 2, 1, {Attribute::of_int("upper", 0)}),
                          {x, Tensor::scalar_i64(INT64_MAX)})),
              ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9));
  Tensor b = f32({2, 1, 2}, {1, 2, 3, 4});
  EXPECT_THAT(floats(run1(make_node("Trilu", 1, 1, {Attribute::of_int("upper", 0)}), {b})),
              ElementsAre(1, 0, 3, 0));
  EXPECT_ERROR_WITH(run1(make_node("Trilu", 1, 1), {f32({3}, {1, 2, 3})}), "rank >= 2");
}

// ---- Reshape / Flatten -------------------------------------------------------------------------

TEST(ShapeReshape, ZeroCopiesAndMinusOneInfers) {
  Tensor x = f32({2, 3, 4}, std::vector<float>(24, 1.f));
  Node n = make_node("Reshape", 2, 1);
  EXPECT_EQ(run1(n, {x, i64s({0, -1})}).shape(), Shape({2, 12}));
  EXPECT_EQ(run1(n, {x, i64s({-1, 0, 2})}).shape(), Shape({4, 3, 2}));
  Tensor y = run1(n, {f32({2, 2}, {1, 2, 3, 4}), i64s({4})});
  EXPECT_THAT(floats(y), ElementsAre(1, 2, 3, 4));
  // allowzero=1: 0 is a real zero.
  Node az = make_node("Reshape", 2, 1, {Attribute::of_int("allowzero", 1)});
  EXPECT_EQ(run1(az, {Tensor(DType::f32, {0, 3}), i64s({3, 0})}).shape(), Shape({3, 0}));
  EXPECT_ERROR_WITH(run1(n, {x, i64s({-1, -1})}), "more than one -1");
  EXPECT_ERROR_WITH(run1(n, {x, i64s({5, -1})}), "cannot reshape 24 elements");
  EXPECT_ERROR_WITH(run1(n, {x, i64s({0, 0, 0, 0})}), "beyond the input's rank");
  EXPECT_ERROR_WITH(run1(az, {x, i64s({0, -1})}), "both 0 and -1");
  EXPECT_ERROR_WITH(run1(n, {x, i64s({-2, 12})}), "invalid value -2");
}

TEST(ShapeReshape, InfersFromKnownShapeInput) {
  Node n = make_node("Reshape", 2, 1);
  Tensor s = i64s({0, -1});
  auto t = infer_op(n, {partial(DType::f32, {2, 3, 4}), type_of(s)}, {nullptr, &s});
  EXPECT_THAT(dims(t[0]), ElementsAre(2, 12));
  // Unknown batch dim copied by 0; -1 cannot be computed without it.
  t = infer_op(n, {partial(DType::f32, {-1, 3, 4}), type_of(s)}, {nullptr, &s});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1, -1));
  Tensor s2 = i64s({-1, 12});
  t = infer_op(n, {partial(DType::f32, {-1, 3, 4}), type_of(s2)}, {nullptr, &s2});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1, 12));
  // Shape not known: only the rank.
  t = infer_op(n, {partial(DType::f32, {2, 3}), partial(DType::i64, {3})});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1, -1, -1));
  Tensor bad = i64s({5, 5});
  EXPECT_ERROR_WITH(infer_op(n, {partial(DType::f32, {2, 3}), type_of(bad)}, {nullptr, &bad}),
                    "cannot reshape 6 elements");
}

TEST(ShapeFlatten, AxisVariants) {
  Tensor x(DType::f32, {2, 3, 4, 5});
  EXPECT_EQ(run1(make_node("Flatten", 1, 1), {x}).shape(), Shape({2, 60}));
  EXPECT_EQ(run1(make_node("Flatten", 1, 1, {Attribute::of_int("axis", 0)}), {x}).shape(), Shape({1, 120}));
  EXPECT_EQ(run1(make_node("Flatten", 1, 1, {Attribute::of_int("axis", 4)}), {x}).shape(), Shape({120, 1}));
  EXPECT_EQ(run1(make_node("Flatten", 1, 1, {Attribute::of_int("axis", -3)}), {x}).shape(), Shape({2, 60}));
  EXPECT_ERROR_WITH(run1(make_node("Flatten", 1, 1, {Attribute::of_int("axis", 5)}), {x}), "axis 5");
  auto t =
      infer_op(make_node("Flatten", 1, 1, {Attribute::of_int("axis", 2)}), {partial(DType::f32, {-1, 3, 4})});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1, 4));
}

// ---- Squeeze / Unsqueeze -----------------------------------------------------------------------

TEST(ShapeSqueeze, AxesAndDefault) {
  Tensor x = f32({1, 3, 1, 2}, {1, 2, 3, 4, 5, 6});
  Tensor y = run1(make_node("Squeeze", 2, 1), {x, i64s({-2})});
  EXPECT_EQ(y.shape(), Shape({1, 3, 2}));
  EXPECT_THAT(floats(y), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_EQ(run1(make_node("Squeeze", 1, 1), {x}).shape(), Shape({3, 2}));
  EXPECT_EQ(run1(make_node("Squeeze", 2, 1), {x, Tensor(DType::i64, {0})}).shape(), Shape({3, 2}));
  EXPECT_ERROR_WITH(run1(make_node("Squeeze", 2, 1), {x, i64s({1})}), "cannot squeeze axis 1");
  EXPECT_ERROR_WITH(run1(make_node("Squeeze", 2, 1), {x, i64s({4})}), "axis 4 is out of range");
  EXPECT_ERROR_WITH(run1(make_node("Squeeze", 2, 1), {x, i64s({0, -4})}), "repeated");
  // Without axes an unknown dim might be 1: the rank is unknown.
  auto t = infer_op(make_node("Squeeze", 1, 1), {partial(DType::f32, {1, -1})});
  EXPECT_FALSE(t[0].has_shape);
  Tensor a = i64s({0});
  t = infer_op(make_node("Squeeze", 2, 1), {partial(DType::f32, {1, -1}), type_of(a)},
               {nullptr, &a});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1));
}

TEST(ShapeUnsqueeze, UnsortedAndNegativeAxes) {
  Tensor x(DType::f32, {3, 4});
  EXPECT_EQ(run1(make_node("Unsqueeze", 2, 1), {x, i64s({3, 0})}).shape(), Shape({1, 3, 4, 1}));
  EXPECT_EQ(run1(make_node("Unsqueeze", 2, 1), {x, i64s({-1})}).shape(), Shape({3, 4, 1}));
  EXPECT_EQ(run1(make_node("Unsqueeze", 2, 1), {x, i64s({1, -2})}).shape(), Shape({3, 1, 1, 4}));
  EXPECT_ERROR_WITH(run1(make_node("Unsqueeze", 2, 1), {x, i64s({1, 1})}), "repeated");
  EXPECT_ERROR_WITH(run1(make_node("Unsqueeze", 2, 1), {x, i64s({3})}), "out of range");
  Tensor a = i64s({0, 3});
  auto t = infer_op(make_node("Unsqueeze", 2, 1), {partial(DType::f32, {-1, 4}), type_of(a)},
                    {nullptr, &a});
  EXPECT_THAT(dims(t[0]), ElementsAre(1, -1, 4, 1));
}

// ---- Expand / Tile -----------------------------------------------------------------------------

TEST(ShapeExpand, BidirectionalBroadcast) {
  Tensor x = f32({3, 1}, {1, 2, 3});
  Tensor y = run1(make_node("Expand", 2, 1), {x, i64s({2, 1, 2})});
  EXPECT_EQ(y.shape(), Shape({2, 3, 2}));
  EXPECT_THAT(floats(y), ElementsAre(1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3));
  // A shape smaller than the input keeps the input's dims.
  EXPECT_EQ(run1(make_node("Expand", 2, 1), {x, i64s({1})}).shape(), Shape({3, 1}));
  EXPECT_ERROR_WITH(run1(make_node("Expand", 2, 1), {x, i64s({2, 2})}), "cannot expand");
  ScopedMemoryCap cap(1 << 30);
  EXPECT_ERROR_WITH(run1(make_node("Expand", 2, 1), {x, i64s({1000000, 3, 1000000})}), "Expand");
  Tensor s = i64s({2, 1, 5});
  auto t = infer_op(make_node("Expand", 2, 1), {partial(DType::f32, {-1, 1}), type_of(s)},
                    {nullptr, &s});
  EXPECT_THAT(dims(t[0]), ElementsAre(2, -1, 5));
}

TEST(ShapeTile, RepeatsEachAxis) {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  Tensor y = run1(make_node("Tile", 2, 1), {x, i64s({2, 3})});
  EXPECT_EQ(y.shape(), Shape({4, 6}));
  EXPECT_THAT(floats(y),
              ElementsAre(1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4));
  EXPECT_EQ(run1(make_node("Tile", 2, 1), {x, i64s({0, 1})}).shape(), Shape({0, 2}));
  EXPECT_ERROR_WITH(run1(make_node("Tile", 2, 1), {x, i64s({2})}), "repeats has 1 values");
  EXPECT_ERROR_WITH(run1(make_node("Tile", 2, 1), {x, i64s({-1, 1})}), "negative");
  EXPECT_ERROR_WITH(run1(make_node("Tile", 2, 1), {x, i64s({INT64_MAX / 2, 1})}), "overflow");
  ScopedMemoryCap cap(1 << 30);
  EXPECT_ERROR_WITH(run1(make_node("Tile", 2, 1), {x, i64s({1 << 20, 1 << 20})}), "Tile");
}

}  // namespace
}  // namespace nnaccel::testing
