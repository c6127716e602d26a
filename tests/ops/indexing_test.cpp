// Indexing family: Gather, GatherElements, GatherND, Compress, NonZero, OneHot, ReverseSequence,
// ScatterElements, ScatterND, Unique. Expected values are computed by hand.
#include <cmath>
#include <limits>

#include "core/cast.hpp"
#include "shape_test_util.hpp"

namespace nnaccel::testing {
namespace {

using ::testing::ElementsAre;

// ---- Gather ------------------------------------------------------------------------------------

TEST(IndexingGather, NegativeIndicesAndAxes) {
  Tensor x = f32({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor y = run1(make_node("Gather", 2, 1), {x, i64({2, 2}, {0, -1, 1, 0})});
  EXPECT_EQ(y.shape(), Shape({2, 2, 2}));
  EXPECT_THAT(floats(y), ElementsAre(1, 2, 5, 6, 3, 4, 1, 2));
  y = run1(make_node("Gather", 2, 1, {Attribute::of_int("axis", -1)}), {x, i32({1}, {-1})});
  EXPECT_EQ(y.shape(), Shape({3, 1}));
  EXPECT_THAT(floats(y), ElementsAre(2, 4, 6));
  y = run1(make_node("Gather", 2, 1), {x, Tensor::scalar_i64(1)});
  EXPECT_EQ(y.shape(), Shape({2}));
  EXPECT_THAT(floats(y), ElementsAre(3, 4));
  y = run1(make_node("Gather", 2, 1), {cast_tensor(x, DType::f16), i64s({2})});
  EXPECT_EQ(y.dtype(), DType::f16);
  EXPECT_THAT(floats(y), ElementsAre(5, 6));
}

TEST(IndexingGather, OutOfRangeIndicesAreErrors) {
  Tensor x = f32({3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_ERROR_WITH(run1(make_node("Gather", 2, 1), {x, i64s({0, 3})}), "index 3");
  EXPECT_ERROR_WITH(run1(make_node("Gather", 2, 1), {x, i64s({-4})}), "index -4");
  EXPECT_ERROR_WITH(run1(make_node("Gather", 2, 1, {Attribute::of_int("axis", 2)}), {x, i64s({0})}), "axis 2");
  EXPECT_ERROR_WITH(run1(make_node("Gather", 2, 1), {x, f32({1}, {0})}), "int32 or int64");
  auto t = infer_op(make_node("Gather", 2, 1, {Attribute::of_int("axis", 1)}),
                    {partial(DType::f32, {-1, 5, 7}), partial(DType::i64, {2, 3})});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1, 2, 3, 7));
}

TEST(IndexingGatherElements, BothAxes) {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  Tensor y =
      run1(make_node("GatherElements", 2, 1, {Attribute::of_int("axis", 1)}), {x, i64({2, 2}, {0, 0, 1, 0})});
  EXPECT_THAT(floats(y), ElementsAre(1, 1, 4, 3));
  y = run1(make_node("GatherElements", 2, 1), {x, i32({1, 2}, {1, -2})});
  EXPECT_EQ(y.shape(), Shape({1, 2}));
  EXPECT_THAT(floats(y), ElementsAre(3, 2));
  Tensor z = f32({2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  y = run1(make_node("GatherElements", 2, 1, {Attribute::of_int("axis", -2)}),
           {z, i64({2, 1, 2}, {2, 0, 1, 2})});
  // y[i][0][k] = z[i][idx][k]
  EXPECT_THAT(floats(y), ElementsAre(4, 1, 8, 11));
  EXPECT_ERROR_WITH(run1(make_node("GatherElements", 2, 1), {x, i64({1, 2}, {2, 0})}), "index 2");
  EXPECT_ERROR_WITH(run1(make_node("GatherElements", 2, 1), {x, i64({2}, {0, 0})}), "rank");
  EXPECT_ERROR_WITH(run1(make_node("GatherElements", 2, 1), {x, i64({1, 3}, {0, 0, 0})}),
                    "exceeds");
}

TEST(IndexingGatherND, TuplesSlicesAndBatchDims) {
  Tensor x = f32({2, 2}, {0, 1, 2, 3});
  EXPECT_THAT(floats(run1(make_node("GatherND", 2, 1), {x, i64({2, 2}, {0, 0, 1, 1})})),
              ElementsAre(0, 3));
  Tensor y = run1(make_node("GatherND", 2, 1), {x, i64({2, 1}, {1, 0})});
  EXPECT_EQ(y.shape(), Shape({2, 2}));
  EXPECT_THAT(floats(y), ElementsAre(2, 3, 0, 1));
  EXPECT_THAT(floats(run1(make_node("GatherND", 2, 1), {x, i64({1, 2}, {-1, -1})})),
              ElementsAre(3));
  Tensor z = f32({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  y = run1(make_node("GatherND", 2, 1, {Attribute::of_int("batch_dims", 1)}), {z, i64({2, 1}, {1, 0})});
  EXPECT_EQ(y.shape(), Shape({2, 2}));
  EXPECT_THAT(floats(y), ElementsAre(2, 3, 4, 5));
  EXPECT_ERROR_WITH(run1(make_node("GatherND", 2, 1), {x, i64({1, 2}, {2, 0})}), "index 2");
  EXPECT_ERROR_WITH(run1(make_node("GatherND", 2, 1), {x, i64({1, 3}, {0, 0, 0})}), "exceeds");
  EXPECT_ERROR_WITH(
      run1(make_node("GatherND", 2, 1, {Attribute::of_int("batch_dims", 1)}), {z, i64({3, 1}, {0, 0, 0})}),
      "batch dimension 0 differs");
  auto t = infer_op(make_node("GatherND", 2, 1, {Attribute::of_int("batch_dims", 1)}),
                    {partial(DType::f32, {-1, 4, 5, 6}), partial(DType::i64, {-1, 3, 2})});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1, 3, 6));
}

// ---- Compress / NonZero ------------------------------------------------------------------------

TEST(IndexingCompress, AxisNegativeAxisAndFlattened) {
  Tensor x = f32({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor y = run1(make_node("Compress", 2, 1, {Attribute::of_int("axis", 0)}), {x, boolean({3}, {0, 1, 1})});
  EXPECT_EQ(y.shape(), Shape({2, 2}));
  EXPECT_THAT(floats(y), ElementsAre(3, 4, 5, 6));
  y = run1(make_node("Compress", 2, 1, {Attribute::of_int("axis", -1)}), {x, boolean({2}, {1, 0})});
  EXPECT_THAT(floats(y), ElementsAre(1, 3, 5));
  // Without an axis the input is flattened; a shorter condition drops the rest.
  y = run1(make_node("Compress", 2, 1), {x, boolean({5}, {0, 1, 0, 0, 1})});
  EXPECT_EQ(y.shape(), Shape({2}));
  EXPECT_THAT(floats(y), ElementsAre(2, 5));
  EXPECT_ERROR_WITH(
      run1(make_node("Compress", 2, 1, {Attribute::of_int("axis", 1)}), {x, boolean({3}, {0, 0, 1})}),
      "selects index 2");
  EXPECT_ERROR_WITH(run1(make_node("Compress", 2, 1), {x, i64s({1})}), "bool");
  auto t = infer_op(make_node("Compress", 2, 1, {Attribute::of_int("axis", 1)}),
                    {partial(DType::f32, {3, 4}), partial(DType::boolean, {4})});
  EXPECT_THAT(dims(t[0]), ElementsAre(3, -1));
}

TEST(IndexingNonZero, CoordinatesInRowMajorOrder) {
  Tensor y = run1(make_node("NonZero", 1, 1), {i32({2, 2}, {1, 0, 7, -1})});
  EXPECT_EQ(y.dtype(), DType::i64);
  EXPECT_EQ(y.shape(), Shape({2, 3}));
  EXPECT_THAT(ints(y), ElementsAre(0, 1, 1, 0, 0, 1));
  // -0.0 is zero, NaN is not; f16 goes by bits.
  Tensor f = f32({4}, {-0.0f, std::numeric_limits<float>::quiet_NaN(), 2, 0});
  EXPECT_THAT(ints(run1(make_node("NonZero", 1, 1), {f})), ElementsAre(1, 2));
  EXPECT_THAT(ints(run1(make_node("NonZero", 1, 1), {cast_tensor(f, DType::f16)})),
              ElementsAre(1, 2));
  EXPECT_EQ(run1(make_node("NonZero", 1, 1), {boolean({3}, {0, 0, 0})}).shape(), Shape({1, 0}));
}

// ---- OneHot ------------------------------------------------------------------------------------

TEST(IndexingOneHot, AxesNegativeAndOutOfRangeIndices) {
  Tensor values = f32({2}, {0, 1});
  Tensor y = run1(make_node("OneHot", 3, 1), {i64s({0, -1, 3, 5}), Tensor::scalar_i64(4), values});
  EXPECT_EQ(y.shape(), Shape({4, 4}));
  // -1 means depth-1; 5 is outside [-4, 4) and gives an all-off row.
  EXPECT_THAT(floats(y), ElementsAre(1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0));
  y = run1(make_node("OneHot", 3, 1, {Attribute::of_int("axis", 0)}),
           {f32({2}, {1.7f, 2}), f32({}, {3}), i64s({-1, 7})});
  EXPECT_EQ(y.dtype(), DType::i64);
  EXPECT_EQ(y.shape(), Shape({3, 2}));
  EXPECT_THAT(ints(y), ElementsAre(-1, -1, 7, -1, -1, 7));
  y = run1(make_node("OneHot", 3, 1, {Attribute::of_int("axis", -2)}),
           {i64({1, 2}, {0, 1}), Tensor::scalar_i64(2), values});
  EXPECT_EQ(y.shape(), Shape({1, 2, 2}));
  EXPECT_THAT(floats(y), ElementsAre(1, 0, 0, 1));
  EXPECT_ERROR_WITH(run1(make_node("OneHot", 3, 1), {i64s({0}), Tensor::scalar_i64(0), values}),
                    "depth");
  EXPECT_ERROR_WITH(run1(make_node("OneHot", 3, 1, {Attribute::of_int("axis", 2)}),
                         {i64s({0}), Tensor::scalar_i64(2), values}),
                    "axis 2");
  EXPECT_ERROR_WITH(
      run1(make_node("OneHot", 3, 1), {i64s({0}), Tensor::scalar_i64(2), f32({3}, {0, 1, 2})}),
      "off_value");
  Tensor d = Tensor::scalar_i64(10);
  auto t = infer_op(make_node("OneHot", 3, 1, {Attribute::of_int("axis", 1)}),
                    {partial(DType::i64, {-1, 3}), type_of(d), type_of(values)}, {nullptr, &d});
  EXPECT_THAT(dims(t[0]), ElementsAre(-1, 10, 3));
}

// ---- ReverseSequence ---------------------------------------------------------------------------

TEST(IndexingReverseSequence, TimeMajorAndBatchMajor) {
  Tensor x = f32({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  Tensor y = run1(make_node("ReverseSequence", 2, 1), {x, i64s({4, 2})});
  EXPECT_THAT(floats(y), ElementsAre(6, 3, 4, 1, 2, 5, 0, 7));
  Tensor b = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  y = run1(make_node("ReverseSequence", 2, 1, {Attribute::of_int("batch_axis", 0), Attribute::of_int("time_axis", 1)}),
           {b, i64s({2, 3})});
  EXPECT_THAT(floats(y), ElementsAre(2, 1, 3, 6, 5, 4));
  EXPECT_ERROR_WITH(
      run1(make_node("ReverseSequence", 2, 1, {Attribute::of_int("batch_axis", 0), Attribute::of_int("time_axis", 1)}),
           {b, i64s({2, 4})}),
      "sequence_lens[1] = 4");
  EXPECT_ERROR_WITH(run1(make_node("ReverseSequence", 2, 1), {x, i64s({1})}), "expected [2]");
  EXPECT_ERROR_WITH(
      run1(make_node("ReverseSequence", 2, 1, {Attribute::of_int("batch_axis", 0)}), {x, i64s({1, 1})}),
      "batch_axis 0 and time_axis 0");
}

// ---- ScatterElements / ScatterND ---------------------------------------------------------------

TEST(IndexingScatterElements, AssignAndReductions) {
  Tensor data(DType::f32, {3, 3});
  Tensor idx = i64({2, 3}, {1, 0, 2, 0, 2, 1});
  Tensor upd = f32({2, 3}, {1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f});
  Tensor y = run1(make_node("ScatterElements", 3, 1), {data, idx, upd});
  EXPECT_THAT(floats(y), ElementsAre(2.0f, 1.1f, 0, 1.0f, 0, 2.2f, 0, 2.1f, 1.2f));
  EXPECT_THAT(floats(data), ElementsAre(0, 0, 0, 0, 0, 0, 0, 0, 0));  // input untouched
  Tensor row = f32({1, 5}, {1, 2, 3, 4, 5});
  y = run1(make_node("ScatterElements", 3, 1, {Attribute::of_int("axis", 1)}),
           {row, i32({1, 2}, {1, -2}), f32({1, 2}, {1.1f, 2.1f})});
  EXPECT_THAT(floats(y), ElementsAre(1, 1.1f, 3, 2.1f, 5));
  y = run1(make_node("ScatterElements", 3, 1, {Attribute::of_int("axis", 1), Attribute::of_string("reduction", "add")}),
           {row, i64({1, 2}, {1, 1}), f32({1, 2}, {1.1f, 2.1f})});
  EXPECT_THAT(floats(y), ElementsAre(1, 5.2f, 3, 4, 5));
  y = run1(make_node("ScatterElements", 3, 1, {Attribute::of_int("axis", 1), Attribute::of_string("reduction", "mul")}),
           {row, i64({1, 2}, {1, 1}), f32({1, 2}, {1.1f, 2.1f})});
  EXPECT_FLOAT_EQ(floats(y)[1], 2 * 1.1f * 2.1f);
  // f16 reductions compute in float; integer sums wrap instead of overflowing.
  y = run1(make_node("ScatterElements", 3, 1, {Attribute::of_string("reduction", "add")}),
           {cast_tensor(f32({2}, {1, 2}), DType::f16), i64s({0, 0}),
            cast_tensor(f32({2}, {0.5f, 0.25f}), DType::f16)});
  EXPECT_EQ(y.dtype(), DType::f16);
  EXPECT_THAT(floats(y), ElementsAre(1.75f, 2));
  y = run1(make_node("ScatterElements", 3, 1, {Attribute::of_string("reduction", "add")}),
           {i32({1}, {INT32_MAX}), i64s({0}), i32({1}, {1})});
  EXPECT_THAT(ints(y), ElementsAre(INT32_MIN));
}

TEST(IndexingScatterElements, Errors) {
  Tensor row = f32({1, 5}, {1, 2, 3, 4, 5});
  Node n = make_node("ScatterElements", 3, 1, {Attribute::of_int("axis", 1)});
  EXPECT_ERROR_WITH(run1(n, {row, i64({1, 1}, {5}), f32({1, 1}, {0})}), "index 5");
  EXPECT_ERROR_WITH(run1(n, {row, i64({1, 1}, {-6}), f32({1, 1}, {0})}), "index -6");
  EXPECT_ERROR_WITH(run1(n, {row, i64({1, 2}, {0, 0}), f32({1, 1}, {0})}), "updates shape");
  EXPECT_ERROR_WITH(run1(n, {row, i64({1, 1}, {0}), i64({1, 1}, {0})}), "updates is int64");
  EXPECT_ERROR_WITH(run1(make_node("ScatterElements", 3, 1, {Attribute::of_string("reduction", "avg")}),
                         {row, i64({1, 1}, {0}), f32({1, 1}, {0})}),
                    "reduction 'avg'");
}

TEST(IndexingScatterND, ElementsSlicesAndReductions) {
  Tensor data = f32({8}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor y = run1(make_node("ScatterND", 3, 1),
                  {data, i64({4, 1}, {4, 3, 1, 7}), f32({4}, {9, 10, 11, 12})});
  EXPECT_THAT(floats(y), ElementsAre(1, 11, 3, 10, 9, 6, 7, 12));
  y = run1(make_node("ScatterND", 3, 1),
           {Tensor(DType::f32, {2, 2}), i64({1, 1}, {-1}), f32({1, 2}, {7, 8})});
  EXPECT_THAT(floats(y), ElementsAre(0, 0, 7, 8));
  y = run1(make_node("ScatterND", 3, 1, {Attribute::of_string("reduction", "add")}),
           {f32({2}, {1, 2}), i64({2, 1}, {0, 0}), f32({2}, {5, 6})});
  EXPECT_THAT(floats(y), ElementsAre(12, 2));
  y = run1(make_node("ScatterND", 3, 1, {Attribute::of_string("reduction", "mul")}),
           {f32({2}, {1, 2}), i64({2, 1}, {1, 1}), f32({2}, {5, 6})});
  EXPECT_THAT(floats(y), ElementsAre(1, 60));
  EXPECT_ERROR_WITH(run1(make_node("ScatterND", 3, 1), {data, i64({1, 1}, {8}), f32({1}, {0})}),
                    "index 8");
  EXPECT_ERROR_WITH(run1(make_node("ScatterND", 3, 1), {data, i64({1, 2}, {0, 0}), f32({1}, {0})}),
                    "exceeds");
  EXPECT_ERROR_WITH(run1(make_node("ScatterND", 3, 1), {data, i64({1, 1}, {0}), f32({2}, {0, 0})}),
                    "expected [1]");
}

// ---- Unique ------------------------------------------------------------------------------------

TEST(IndexingUnique, SortedAndFirstOccurrenceOrder) {
  Tensor x = f32({6}, {2, 1, 1, 3, 4, 3});
  auto o = run_op(make_node("Unique", 1, 4), {x});
  EXPECT_THAT(floats(o[0]), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(ints(o[1]), ElementsAre(1, 0, 3, 4));
  EXPECT_THAT(ints(o[2]), ElementsAre(1, 0, 0, 2, 3, 2));
  EXPECT_THAT(ints(o[3]), ElementsAre(2, 1, 2, 1));
  o = run_op(make_node("Unique", 1, 4, {Attribute::of_int("sorted", 0)}), {x});
  EXPECT_THAT(floats(o[0]), ElementsAre(2, 1, 3, 4));
  EXPECT_THAT(ints(o[1]), ElementsAre(0, 1, 3, 4));
  EXPECT_THAT(ints(o[2]), ElementsAre(0, 1, 1, 2, 3, 2));
  EXPECT_THAT(ints(o[3]), ElementsAre(1, 2, 2, 1));
  // f16 values compare as numbers; a 2-D input without axis is flattened.
  o = run_op(make_node("Unique", 1, 1), {cast_tensor(f32({2, 2}, {-1, 2, -1, -3}), DType::f16)});
  EXPECT_EQ(o[0].dtype(), DType::f16);
  EXPECT_THAT(floats(o[0]), ElementsAre(-3, -1, 2));
}

TEST(IndexingUnique, SlicesAlongAxis) {
  Tensor x = f32({3, 3}, {1, 0, 0, 1, 0, 0, 2, 3, 4});
  auto o = run_op(make_node("Unique", 1, 4, {Attribute::of_int("axis", 0)}), {x});
  EXPECT_EQ(o[0].shape(), Shape({2, 3}));
  EXPECT_THAT(floats(o[0]), ElementsAre(1, 0, 0, 2, 3, 4));
  EXPECT_THAT(ints(o[1]), ElementsAre(0, 2));
  EXPECT_THAT(ints(o[2]), ElementsAre(0, 0, 1));
  EXPECT_THAT(ints(o[3]), ElementsAre(2, 1));
  Tensor c = i32({2, 3}, {2, 1, 2, 3, 0, 3});
  o = run_op(make_node("Unique", 1, 4, {Attribute::of_int("axis", -1)}), {c});
  EXPECT_EQ(o[0].shape(), Shape({2, 2}));
  EXPECT_THAT(ints(o[0]), ElementsAre(1, 2, 0, 3));
  EXPECT_THAT(ints(o[1]), ElementsAre(1, 0));
  EXPECT_THAT(ints(o[2]), ElementsAre(1, 0, 1));
  EXPECT_THAT(ints(o[3]), ElementsAre(1, 2));
  EXPECT_ERROR_WITH(run_op(make_node("Unique", 1, 1, {Attribute::of_int("axis", 2)}), {c}), "axis 2");
  auto t = infer_op(make_node("Unique", 1, 4, {Attribute::of_int("axis", 1)}), {partial(DType::f32, {4, 5})});
  EXPECT_THAT(dims(t[0]), ElementsAre(4, -1));
  EXPECT_THAT(dims(t[2]), ElementsAre(5));
}

}  // namespace
}  // namespace nnaccel::testing
