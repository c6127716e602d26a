// NonMaxSuppression, RoiAlign and GridSample on small hand-computed cases.
#include <cmath>

#include "ops/op_test_util.hpp"

namespace nnaccel {
namespace {

using testing::make_node;
using testing::random_f32;
using testing::run_op;

TEST(NonMaxSuppression, SuppressesOverlapsPerClassWithThresholds) {
  // Corner format [y1, x1, y2, x2]. Box 1 overlaps box 0 with IoU 0.81 / 1.19 = 0.68; box 2
  // overlaps box 0 with IoU 0.25 / 1.75 = 0.14; box 3 is far away with its corners flipped.
  Tensor boxes = Tensor::from_f32({1, 4, 4}, {0, 0, 1, 1,              //
                                              0.1f, 0.1f, 1.1f, 1.1f,  //
                                              0.5f, 0.5f, 1.5f, 1.5f,  //
                                              6, 6, 5, 5});
  Tensor scores = Tensor::from_f32({1, 2, 4}, {0.9f, 0.95f, 0.5f, 0.3f,    // class 0
                                               0.1f, 0.2f, 0.35f, 0.6f});  // class 1
  Node n = make_node("NonMaxSuppression", 5, 1);
  auto out = run_op(n, {boxes, scores, Tensor::scalar_i64(3), Tensor::scalar_f32(0.5f),
                        Tensor::scalar_f32(0.25f)});
  ASSERT_EQ(out[0].dtype(), DType::i64);
  // Class 0: 1 (0.95) kept, 0 suppressed by 1, 2 kept (IoU with 1 is 0.36 / 1.64 = 0.22), 3 kept
  // (0.3 > 0.25). Class 1: only 3 (0.6) and 2 (0.35) pass the score threshold; they do not overlap.
  EXPECT_EQ(out[0].shape(), (Shape{5, 3}));
  EXPECT_EQ(out[0].to_i64_vector(),
            (std::vector<int64_t>{0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 1, 3, 0, 1, 2}));

  // At most two per class, no score threshold, IoU threshold 0.1: box 2 is now suppressed too.
  auto two = run_op(n, {boxes, scores, Tensor::scalar_i64(2), Tensor::scalar_f32(0.1f)});
  EXPECT_EQ(two[0].to_i64_vector(), (std::vector<int64_t>{0, 0, 1, 0, 0, 3, 0, 1, 3, 0, 1, 2}));

  // No max_output_boxes_per_class: nothing is selected.
  auto none = run_op(make_node("NonMaxSuppression", 2, 1), {boxes, scores});
  EXPECT_EQ(none[0].shape(), (Shape{0, 3}));
}

TEST(NonMaxSuppression, CenterFormatMatchesCornerFormatAndTiesKeepLowerIndex) {
  Tensor corners = Tensor::from_f32({1, 3, 4}, {0, 0, 2, 2, 0, 0, 2, 2, 1, 1, 3, 3});
  // The same boxes as [x_center, y_center, width, height].
  Tensor centers = Tensor::from_f32({1, 3, 4}, {1, 1, 2, 2, 1, 1, 2, 2, 2, 2, 2, 2});
  Tensor scores = Tensor::from_f32({1, 1, 3}, {0.5f, 0.5f, 0.4f});
  auto a = run_op(make_node("NonMaxSuppression", 4, 1),
                  {corners, scores, Tensor::scalar_i64(10), Tensor::scalar_f32(0.5f)});
  auto b = run_op(make_node("NonMaxSuppression", 4, 1, {Attribute::of_int("center_point_box", 1)}),
                  {centers, scores, Tensor::scalar_i64(10), Tensor::scalar_f32(0.5f)});
  // Box 0 wins the tie with box 1 (identical, suppressed); box 2 has IoU 1/7 with box 0.
  EXPECT_EQ(a[0].to_i64_vector(), (std::vector<int64_t>{0, 0, 0, 0, 0, 2}));
  EXPECT_EQ(b[0].to_i64_vector(), a[0].to_i64_vector());
  EXPECT_THROW(run_op(make_node("NonMaxSuppression", 4, 1),
                      {corners, scores, Tensor::scalar_i64(1), Tensor::scalar_f32(1.5f)}),
               Error);
}

// X[h, w] = 10 h + w: bilinear sampling is exact, so an average over a bin's samples is the
// value at the mean sample position, the bin centre.
Tensor ramp(int64_t batches, int64_t H, int64_t W) {
  Tensor x(DType::f32, {batches, 1, H, W});
  for (int64_t b = 0; b < batches; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        x.data<float>()[(b * H + h) * W + w] = 100.f * b + 10.f * h + w;
  return x;
}

TEST(RoiAlign, AverageOfALinearImageIsTheBinCentre) {
  Tensor x = ramp(2, 8, 8);
  Tensor rois = Tensor::from_f32({2, 4}, {1, 1, 5, 5, 1, 1, 5, 5});
  Tensor batch = Tensor::from_i64({2}, {0, 1});
  std::vector<Attribute> attrs = {Attribute::of_int("output_height", 2), Attribute::of_int("output_width", 2),
                                  Attribute::of_int("sampling_ratio", 2)};
  auto half = run_op(make_node("RoiAlign", 3, 1, attrs), {x, rois, batch});
  ASSERT_EQ(half[0].shape(), (Shape{2, 1, 2, 2}));
  // half_pixel: the roi spans [0.5, 4.5]; bin centres at 1.5 and 3.5.
  std::vector<float> want = {16.5f, 18.5f, 36.5f, 38.5f, 116.5f, 118.5f, 136.5f, 138.5f};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(half[0].to_f32_vector()[i], want[i], 1e-4);
  attrs.push_back(Attribute::of_string("coordinate_transformation_mode", "output_half_pixel"));
  auto legacy = run_op(make_node("RoiAlign", 3, 1, attrs), {x, rois, batch});
  // No half-pixel shift: [1, 5], centres 2 and 4.
  std::vector<float> want2 = {22, 24, 42, 44, 122, 124, 142, 144};
  for (size_t i = 0; i < want2.size(); ++i)
    EXPECT_NEAR(legacy[0].to_f32_vector()[i], want2[i], 1e-4);
  // Spatial scale halves the roi coordinates.
  attrs.push_back(Attribute::of_float("spatial_scale", 0.5f));
  Tensor big = Tensor::from_f32({1, 4}, {2, 2, 10, 10});
  auto scaled = run_op(make_node("RoiAlign", 3, 1, attrs), {x, big, Tensor::from_i64({1}, {0})});
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(scaled[0].to_f32_vector()[i], want2[i], 1e-4);
}

TEST(RoiAlign, MaxModeTakesTheLargestWeightedTap) {
  Tensor x(DType::f32, {1, 1, 4, 4});
  for (int64_t i = 0; i < 16; ++i) x.data<float>()[i] = 2.0f;
  Tensor rois = Tensor::from_f32({1, 4}, {0.5f, 0.5f, 2.5f, 2.5f});  // spans [0, 2]
  Tensor batch = Tensor::from_i64({1}, {0});
  auto run = [&](const char* mode, int64_t sr) {
    return run_op(make_node("RoiAlign", 3, 1, {Attribute::of_string("mode", mode), Attribute::of_int("sampling_ratio", sr)}),
                  {x, rois, batch})[0]
        .data<float>()[0];
  };
  // One sample at (1, 1), a pixel centre: a single tap of weight 1.
  EXPECT_FLOAT_EQ(run("max", 1), 2.0f);
  // Samples at 0.5 / 1.5: four taps of weight 0.25 each (ONNX's reference semantics).
  EXPECT_FLOAT_EQ(run("max", 2), 0.5f);
  EXPECT_FLOAT_EQ(run("avg", 2), 2.0f);
  EXPECT_THROW(run_op(make_node("RoiAlign", 3, 1), {x, rois, Tensor::from_i64({1}, {1})}), Error);
}

// An identity grid for an H x W output.
Tensor identity_grid(int64_t H, int64_t W, bool align) {
  Tensor g(DType::f32, {1, H, W, 2});
  auto norm = [&](int64_t i, int64_t n) {
    return align ? (n == 1 ? 0.f : 2.f * i / (n - 1) - 1) : (2.f * i + 1) / n - 1;
  };
  for (int64_t h = 0; h < H; ++h)
    for (int64_t w = 0; w < W; ++w) {
      g.data<float>()[(h * W + w) * 2] = norm(w, W);
      g.data<float>()[(h * W + w) * 2 + 1] = norm(h, H);
    }
  return g;
}

TEST(GridSample, IdentityGridReproducesTheInputInEveryMode) {
  Tensor x = random_f32({1, 2, 4, 5}, 7);
  for (const char* mode : {"bilinear", "nearest", "bicubic"})
    for (int align : {0, 1}) {
      auto out = run_op(
          make_node("GridSample", 2, 1, {Attribute::of_string("mode", mode), Attribute::of_int("align_corners", align)}),
          {x, identity_grid(4, 5, align)});
      ASSERT_EQ(out[0].shape(), x.shape());
      for (int64_t i = 0; i < x.numel(); ++i)
        EXPECT_NEAR(out[0].data<float>()[i], x.data<float>()[i], 1e-5)
            << mode << " " << align << " " << i;
    }
}

TEST(GridSample, PaddingModesAndNearestTies) {
  Tensor x = Tensor::from_f32({1, 1, 1, 3}, {1, 2, 3});
  // align_corners 0: g = -1 -> x = -0.5 (half outside), g = 2 -> x = 4 (far right).
  Tensor grid = Tensor::from_f32({1, 1, 2, 2}, {-1, 0, 2, 0});
  auto run = [&](const char* padding) {
    return run_op(make_node("GridSample", 2, 1, {Attribute::of_string("padding_mode", padding)}), {x, grid})[0]
        .to_f32_vector();
  };
  EXPECT_EQ(run("zeros"), (std::vector<float>{0.5f, 0}));
  EXPECT_EQ(run("border"), (std::vector<float>{1, 3}));
  EXPECT_EQ(run("reflection"), (std::vector<float>{1, 2}));  // 4 reflects to 1 in [-0.5, 2.5]
  // Nearest rounds half to even: with align_corners, g = -0.5 -> 0.5 -> 0; g = 0.5 -> 1.5 -> 2.
  Tensor ties = Tensor::from_f32({1, 1, 2, 2}, {-0.5f, 0, 0.5f, 0});
  auto near =
      run_op(make_node("GridSample", 2, 1, {Attribute::of_string("mode", "nearest"), Attribute::of_int("align_corners", 1)}),
             {x, ties});
  EXPECT_EQ(near[0].to_f32_vector(), (std::vector<float>{1, 3}));
  // Bicubic with border padding clamps each tap (PyTorch's semantics), not the point: at x = 3.75
  // in [0, 0, 4, 8] the taps 2, 3, 4, 5 read 4, 8, 8, 8 with weights c0 = -9/256 and 1 - c0.
  Tensor x4 = Tensor::from_f32({1, 1, 1, 4}, {0, 0, 4, 8});
  auto cubic = run_op(
      make_node("GridSample", 2, 1, {Attribute::of_string("mode", "bicubic"), Attribute::of_string("padding_mode", "border")}),
      {x4, Tensor::from_f32({1, 1, 1, 2}, {1.125f, 0})});
  EXPECT_FLOAT_EQ(cubic[0].data<float>()[0], 8.140625f);
  EXPECT_THROW(
      run_op(make_node("GridSample", 2, 1), {x, Tensor::from_f32({1, 1, 1, 3}, {0, 0, 0})}), Error);
}

TEST(Vision, ShapeFunctions) {
  const OpSchema* gs = OpRegistry::instance().find("", "GridSample");
  ASSERT_NE(gs, nullptr);
  Node n = make_node("GridSample", 2, 1);
  TypeInfo x = TypeInfo::of(DType::f32, {2, 3, 10, 10}), g = TypeInfo::of(DType::f32, {2, 4, 6, 2});
  InferContext ctx(n, {&x, &g}, {nullptr, nullptr});
  gs->infer(ctx);
  EXPECT_EQ(ctx.outputs[0], TypeInfo::of(DType::f32, {2, 3, 4, 6}));
  const OpSchema* ra = OpRegistry::instance().find("", "RoiAlign");
  Node r = make_node("RoiAlign", 3, 1, {Attribute::of_int("output_height", 7), Attribute::of_int("output_width", 3)});
  TypeInfo rois = TypeInfo::of(DType::f32, {5, 4}), bi = TypeInfo::of(DType::i64, {5});
  InferContext rctx(r, {&x, &rois, &bi}, {nullptr, nullptr, nullptr});
  ra->infer(rctx);
  EXPECT_EQ(rctx.outputs[0], TypeInfo::of(DType::f32, {5, 3, 7, 3}));
}

}  // namespace
}  // namespace nnaccel
