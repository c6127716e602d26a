// Pools: hand-computed windows, Indices in both storage orders, padding and ceil_mode rules,
// global forms, MaxRoiPool, MaxUnpool, shapes and errors.
#include "ops/nn_test_util.hpp"

namespace nnaccel::testing {
namespace {

Tensor iota_f32(const Shape& s, float start = 1) {
  Tensor t(DType::f32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

TEST(NnPool, MaxPoolValuesAndIndicesInBothStorageOrders) {
  Tensor x = iota_f32({1, 1, 5, 5});
  std::vector<Attribute> a = {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("strides", {2, 2})};
  std::vector<Tensor> r = run_op(make_node("MaxPool", 1, 2, a), {x});
  expect_values(r[0], {1, 1, 2, 2}, {7, 9, 17, 19});
  ASSERT_EQ(r[1].dtype(), DType::i64);
  EXPECT_EQ(r[1].to_i64_vector(), (std::vector<int64_t>{6, 8, 16, 18}));
  a.push_back(Attribute::of_int("storage_order", 1));
  r = run_op(make_node("MaxPool", 1, 2, a), {x});
  EXPECT_EQ(r[1].to_i64_vector(), (std::vector<int64_t>{6, 16, 8, 18}));
}

TEST(NnPool, MaxPoolIndicesCountWholePlanesBefore) {
  // Plane (n=1, c=1) of [2, 2, 3, 3]: its indices start at 3 planes * 9.
  Tensor x = random_f32({2, 2, 3, 3}, 1);
  std::vector<Tensor> r =
      run_op(make_node("MaxPool", 1, 2, {Attribute::of_ints("kernel_shape", {3, 3})}), {x});
  const int64_t idx = r[1].data<int64_t>()[3];
  EXPECT_GE(idx, 27);
  EXPECT_LT(idx, 36);
  EXPECT_EQ(x.data<float>()[idx], r[0].data<float>()[3]);
}

TEST(NnPool, MaxPoolDilationsAndUint8) {
  Tensor x = iota_f32({1, 1, 4, 4});
  Tensor y = run_op(make_node("MaxPool", 1, 1,
                              {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("dilations", {2, 2})}),
                    {x})[0];
  expect_values(y, {1, 1, 2, 2}, {11, 12, 15, 16});
  Tensor u = cast_tensor(iota_f32({1, 1, 3, 3}, 200), DType::u8);  // 200..208
  Tensor yu =
      run_op(make_node("MaxPool", 1, 1,
                       {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("pads", {1, 1, 1, 1})}),
             {u})[0];
  ASSERT_EQ(yu.dtype(), DType::u8);
  EXPECT_EQ(yu.to_i64_vector(),
            (std::vector<int64_t>{204, 205, 205, 207, 208, 208, 207, 208, 208}));
}

TEST(NnPool, MaxPoolOneDMatchesADirectLoop) {
  Tensor x = random_f32({2, 3, 23}, 2);
  Node n = make_node("MaxPool", 1, 1,
                     {Attribute::of_ints("kernel_shape", {3}), Attribute::of_ints("strides", {2}),
                      Attribute::of_ints("dilations", {3}), Attribute::of_ints("pads", {2, 1})});
  Tensor y = run_op(n, {x})[0];
  const int64_t out = (23 + 3 - 7) / 2 + 1;
  ASSERT_EQ(y.shape(), (Shape{2, 3, out}));
  for (int64_t p = 0; p < 6; ++p)
    for (int64_t o = 0; o < out; ++o) {
      float best = -1e30f;
      for (int64_t k = 0; k < 3; ++k) {
        const int64_t i = o * 2 - 2 + k * 3;
        if (i >= 0 && i < 23) best = std::max(best, x.data<float>()[p * 23 + i]);
      }
      EXPECT_EQ(y.data<float>()[p * out + o], best);
    }
}

TEST(NnPool, AveragePoolCountIncludePad) {
  Tensor x(DType::f32, {1, 1, 3, 3});
  for (int i = 0; i < 9; ++i) x.data<float>()[i] = 9;
  std::vector<Attribute> a = {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("pads", {1, 1, 1, 1})};
  expect_values(run_op(make_node("AveragePool", 1, 1, a), {x})[0], {1, 1, 3, 3},
                {9, 9, 9, 9, 9, 9, 9, 9, 9});
  a.push_back(Attribute::of_int("count_include_pad", 1));
  expect_values(run_op(make_node("AveragePool", 1, 1, a), {x})[0], {1, 1, 3, 3},
                {4, 6, 4, 6, 9, 6, 4, 6, 4});
}

TEST(NnPool, CeilModeClipsTheLastWindowAndDropsOnesStartingInPadding) {
  Tensor x = iota_f32({1, 1, 4, 4});
  Node n = make_node(
      "AveragePool", 1, 1,
      {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("strides", {2, 2}), Attribute::of_int("ceil_mode", 1)});
  expect_values(run_op(n, {x})[0], {1, 1, 2, 2}, {6, 7.5, 12, 13.5});
  // Width 4, kernel 2, stride 2, end pad 1: a third window would start in the padding.
  Node d = make_node("MaxPool", 1, 1,
                     {Attribute::of_ints("kernel_shape", {2}), Attribute::of_ints("strides", {2}),
                      Attribute::of_ints("pads", {0, 1}), Attribute::of_int("ceil_mode", 1)});
  EXPECT_EQ(dims_of(infer_op(d, {ti(DType::f32, {1, 1, 4})})[0]), (std::vector<int64_t>{1, 1, 2}));
  EXPECT_EQ(dims_of(infer_op(d, {ti(DType::f32, {1, 1, 5})})[0]), (std::vector<int64_t>{1, 1, 3}));
}

TEST(NnPool, AutoPadSame) {
  Tensor x = iota_f32({1, 1, 3, 3});
  Tensor up =
      run_op(make_node("MaxPool", 1, 1,
                       {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_string("auto_pad", "SAME_UPPER")}),
             {x})[0];
  expect_values(up, {1, 1, 3, 3}, {5, 6, 6, 8, 9, 9, 8, 9, 9});
  Tensor lo =
      run_op(make_node("MaxPool", 1, 1,
                       {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_string("auto_pad", "SAME_LOWER")}),
             {x})[0];
  expect_values(lo, {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST(NnPool, ThreeDAveragePoolIsTwoDPerSlice) {
  Tensor x = random_f32({1, 2, 3, 5, 6}, 3);
  Tensor y =
      run_op(make_node("AveragePool", 1, 1,
                       {Attribute::of_ints("kernel_shape", {1, 2, 3}), Attribute::of_ints("strides", {1, 2, 1})}),
             {x})[0];
  ASSERT_EQ(y.shape(), (Shape{1, 2, 3, 2, 4}));
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t d = 0; d < 3; ++d) {
      Tensor s(DType::f32, {1, 1, 5, 6});
      std::copy_n(x.data<float>() + (c * 3 + d) * 30, 30, s.data<float>());
      Tensor ys =
          run_op(make_node("AveragePool", 1, 1,
                           {Attribute::of_ints("kernel_shape", {2, 3}), Attribute::of_ints("strides", {2, 1})}),
                 {s})[0];
      for (int64_t i = 0; i < 8; ++i)
        EXPECT_NEAR(y.data<float>()[(c * 3 + d) * 8 + i], ys.data<float>()[i], 1e-6);
    }
}

TEST(NnPool, LpPoolAndGlobalPools) {
  Tensor x = Tensor::from_f32({1, 1, 1, 2}, {3, -4});
  expect_values(run_op(make_node("LpPool", 1, 1, {Attribute::of_ints("kernel_shape", {1, 2})}), {x})[0],
                {1, 1, 1, 1}, {5});
  expect_values(
      run_op(make_node("LpPool", 1, 1, {Attribute::of_ints("kernel_shape", {1, 2}), Attribute::of_int("p", 1)}),
             {x})[0],
      {1, 1, 1, 1}, {7});
  expect_values(run_op(make_node("GlobalLpPool", 1, 1), {x})[0], {1, 1, 1, 1}, {5});
  expect_values(run_op(make_node("GlobalMaxPool", 1, 1), {x})[0], {1, 1, 1, 1}, {3});
  Tensor r = random_f32({2, 3, 4, 5}, 4);
  expect_close(run_op(make_node("GlobalAveragePool", 1, 1), {r})[0],
               run_op(make_node("AveragePool", 1, 1, {Attribute::of_ints("kernel_shape", {4, 5})}), {r})[0],
               1e-6);
  TypeInfo t = infer_op(make_node("GlobalMaxPool", 1, 1), {ti(DType::f32, {-1, 3, 7, 7})})[0];
  EXPECT_EQ(dims_of(t), (std::vector<int64_t>{-1, 3, 1, 1}));
}

TEST(NnPool, MaxUnpoolInvertsMaxPool) {
  Tensor x = random_f32({2, 3, 6, 4}, 5, 0.1f, 1.0f);  // positive: the zeros never win
  std::vector<Attribute> a = {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("strides", {2, 2})};
  std::vector<Tensor> pooled = run_op(make_node("MaxPool", 1, 2, a), {x});
  Tensor un = run_op(make_node("MaxUnpool", 2, 1, a), {pooled[0], pooled[1]})[0];
  ASSERT_EQ(un.shape(), x.shape());
  int64_t nonzero = 0;
  for (int64_t i = 0; i < un.numel(); ++i) {
    if (un.data<float>()[i] == 0) continue;
    ++nonzero;
    EXPECT_EQ(un.data<float>()[i], x.data<float>()[i]);
  }
  EXPECT_EQ(nonzero, pooled[0].numel());
  expect_close(run_op(make_node("MaxPool", 1, 1, a), {un})[0], pooled[0], 0);
}

TEST(NnPool, MaxUnpoolOutputShapePadsTheInferredResult) {
  std::vector<Attribute> a = {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("strides", {2, 2})};
  Tensor x = Tensor::from_f32({1, 1, 2, 2}, {5, 6, 7, 8});
  Tensor i = Tensor::from_i64({1, 1, 2, 2}, {5, 7, 13, 15});
  Tensor shape = Tensor::from_i64({4}, {1, 1, 5, 5});
  Node n = make_node("MaxUnpool", 3, 1, a);
  expect_values(run_op(n, {x, i, shape})[0], {1, 1, 5, 5},
                {0, 0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0, 0, 0, 7, 0, 8, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(
      dims_of(infer_op(
          n, {ti(DType::f32, {1, 1, 2, 2}), ti(DType::i64, {1, 1, 2, 2}), ti(DType::i64, {4})},
          {nullptr, nullptr, &shape})[0]),
      (std::vector<int64_t>{1, 1, 5, 5}));
  EXPECT_THROW(run_op(n, {x, i, Tensor::from_i64({4}, {1, 1, 3, 3})}), Error);
  EXPECT_THROW(
      run_op(make_node("MaxUnpool", 2, 1, a), {x, Tensor::from_i64({1, 1, 2, 2}, {5, 7, 13, 16})}),
      Error);
}

TEST(NnPool, MaxRoiPool) {
  Tensor x = iota_f32({1, 2, 4, 4});
  Tensor rois = Tensor::from_f32({2, 5}, {0, 0, 0, 3, 3, 0, 1, 1, 2, 2});
  Node n = make_node("MaxRoiPool", 2, 1, {Attribute::of_ints("pooled_shape", {2, 2})});
  Tensor y = run_op(n, {x, rois})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 2, 2, 2}));
  // Whole image in 2x2 bins, then the 2x2 centre with one pixel per bin.
  EXPECT_EQ(y.to_f32_vector(), (std::vector<float>{6, 8, 14, 16, 22, 24, 30, 32,  //
                                                   6, 7, 10, 11, 22, 23, 26, 27}));
  EXPECT_EQ(dims_of(infer_op(n, {ti(DType::f32, {1, 2, 4, 4}), ti(DType::f32, {-1, 5})})[0]),
            (std::vector<int64_t>{-1, 2, 2, 2}));
  EXPECT_THROW(run_op(n, {x, Tensor::from_f32({1, 5}, {1, 0, 0, 1, 1})}), Error);  // batch 1 of 1
  EXPECT_THROW(run_op(n, {x, Tensor::from_f32({1, 5}, {0, NAN, 0, 1, 1})}), Error);
  // A region far outside the image has only empty bins.
  Tensor far = run_op(n, {x, Tensor::from_f32({1, 5}, {0, 1e30f, 1e30f, 2e30f, 2e30f})})[0];
  EXPECT_EQ(far.to_f32_vector(), std::vector<float>(8, 0));
}

TEST(NnPool, HugeAttributeValuesCostNothingOrFailCleanly) {
  // A kernel far larger than the input: only positions inside the input are visited.
  const int64_t big = int64_t{1} << 40;
  Tensor x = Tensor::from_f32({1, 1, 3}, {1, 5, 2});
  Tensor y = run_op(make_node("MaxPool", 1, 1,
                              {Attribute::of_ints("kernel_shape", {big}),
                               Attribute::of_ints("pads", {big - 1, big - 1}), Attribute::of_ints("strides", {big})}),
                    {x})[0];
  // Window 0 covers input position 0 only, window 1 positions 1 and 2.
  EXPECT_EQ(y.to_f32_vector(), (std::vector<float>{1, 5}));
  // Extents that overflow 64 bits are errors, not wrap-around.
  EXPECT_THROW(run_op(make_node("MaxPool", 1, 1,
                                {Attribute::of_ints("kernel_shape", {int64_t{1} << 62}),
                                 Attribute::of_ints("dilations", {8})}),
                      {x}),
               Error);
  EXPECT_THROW(
      run_op(make_node("AveragePool", 1, 1,
                       {Attribute::of_ints("kernel_shape", {2}), Attribute::of_ints("pads", {INT64_MAX, INT64_MAX})}),
             {x}),
      Error);
}

TEST(NnPool, Errors) {
  Tensor x = random_f32({1, 1, 4, 4}, 6);
  EXPECT_THROW(run_op(make_node("MaxPool", 1, 1), {x}), Error);  // no kernel_shape
  EXPECT_THROW(run_op(make_node("MaxPool", 1, 1, {Attribute::of_ints("kernel_shape", {5, 5})}), {x}), Error);
  EXPECT_THROW(run_op(make_node("MaxPool", 1, 1, {Attribute::of_ints("kernel_shape", {2})}), {x}), Error);
  EXPECT_THROW(run_op(make_node("MaxPool", 1, 2,
                                {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_int("storage_order", 2)}),
                      {x}),
               Error);
  EXPECT_THROW(run_op(make_node("AveragePool", 1, 1, {Attribute::of_ints("kernel_shape", {2})}),
                      {random_f32({4, 4}, 7)}),
               Error);
  EXPECT_THROW(
      run_op(make_node("AveragePool", 1, 1,
                       {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("pads", {1, 1, -1, 0})}),
             {x}),
      Error);
  EXPECT_THROW(run_op(make_node("AveragePool", 1, 1,
                                {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_string("auto_pad", "SAME")}),
                      {x}),
               Error);
}

}  // namespace
}  // namespace nnaccel::testing
