// Shape family, part 2: Concat, Split, Slice, Transpose, Pad, DepthToSpace, SpaceToDepth.
#include "core/cast.hpp"
#include "shape_test_util.hpp"

namespace nnaccel::testing {
namespace {

using ::testing::ElementsAre;

std::vector<float> iota_f(int n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  return v;
}

// ---- Concat ------------------------------------------------------------------------------------

TEST(ShapeConcat, NegativeAxisAndEmptyInputs) {
  Tensor a = f32({2, 1}, {1, 2}), b = f32({2, 2}, {3, 4, 5, 6}), e(DType::f32, {2, 0});
  Tensor y = run1(make_node("Concat", 3, 1, {Attribute::of_int("axis", -1)}), {a, e, b});
  EXPECT_EQ(y.shape(), Shape({2, 3}));
  EXPECT_THAT(floats(y), ElementsAre(1, 3, 4, 2, 5, 6));
  y = run1(make_node("Concat", 2, 1, {Attribute::of_int("axis", 0)}), {b, b});
  EXPECT_THAT(floats(y), ElementsAre(3, 4, 5, 6, 3, 4, 5, 6));
  EXPECT_ERROR_WITH(run1(make_node("Concat", 2, 1, {Attribute::of_int("axis", 0)}), {a, b}),
                    "dimension 1 differs");
  EXPECT_ERROR_WITH(run1(make_node("Concat", 2, 1, {Attribute::of_int("axis", 2)}), {a, b}),
                    "axis 2 is out of range");
  EXPECT_ERROR_WITH(run1(make_node("Concat", 2, 1), {a, b}), "'axis' is required");
  EXPECT_ERROR_WITH(run1(make_node("Concat", 2, 1, {Attribute::of_int("axis", 0)}), {a, i64({2, 1}, {1, 2})}),
                    "int64");
  auto t = infer_op(make_node("Concat", 2, 1, {Attribute::of_int("axis", 1)}),
                    {partial(DType::f32, {-1, 2}), partial(DType::f32, {4, 3})});
  EXPECT_THAT(dims(t[0]), ElementsAre(4, 5));
  EXPECT_ERROR_WITH(infer_op(make_node("Concat", 2, 1, {Attribute::of_int("axis", 1)}),
                             {partial(DType::f32, {3, 2}), partial(DType::f32, {4, 3})}),
                    "expected 3");
}

// ---- Split -------------------------------------------------------------------------------------

TEST(ShapeSplit, GivenAndEqualSizes) {
  Tensor x = f32({6}, {1, 2, 3, 4, 5, 6});
  auto outs = run_op(make_node("Split", 2, 2), {x, i64s({2, 4})});
  EXPECT_THAT(floats(outs[0]), ElementsAre(1, 2));
  EXPECT_THAT(floats(outs[1]), ElementsAre(3, 4, 5, 6));
  outs = run_op(make_node("Split", 2, 3), {x, Tensor(DType::i64, {0})});
  EXPECT_THAT(floats(outs[0]), ElementsAre(1, 2));
  outs = run_op(make_node("Split", 1, 3), {x});
  EXPECT_THAT(floats(outs[2]), ElementsAre(5, 6));
  Tensor m = f32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  outs = run_op(make_node("Split", 1, 2, {Attribute::of_int("axis", -1)}), {m});
  EXPECT_EQ(outs[0].shape(), Shape({2, 2}));
  EXPECT_THAT(floats(outs[0]), ElementsAre(1, 2, 5, 6));
  EXPECT_THAT(floats(outs[1]), ElementsAre(3, 4, 7, 8));
  outs = run_op(make_node("Split", 2, 3), {Tensor(DType::f32, {0}), i64s({0, 0, 0})});
  EXPECT_EQ(outs[2].shape(), Shape({0}));
  // opset 18's num_outputs: the last part is smaller.
  outs = run_op(make_node("Split", 1, 2, {Attribute::of_int("num_outputs", 2)}), {f32({3}, {1, 2, 3})});
  EXPECT_THAT(floats(outs[0]), ElementsAre(1, 2));
  EXPECT_THAT(floats(outs[1]), ElementsAre(3));
}

TEST(ShapeSplit, ErrorsAndInference) {
  EXPECT_ERROR_WITH(run_op(make_node("Split", 1, 2), {f32({5}, iota_f(5))}), "2 equal parts");
  EXPECT_ERROR_WITH(run_op(make_node("Split", 2, 2), {f32({5}, iota_f(5)), i64s({2, 2})}),
                    "add up to 4");
  EXPECT_ERROR_WITH(run_op(make_node("Split", 2, 2), {f32({5}, iota_f(5)), i64s({6, -1})}),
                    "negative");
  EXPECT_ERROR_WITH(run_op(make_node("Split", 2, 3), {f32({5}, iota_f(5)), i64s({2, 3})}),
                    "2 values for 3 outputs");
  Tensor s = i64s({1, 3});
  auto t = infer_op(make_node("Split", 2, 2, {Attribute::of_int("axis", 1)}),
                    {partial(DType::f32, {-1, 4}), type_of(s)}, {nullptr, &s});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1, 1));
  EXPECT_THAT(dims(t[1]), ElementsAre(-1, 3));
  t = infer_op(make_node("Split", 1, 2), {partial(DType::f32, {8, 2})});
  EXPECT_THAT(dims(t[1]), ElementsAre(4, 2));
}

