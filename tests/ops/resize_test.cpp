// Resize (opset-13 form): hand-computed cases for each mode and coordinate transformation,
// N-d interpolation, extrapolation, dtypes, shape function and errors.
#include <cmath>

#include "core/cast.hpp"
#include "ops/op_test_util.hpp"

namespace nnaccel {
namespace {

using testing::make_node;
using testing::run_op;

void expect_f32(const Tensor& t, const Shape& shape, const std::vector<float>& want,
                float tol = 1e-5f) {
  ASSERT_EQ(t.dtype(), DType::f32);
  ASSERT_EQ(t.shape(), shape);
  ASSERT_EQ(static_cast<size_t>(t.numel()), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(t.data<float>()[i], want[i], tol) << "at " << i;
}

Tensor resize_scales(const Tensor& x, std::vector<float> scales, std::vector<Attribute> attrs) {
  Node n = make_node("Resize", 3, 1, std::move(attrs));
  n.inputs[1] = "";
  return run_op(n,
                {x, Tensor(), Tensor::from_f32({static_cast<int64_t>(scales.size())}, scales)})[0];
}

Tensor resize_sizes(const Tensor& x, std::vector<int64_t> sizes, std::vector<Attribute> attrs,
                    Tensor roi = Tensor()) {
  Node n = make_node("Resize", 4, 1, std::move(attrs));
  n.inputs[2] = "";
  if (!roi.defined()) n.inputs[1] = "";
  return run_op(
      n, {x, roi, Tensor(), Tensor::from_i64({static_cast<int64_t>(sizes.size())}, sizes)})[0];
}

TEST(Resize, Linear2x2To4x4HalfPixel) {
  // half_pixel, scale 2: x_original = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25; the ends
  // clamp to the edge. One row of [1, 2]: 1, 1.25, 1.75, 2; rows interpolate the same way.
  Tensor x = Tensor::from_f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor y = resize_scales(x, {1, 1, 2, 2}, {Attribute::of_string("mode", "linear")});
  expect_f32(y, {1, 1, 4, 4},
             {1, 1.25f, 1.75f, 2,  //
              1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4});
}

TEST(Resize, NearestAsymmetricUpsample) {
  // asymmetric, scale 3: x_original = x / 3 = 0, 1/3, 2/3, 1, 4/3, 5/3.
  Tensor x = Tensor::from_f32({1, 2}, {10, 20});
  std::vector<Attribute> base{Attribute::of_string("coordinate_transformation_mode", "asymmetric")};
  // round_prefer_floor (default): 0, 0, 1, 1, 1, 2 -> clamped to 1.
  expect_f32(resize_scales(x, {1, 3}, base), {1, 6}, {10, 10, 20, 20, 20, 20});
  auto floor_attrs = base;
  floor_attrs.push_back(Attribute::of_string("nearest_mode", "floor"));
  expect_f32(resize_scales(x, {1, 3}, floor_attrs), {1, 6}, {10, 10, 10, 20, 20, 20});
}

TEST(Resize, NearestModesAtHalves) {
  Tensor x = Tensor::from_f32({4}, {0, 1, 2, 3});
  auto run = [&](const char* ctm, const char* nm) {
    return resize_sizes(
        x, {8}, {Attribute::of_string("coordinate_transformation_mode", ctm), Attribute::of_string("nearest_mode", nm)});
  };
  // asymmetric, scale 2: x_original = 0, .5, 1, 1.5, 2, 2.5, 3, 3.5.
  expect_f32(run("asymmetric", "round_prefer_floor"), {8}, {0, 0, 1, 1, 2, 2, 3, 3});
  expect_f32(run("asymmetric", "round_prefer_ceil"), {8}, {0, 1, 1, 2, 2, 3, 3, 3});
  // half_pixel: -.25, .25, .75, 1.25, 1.75, 2.25, 2.75, 3.25.
  expect_f32(run("half_pixel", "floor"), {8}, {0, 0, 0, 1, 1, 2, 2, 3});
  expect_f32(run("half_pixel", "ceil"), {8}, {0, 1, 1, 2, 2, 3, 3, 3});
  // tf_half_pixel_for_nn: (x + .5) / 2 = .25, .75, 1.25, ... rounded.
  expect_f32(run("tf_half_pixel_for_nn", "round_prefer_floor"), {8}, {0, 1, 1, 2, 2, 3, 3, 3});
}

TEST(Resize, LinearAlignCorners) {
  // 3 -> 5: x_original = x * 2 / 4.
  Tensor x = Tensor::from_f32({3}, {0, 2, 4});
  expect_f32(resize_sizes(x, {5},
                          {Attribute::of_string("mode", "linear"),
                           Attribute::of_string("coordinate_transformation_mode", "align_corners")}),
             {5}, {0, 1, 2, 3, 4});
  // With scales, length_resized is scale * length (ONNX's expected data): 4 * 0.6 = 2.4, so
  // x_original(1) = 1 * 3 / 1.4, between 1.0 and 2.0 of [0, 1, 2, 3]... -> 2.142857.
  Tensor x4 = Tensor::from_f32({4}, {0, 1, 2, 3});
  expect_f32(resize_scales(x4, {0.6f},
                           {Attribute::of_string("mode", "linear"),
                            Attribute::of_string("coordinate_transformation_mode", "align_corners")}),
             {2}, {0, 3.0f / 1.4f}, 1e-4f);
}

TEST(Resize, TrilinearReproducesALinearFunction) {
  // f(i, j, k) = 4i + 2j + k on a 2x2x2 grid; align_corners onto 3x3x3 samples f at half
  // steps, and N-linear interpolation of a linear function is exact on every axis.
  Tensor x(DType::f32, {2, 2, 2});
  for (int i = 0; i < 8; ++i) x.data<float>()[i] = static_cast<float>(i);
  Tensor y = resize_sizes(
      x, {3, 3, 3},
      {Attribute::of_string("mode", "linear"), Attribute::of_string("coordinate_transformation_mode", "align_corners")});
  ASSERT_EQ(y.shape(), Shape({3, 3, 3}));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k)
        EXPECT_NEAR(y.data<float>()[(i * 3 + j) * 3 + k], 2.0f * i + j + 0.5f * k, 1e-6f);
}

TEST(Resize, CubicWeights) {
  // asymmetric, scale 2: x_original(3) = 1.5 with taps 0..3 and Keys weights (a = -0.75)
  // w(1.5) = 0.125a = -0.09375, w(0.5) = 0.59375:
  // -0.09375*1 + 0.59375*2 + 0.59375*4 - 0.09375*8 = 2.71875. Integer positions are exact.
  Tensor x = Tensor::from_f32({4}, {1, 2, 4, 8});
  std::vector<Attribute> a{Attribute::of_string("mode", "cubic"),
                           Attribute::of_string("coordinate_transformation_mode", "asymmetric")};
  Tensor y = resize_scales(x, {2}, a);
  ASSERT_EQ(y.shape(), Shape({8}));
  EXPECT_NEAR(y.data<float>()[0], 1, 1e-6);
  EXPECT_NEAR(y.data<float>()[2], 2, 1e-6);
  EXPECT_NEAR(y.data<float>()[3], 2.71875, 1e-6);
  // x_original(1) = 0.5: tap -1 takes the edge value 1:
  // -0.09375*1 + 0.59375*1 + 0.59375*2 - 0.09375*4 = 1.3125.
  EXPECT_NEAR(y.data<float>()[1], 1.3125, 1e-6);
  // exclude_outside drops tap -1 and renormalizes by 1 + 0.09375 = 1.09375:
  // (0.59375*1 + 0.59375*2 - 0.09375*4) / 1.09375 = 1.40625 / 1.09375.
  a.push_back(Attribute::of_int("exclude_outside", 1));
  EXPECT_NEAR(resize_scales(x, {2}, a).data<float>()[1], 1.40625 / 1.09375, 1e-6);
  // cubic_coeff_a = -0.5: w(1.5) = -0.0625, w(0.5) = 0.5625 -> -0.0625 + 1.125 + 2.25 - 0.5.
  a.pop_back();
  a.push_back(Attribute::of_float("cubic_coeff_a", -0.5f));
  EXPECT_NEAR(resize_scales(x, {2}, a).data<float>()[3], 2.8125, 1e-6);
}

TEST(Resize, ConstantImageStaysConstantUnderEveryMode) {
  Tensor x(DType::f32, {1, 2, 3, 4});
  for (int i = 0; i < x.numel(); ++i) x.data<float>()[i] = 2.5f;
  for (const char* mode : {"nearest", "linear", "cubic"}) {
    for (const char* ctm : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"}) {
      Tensor y = resize_sizes(
          x, {1, 3, 5, 3}, {Attribute::of_string("mode", mode), Attribute::of_string("coordinate_transformation_mode", ctm)});
      ASSERT_EQ(y.shape(), Shape({1, 3, 5, 3}));
      for (int i = 0; i < y.numel(); ++i)
        ASSERT_NEAR(y.data<float>()[i], 2.5f, 1e-5f) << mode << " " << ctm;
    }
  }
}

TEST(Resize, TfCropAndResizeExtrapolates) {
  // roi [0.5, 1.5] of a length-4 axis, 3 outputs: x_original = 0.5*3 + x * 1 * 3 / 2
  // = 1.5, 3, 4.5; the last is outside [0, 3] and takes extrapolation_value.
  Tensor x = Tensor::from_f32({4}, {0, 10, 20, 30});
  std::vector<Attribute> a{Attribute::of_string("mode", "linear"),
                           Attribute::of_string("coordinate_transformation_mode", "tf_crop_and_resize"),
                           Attribute::of_float("extrapolation_value", -7)};
  expect_f32(resize_sizes(x, {3}, a, Tensor::from_f32({2}, {0.5f, 1.5f})), {3}, {15, 30, -7});
  a[0] = Attribute::of_string("mode", "nearest");
  expect_f32(resize_sizes(x, {3}, a, Tensor::from_f32({2}, {0.5f, 1.5f})), {3}, {10, 30, -7});
  EXPECT_THROW(resize_sizes(x, {3}, a), Error);  // roi is required
  EXPECT_THROW(resize_sizes(x, {3}, a, Tensor::from_f32({2}, {0, std::nanf("")})), Error);
}

TEST(Resize, OtherElementTypes) {
  // uint8 linear: align_corners 2 -> 3 gives 15.5 in the middle, rounded to nearest.
  Tensor u(DType::u8, {2});
  u.data<uint8_t>()[0] = 10;
  u.data<uint8_t>()[1] = 21;
  Tensor yu = resize_sizes(
      u, {3},
      {Attribute::of_string("mode", "linear"), Attribute::of_string("coordinate_transformation_mode", "align_corners")});
  ASSERT_EQ(yu.dtype(), DType::u8);
  EXPECT_EQ(yu.data<uint8_t>()[1], 16);
  // nearest is a gather and works on any element type, e.g. int64.
  Tensor yi = resize_scales(Tensor::from_i64({2}, {-5, 9}), {2}, {});
  EXPECT_EQ(yi.to_i64_vector(), std::vector<int64_t>({-5, -5, 9, 9}));
  // float16 interpolates in float.
  Tensor h = cast_tensor(Tensor::from_f32({1, 1, 2, 2}, {1, 2, 3, 4}), DType::f16);
  Tensor yh = resize_scales(h, {1, 1, 2, 2}, {Attribute::of_string("mode", "linear")});
  ASSERT_EQ(yh.dtype(), DType::f16);
  expect_f32(
      cast_tensor(yh, DType::f32).reshaped({16}), {16},
      {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4});
}

TEST(Resize, OutputShapeFloorsInputTimesScale) {
  Tensor x = testing::random_f32({1, 1, 4, 5}, 3);
  Tensor y = resize_scales(x, {1, 1, 0.6f, 1.7f}, {});
  EXPECT_EQ(y.shape(), Shape({1, 1, 2, 8}));  // floor(2.4), floor(8.5)
}

TEST(Resize, RejectsBadInputs) {
  Tensor x = Tensor::from_f32({1, 2}, {1, 2});
  EXPECT_THROW(resize_scales(x, {1, 2, 3}, {}), Error);  // wrong length
  EXPECT_THROW(resize_scales(x, {1, -2}, {}), Error);
  EXPECT_THROW(resize_scales(x, {1, 2}, {Attribute::of_string("mode", "bilinear")}), Error);
  EXPECT_THROW(resize_scales(x, {1, 2}, {Attribute::of_string("coordinate_transformation_mode", "x")}), Error);
  EXPECT_THROW(resize_sizes(x, {1, -1}, {}), Error);
  Node both = make_node("Resize", 4, 1, {});
  both.inputs[1] = "";
  EXPECT_THROW(
      run_op(both, {x, Tensor(), Tensor::from_f32({2}, {1, 2}), Tensor::from_i64({2}, {1, 4})}),
      Error);
  Node neither = make_node("Resize", 1, 1, {});
  EXPECT_THROW(run_op(neither, {x}), Error);
}

std::vector<TypeInfo> infer(const Node& n, const std::vector<TypeInfo>& types,
                            const std::vector<const Tensor*>& values) {
  std::vector<const TypeInfo*> tp;
  for (const TypeInfo& t : types) tp.push_back(t.dtype == DType::undefined ? nullptr : &t);
  std::vector<const Tensor*> vals = values;
  vals.resize(types.size(), nullptr);
  InferContext ctx(n, tp, vals);
  OpRegistry::instance().find("", "Resize")->infer(ctx);
  return ctx.outputs;
}

TEST(ResizeInfer, FromConstantScalesOrSizes) {
  TypeInfo x = TypeInfo::of(DType::f32, {1, 3, 4, 5});
  x.dims[0] = Dim{-1, "N"};
  TypeInfo none;
  Tensor scales = Tensor::from_f32({4}, {1, 1, 2, 0.5f});
  Node n = make_node("Resize", 3, 1, {});
  auto o = infer(n, {x, none, TypeInfo::of(DType::f32, {4})}, {nullptr, nullptr, &scales});
  ASSERT_TRUE(o[0].has_shape);
  EXPECT_FALSE(o[0].dims[0].known());  // floor(N * 1) is not known statically
  EXPECT_EQ(o[0].dims[1].value, 3);
  EXPECT_EQ(o[0].dims[2].value, 8);
  EXPECT_EQ(o[0].dims[3].value, 2);
  Tensor sizes = Tensor::from_i64({4}, {2, 3, 7, 9});
  Node ns = make_node("Resize", 4, 1, {});
  o = infer(ns, {x, none, none, TypeInfo::of(DType::i64, {4})},
            {nullptr, nullptr, nullptr, &sizes});
  EXPECT_EQ(o[0], TypeInfo::of(DType::f32, {2, 3, 7, 9}));
  // Not constant: rank known, dims not.
  o = infer(ns, {x, none, none, TypeInfo::of(DType::i64, {4})}, {});
  ASSERT_TRUE(o[0].has_shape);
  EXPECT_EQ(o[0].dims.size(), 4u);
  EXPECT_FALSE(o[0].dims[2].known());
  Tensor short_sizes = Tensor::from_i64({2}, {7, 9});
  EXPECT_THROW(infer(ns, {x, none, none, TypeInfo::of(DType::i64, {2})},
                     {nullptr, nullptr, nullptr, &short_sizes}),
               Error);
}

}  // namespace
}  // namespace nnaccel