// ---- Slice -------------------------------------------------------------------------------------

TEST(ShapeSlice, StartsEndsAxesSteps) {
  Tensor x = f32({4, 5}, iota_f(20));
  Node n = make_node("Slice", 3, 1);
  Tensor y = run1(n, {x, i64s({1, 0}), i64s({3, 5})});
  EXPECT_EQ(y.shape(), Shape({2, 5}));
  EXPECT_THAT(floats(y), ElementsAre(5, 6, 7, 8, 9, 10, 11, 12, 13, 14));
  Node full = make_node("Slice", 5, 1);
  y = run1(full, {x, i64s({-1}), i64s({INT64_MIN}), i64s({1}), i64s({-2})});
  EXPECT_EQ(y.shape(), Shape({4, 3}));
  EXPECT_THAT(floats(y), ElementsAre(4, 2, 0, 9, 7, 5, 14, 12, 10, 19, 17, 15));
  // Out-of-range starts and ends are clamped; negative axes count from the back.
  Node ax = make_node("Slice", 4, 1);
  EXPECT_EQ(run1(ax, {x, i64s({10}), i64s({20}), i64s({0})}).shape(), Shape({0, 5}));
  y = run1(ax, {x, i64s({2}), i64s({1000}), i64s({-2})});
  EXPECT_THAT(floats(y), ElementsAre(10, 11, 12, 13, 14, 15, 16, 17, 18, 19));
  // Reversal of everything with a huge negative step count; int32 parameters.
  y = run1(full,
           {f32({3}, {1, 2, 3}), i32({1}, {-1}), i32({1}, {-100}), i32({1}, {0}), i32({1}, {-1})});
  EXPECT_THAT(floats(y), ElementsAre(3, 2, 1));
  y = run1(full, {f32({3}, {1, 2, 3}), i64s({0}), i64s({3}), i64s({0}), i64s({INT64_MAX})});
  EXPECT_THAT(floats(y), ElementsAre(1));
}

TEST(ShapeSlice, ErrorsAndInference) {
  Tensor x = f32({4, 5}, iota_f(20));
  Node full = make_node("Slice", 5, 1);
  EXPECT_ERROR_WITH(run1(full, {x, i64s({0}), i64s({1}), i64s({0}), i64s({0})}),
                    "steps must not be 0");
  EXPECT_ERROR_WITH(run1(full, {x, i64s({0, 0}), i64s({1, 1}), i64s({1, -1}), i64s({1, 1})}),
                    "appears twice");
  EXPECT_ERROR_WITH(run1(full, {x, i64s({0}), i64s({1}), i64s({2}), i64s({1})}),
                    "axis 2 is out of range");
  EXPECT_ERROR_WITH(run1(full, {x, i64s({0}), i64s({1, 2}), i64s({0}), i64s({1})}), "ends has 2");
  Tensor st = i64s({1}), en = i64s({-1}), axes = i64s({1});
  auto t = infer_op(make_node("Slice", 4, 1),
                    {partial(DType::f32, {-1, 10}), type_of(st), type_of(en), type_of(axes)},
                    {nullptr, &st, &en, &axes});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1, 8));
  t = infer_op(make_node("Slice", 4, 1),
               {partial(DType::f32, {3, 10}), type_of(st), type_of(en), type_of(axes)},
               {nullptr, nullptr, &en, &axes});
  EXPECT_THAT(dims(t[0]), ElementsAre(3, -1));
}

// ---- Transpose ---------------------------------------------------------------------------------

TEST(ShapeTranspose, DefaultAndPerm) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = run1(make_node("Transpose", 1, 1), {x});
  EXPECT_EQ(y.shape(), Shape({3, 2}));
  EXPECT_THAT(floats(y), ElementsAre(1, 4, 2, 5, 3, 6));
  Tensor z = f32({2, 3, 4}, iota_f(24));
  y = run1(make_node("Transpose", 1, 1, {Attribute::of_ints("perm", {1, 2, 0})}), {z});
  ASSERT_EQ(y.shape(), Shape({3, 4, 2}));
  // y[i][j][k] = z[k][i][j]
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 2; ++k)
        EXPECT_EQ(y.data<float>()[(i * 4 + j) * 2 + k], z.data<float>()[(k * 3 + i) * 4 + j]);
  // bool moves by element size like anything else.
  y = run1(make_node("Transpose", 1, 1), {boolean({2, 2}, {1, 1, 0, 0})});
  EXPECT_THAT(ints(y), ElementsAre(1, 0, 1, 0));
  EXPECT_ERROR_WITH(run1(make_node("Transpose", 1, 1, {Attribute::of_ints("perm", {0, 0})}), {x}),
                    "not a permutation");
  EXPECT_ERROR_WITH(run1(make_node("Transpose", 1, 1, {Attribute::of_ints("perm", {0})}), {x}), "1 entries");
  auto t = infer_op(make_node("Transpose", 1, 1, {Attribute::of_ints("perm", {2, 0, 1})}),
                    {partial(DType::f32, {-1, 3, 4})});
  EXPECT_THAT(dims(t[0]), ElementsAre(4, -1, 3));
}

// ---- Pad ---------------------------------------------------------------------------------------

TEST(ShapePad, ConstantReflectEdgeWrap) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = run1(make_node("Pad", 3, 1), {x, i64s({0, 1, 1, 0}), Tensor::scalar_f32(9)});
  EXPECT_EQ(y.shape(), Shape({3, 4}));
  EXPECT_THAT(floats(y), ElementsAre(9, 1, 2, 3, 9, 4, 5, 6, 9, 9, 9, 9));
  y = run1(make_node("Pad", 2, 1, {Attribute::of_string("mode", "reflect")}), {x, i64s({0, 2, 0, 1})});
  EXPECT_THAT(floats(y), ElementsAre(3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5));
  y = run1(make_node("Pad", 2, 1, {Attribute::of_string("mode", "edge")}), {x, i64s({1, 0, 0, 2})});
  EXPECT_EQ(y.shape(), Shape({3, 5}));
  EXPECT_THAT(floats(y), ElementsAre(1, 2, 3, 3, 3, 1, 2, 3, 3, 3, 4, 5, 6, 6, 6));
  // Reflection past the edge repeats, as numpy.pad does.
  y = run1(make_node("Pad", 2, 1, {Attribute::of_string("mode", "reflect")}),
           {f32({3}, {1, 2, 3}), i64s({5, 0})});
  EXPECT_THAT(floats(y), ElementsAre(2, 1, 2, 3, 2, 1, 2, 3));
  // wrap (opset 19) is periodic with the input's length.
  y = run1(make_node("Pad", 2, 1, {Attribute::of_string("mode", "wrap")}), {f32({3}, {1, 2, 3}), i64s({2, 4})});
  EXPECT_THAT(floats(y), ElementsAre(2, 3, 1, 2, 3, 1, 2, 3, 1));
}

TEST(ShapePad, NegativePadsHalfAndErrors) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = run1(make_node("Pad", 2, 1), {x, i64s({0, -1, 0, -1})});
  EXPECT_EQ(y.shape(), Shape({2, 1}));
  EXPECT_THAT(floats(y), ElementsAre(2, 5));
  Tensor h = cast_tensor(x, DType::f16);
  y = run1(make_node("Pad", 3, 1),
           {h, i64s({0, 0, 0, 1}), cast_tensor(Tensor::scalar_f32(-1), DType::f16)});
  EXPECT_EQ(y.dtype(), DType::f16);
  EXPECT_THAT(floats(y), ElementsAre(1, 2, 3, -1, 4, 5, 6, -1));
  // opset 18's axes input.
  y = run1(make_node("Pad", 4, 1), {x, i64s({1, 0}), Tensor(), i64s({-1})});
  EXPECT_THAT(floats(y), ElementsAre(0, 1, 2, 3, 0, 4, 5, 6));
  EXPECT_ERROR_WITH(run1(make_node("Pad", 2, 1), {x, i64s({0, -4, 0, 0})}), "negative size");
  EXPECT_ERROR_WITH(run1(make_node("Pad", 2, 1), {x, i64s({1, 1})}), "expected 4");
  EXPECT_ERROR_WITH(run1(make_node("Pad", 3, 1), {x, i64s({0, 0, 0, 0}), Tensor::scalar_i64(1)}),
                    "constant_value is int64");
  EXPECT_ERROR_WITH(run1(make_node("Pad", 2, 1, {Attribute::of_string("mode", "edge")}),
                         {Tensor(DType::f32, {0}), i64s({1, 0})}),
                    "size 0");
  EXPECT_ERROR_WITH(
      run1(make_node("Pad", 2, 1, {Attribute::of_string("mode", "mirror")}), {x, i64s({0, 0, 0, 0})}),
      "mode 'mirror'");
  Tensor p = i64s({1, 0, 2, 0});
  auto t =
      infer_op(make_node("Pad", 2, 1), {partial(DType::f32, {3, -1}), type_of(p)}, {nullptr, &p});
  EXPECT_THAT(dims(t[0]), ElementsAre(6, -1));
}

// ---- DepthToSpace / SpaceToDepth ---------------------------------------------------------------

TEST(ShapeDepthToSpace, DcrAndCrdOrders) {
  Tensor x = f32({1, 8, 1, 1}, iota_f(8));
  Tensor y = run1(make_node("DepthToSpace", 1, 1, {Attribute::of_int("blocksize", 2)}), {x});
  EXPECT_EQ(y.shape(), Shape({1, 2, 2, 2}));
  EXPECT_THAT(floats(y), ElementsAre(0, 2, 4, 6, 1, 3, 5, 7));
  y = run1(make_node("DepthToSpace", 1, 1, {Attribute::of_int("blocksize", 2), Attribute::of_string("mode", "CRD")}), {x});
  EXPECT_THAT(floats(y), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  EXPECT_ERROR_WITH(run1(make_node("DepthToSpace", 1, 1, {Attribute::of_int("blocksize", 3)}), {x}),
                    "divisible");
  EXPECT_ERROR_WITH(run1(make_node("DepthToSpace", 1, 1, {Attribute::of_int("blocksize", 0)}), {x}),
                    "positive");
  auto t = infer_op(make_node("DepthToSpace", 1, 1, {Attribute::of_int("blocksize", 2)}),
                    {partial(DType::f32, {-1, 8, 3, 5})});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1, 2, 6, 10));
}

TEST(ShapeSpaceToDepth, HandValuesAndRoundTrip) {
  Tensor x = f32({1, 2, 2, 2}, iota_f(8));
  Tensor y = run1(make_node("SpaceToDepth", 1, 1, {Attribute::of_int("blocksize", 2)}), {x});
  EXPECT_EQ(y.shape(), Shape({1, 8, 1, 1}));
  EXPECT_THAT(floats(y), ElementsAre(0, 4, 1, 5, 2, 6, 3, 7));
  // SpaceToDepth undoes DepthToSpace in DCR mode.
  Tensor r = random_f32({2, 12, 3, 4}, 7);
  Tensor d = run1(make_node("DepthToSpace", 1, 1, {Attribute::of_int("blocksize", 2)}), {r});
  EXPECT_EQ(d.shape(), Shape({2, 3, 6, 8}));
  Tensor back = run1(make_node("SpaceToDepth", 1, 1, {Attribute::of_int("blocksize", 2)}), {d});
  EXPECT_EQ(back.shape(), r.shape());
  EXPECT_EQ(floats(back), floats(r));
  EXPECT_ERROR_WITH(run1(make_node("SpaceToDepth", 1, 1, {Attribute::of_int("blocksize", 3)}), {x}),
                    "divisible");
}

}  // namespace
}  // namespace nnaccel::testing
