// Quantization ops: hand-computed values, and the integer ops checked against float arithmetic.
#include <cmath>

#include "ops/op_test_util.hpp"

namespace nnaccel {
namespace {

using testing::make_node;
using testing::random_f32;
using testing::run_op;

template <typename T>
Tensor make(DType dt, Shape shape, std::vector<T> v) {
  Tensor t(dt, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), v.size());
  std::copy(v.begin(), v.end(), t.data<T>());
  return t;
}

template <typename T>
std::vector<int64_t> ints(const Tensor& t) {
  std::vector<int64_t> r;
  for (int64_t i = 0; i < t.numel(); ++i) r.push_back(t.data<T>()[i]);
  return r;
}

Tensor u8_scalar(uint8_t v) { return make<uint8_t>(DType::u8, {}, {v}); }

TEST(QuantizeLinear, RoundsTiesToEvenAndSaturatesU8) {
  Tensor x = Tensor::from_f32({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 300.f, -300.f, 3.49f});
  auto out =
      run_op(make_node("QuantizeLinear", 3, 1), {x, Tensor::scalar_f32(1.0f), u8_scalar(128)});
  ASSERT_EQ(out[0].dtype(), DType::u8);
  EXPECT_EQ(ints<uint8_t>(out[0]), (std::vector<int64_t>{128, 130, 130, 128, 126, 255, 0, 131}));
}

TEST(QuantizeLinear, DefaultsToU8WithoutZeroPointAndSupportsI8) {
  Tensor x = Tensor::from_f32({4}, {-3.f, 5.f, 7.f, 1000.f});
  auto u = run_op(make_node("QuantizeLinear", 2, 1), {x, Tensor::scalar_f32(2.0f)});
  ASSERT_EQ(u[0].dtype(), DType::u8);
  // -1.5 -> -2 -> 0; 2.5 -> 2; 3.5 -> 4; 500 -> 255.
  EXPECT_EQ(ints<uint8_t>(u[0]), (std::vector<int64_t>{0, 2, 4, 255}));
  auto s = run_op(make_node("QuantizeLinear", 3, 1),
                  {x, Tensor::scalar_f32(2.0f), make<int8_t>(DType::i8, {}, {-1})});
  ASSERT_EQ(s[0].dtype(), DType::i8);
  EXPECT_EQ(ints<int8_t>(s[0]), (std::vector<int64_t>{-3, 1, 3, 127}));
}

TEST(QuantizeLinear, PerAxis) {
  // x [2, 3], axis 1: column c uses scale s[c], zero point z[c].
  Tensor x = Tensor::from_f32({2, 3}, {1, 2, 3, -4, 10, 12});
  Tensor sc = Tensor::from_f32({3}, {1, 2, 4});
  Tensor zp = make<uint8_t>(DType::u8, {3}, {0, 10, 20});
  auto out = run_op(make_node("QuantizeLinear", 3, 1), {x, sc, zp});
  // 1/1+0=1, 2/2+10=11, 3/4=0.75->1 +20=21; -4->0 (sat), 10/2+10=15, 12/4+20=23
  EXPECT_EQ(ints<uint8_t>(out[0]), (std::vector<int64_t>{1, 11, 21, 0, 15, 23}));
  // Same along axis 0 with attribute -2.
  Tensor sc0 = Tensor::from_f32({2}, {1, 2});
  Tensor zp0 = make<uint8_t>(DType::u8, {2}, {5, 6});
  auto o0 = run_op(make_node("QuantizeLinear", 3, 1, {Attribute::of_int("axis", -2)}), {x, sc0, zp0});
  EXPECT_EQ(ints<uint8_t>(o0[0]), (std::vector<int64_t>{6, 7, 8, 4, 11, 12}));
  // Wrong count is an error naming the problem.
  EXPECT_THROW(run_op(make_node("QuantizeLinear", 3, 1), {x, sc0, zp0}), Error);
}

TEST(DequantizeLinear, PerTensorPerAxisAndInt32) {
  Tensor x = make<uint8_t>(DType::u8, {2, 2}, {0, 3, 128, 255});
  auto a =
      run_op(make_node("DequantizeLinear", 3, 1), {x, Tensor::scalar_f32(0.5f), u8_scalar(128)});
  ASSERT_EQ(a[0].dtype(), DType::f32);
  EXPECT_EQ(a[0].to_f32_vector(), (std::vector<float>{-64.f, -62.5f, 0.f, 63.5f}));
  Tensor sc = Tensor::from_f32({2}, {1.f, 2.f});
  Tensor zp = make<uint8_t>(DType::u8, {2}, {1, 2});
  auto b = run_op(make_node("DequantizeLinear", 3, 1, {Attribute::of_int("axis", 0)}), {x, sc, zp});
  EXPECT_EQ(b[0].to_f32_vector(), (std::vector<float>{-1.f, 2.f, 252.f, 506.f}));
  Tensor xi = make<int32_t>(DType::i32, {3}, {-100000, 7, 1 << 20});
  auto c = run_op(make_node("DequantizeLinear", 2, 1), {xi, Tensor::scalar_f32(0.25f)});
  EXPECT_EQ(c[0].to_f32_vector(), (std::vector<float>{-25000.f, 1.75f, 262144.f}));
  // int32 input with a non-zero zero point is rejected.
  EXPECT_THROW(run_op(make_node("DequantizeLinear", 3, 1),
                      {xi, Tensor::scalar_f32(1.f), make<int32_t>(DType::i32, {}, {3})}),
               Error);
}

TEST(DynamicQuantizeLinear, SpecExample) {
  Tensor x = Tensor::from_f32({6}, {0, 2, -3, -2.5f, 1.34f, 0.5f});
  auto out = run_op(make_node("DynamicQuantizeLinear", 1, 3), {x});
  // scale = (2 - (-3)) / 255; zero point = round(3 / scale) = 153.
  EXPECT_FLOAT_EQ(out[1].data<float>()[0], 5.0f / 255.0f);
  EXPECT_EQ(out[2].data<uint8_t>()[0], 153);
  EXPECT_EQ(ints<uint8_t>(out[0]), (std::vector<int64_t>{153, 255, 0, 26, 221, 179}));
  // All-positive data still includes 0 in the range: zero point 0.
  auto pos = run_op(make_node("DynamicQuantizeLinear", 1, 3), {Tensor::from_f32({2}, {1, 51})});
  EXPECT_EQ(pos[2].data<uint8_t>()[0], 0);
  EXPECT_EQ(ints<uint8_t>(pos[0]), (std::vector<int64_t>{5, 255}));
}

TEST(MatMulInteger, PerRowAndPerColumnZeroPoints) {
  Tensor a = make<uint8_t>(DType::u8, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = make<int8_t>(DType::i8, {3, 2}, {1, -1, 2, 0, -3, 4});
  Tensor azp = make<uint8_t>(DType::u8, {2}, {1, 4});
  Tensor bzp = make<int8_t>(DType::i8, {2}, {0, -1});
  auto out = run_op(make_node("MatMulInteger", 4, 1), {a, b, azp, bzp});
  ASSERT_EQ(out[0].dtype(), DType::i32);
  ASSERT_EQ(out[0].shape(), (Shape{2, 2}));
  // A' = [[0,1,2],[0,1,2]], B' = [[1,0],[2,1],[-3,5]] -> [[-4,11],[-4,11]]
  EXPECT_EQ(ints<int32_t>(out[0]), (std::vector<int64_t>{-4, 11, -4, 11}));
  // Without zero points: [[1*1+2*2-9, -1+0+12], [4+10-18, -4+0+24]]
  auto plain = run_op(make_node("MatMulInteger", 2, 1), {a, b});
  EXPECT_EQ(ints<int32_t>(plain[0]), (std::vector<int64_t>{-4, 11, -4, 20}));
  // Inner dimensions 3 vs 2 are an error.
  EXPECT_THROW(run_op(make_node("MatMulInteger", 2, 1), {a, a}), Error);
}

TEST(MatMulInteger, BroadcastsBatchesAndVectors) {
  Tensor a = make<uint8_t>(DType::u8, {2, 1, 2}, {1, 2, 3, 4});
  Tensor b = make<uint8_t>(DType::u8, {2}, {5, 6});
  auto out = run_op(make_node("MatMulInteger", 2, 1), {a, b});
  ASSERT_EQ(out[0].shape(), (Shape{2, 1}));
  EXPECT_EQ(ints<int32_t>(out[0]), (std::vector<int64_t>{17, 39}));
}

// Float path: dequantize, multiply in double, quantize with round half to even.
TEST(QLinearMatMul, MatchesDequantizeMatMulQuantizeWithinOne) {
  const int64_t M = 5, K = 7, N = 4;
  Tensor af = random_f32({M, K}, 1, -1, 1), bf = random_f32({K, N}, 2, -1, 1);
  const float as = 2.0f / 255, bs = 2.0f / 255, ys = 0.05f;
  const uint8_t azp = 128, bzp = 120, yzp = 100;
  auto quantize = [](const Tensor& f, float s, uint8_t z) {
    Tensor q(DType::u8, f.shape());
    for (int64_t i = 0; i < f.numel(); ++i)
      q.data<uint8_t>()[i] = static_cast<uint8_t>(
          std::clamp<double>(std::nearbyint(f.data<float>()[i] / s) + z, 0, 255));
    return q;
  };
  Tensor a = quantize(af, as, azp), b = quantize(bf, bs, bzp);
  auto out = run_op(make_node("QLinearMatMul", 8, 1),
                    {a, Tensor::scalar_f32(as), u8_scalar(azp), b, Tensor::scalar_f32(bs),
                     u8_scalar(bzp), Tensor::scalar_f32(ys), u8_scalar(yzp)});
  ASSERT_EQ(out[0].shape(), (Shape{M, N}));
  int exact = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc +=
            (a.data<uint8_t>()[m * K + k] - azp) * as * (b.data<uint8_t>()[k * N + n] - bzp) * bs;
      double want = std::clamp<double>(std::nearbyint(acc / ys) + yzp, 0, 255);
      int got = out[0].data<uint8_t>()[m * N + n];
      EXPECT_LE(std::abs(got - want), 1) << m << "," << n;
      exact += got == want;
    }
  EXPECT_GT(exact, M * N / 2);  // off-by-one only on near-ties
}

TEST(QLinearMatMul, PerColumnScalesAndInt8Output) {
  Tensor a = make<int8_t>(DType::i8, {1, 2}, {2, -3});
  Tensor b = make<int8_t>(DType::i8, {2, 2}, {10, 1, 20, 1});
  Tensor bs = Tensor::from_f32({2}, {0.5f, 100.f});
  Tensor bzp = make<int8_t>(DType::i8, {2}, {0, 0});
  auto out = run_op(make_node("QLinearMatMul", 8, 1),
                    {a, Tensor::scalar_f32(1.f), make<int8_t>(DType::i8, {}, {0}), b, bs, bzp,
                     Tensor::scalar_f32(1.f), make<int8_t>(DType::i8, {}, {1})});
  ASSERT_EQ(out[0].dtype(), DType::i8);
  // acc = [20 - 60, 2 - 3] = [-40, -1]; * [0.5, 100] = [-20, -100]; + 1 = [-19, -99]
  EXPECT_EQ(ints<int8_t>(out[0]), (std::vector<int64_t>{-19, -99}));
}

TEST(ConvInteger, PerChannelWeightZeroPointsStridesAndPads) {
  // x [1,1,3,3] zp 1; two 2x2 filters with zero points 0 and 2; pad 1, stride 2.
  Tensor x = make<uint8_t>(DType::u8, {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor w = make<uint8_t>(DType::u8, {2, 1, 2, 2}, {1, 0, 0, 1, 3, 3, 3, 3});
  Tensor wzp = make<uint8_t>(DType::u8, {2}, {0, 2});
  auto out = run_op(make_node("ConvInteger", 4, 1,
                              {Attribute::of_ints("pads", {1, 1, 1, 1}), Attribute::of_ints("strides", {2, 2})}),
                    {x, w, u8_scalar(1), wzp});
  ASSERT_EQ(out[0].shape(), (Shape{1, 2, 2, 2}));
  // x' = x - 1 = [[0,1,2],[3,4,5],[6,7,8]], zero padded. Filter 0 is the diagonal [1,0;0,1]:
  // positions (-1,-1),(-1,1),(1,-1),(1,1): x'[0,0]=0, x'[0,2]... computed below by hand:
  // out(0,0) = pad*1 + x'(0,0)*1 = 0; out(0,1) = pad + x'(0,2) = 2;
  // out(1,0) = pad + x'(2,0) = 6; out(1,1) = x'(1,1) + x'(2,2) = 4 + 8 = 12.
  // Filter 1 is all ones after its zero point: window sums.
  // out(0,0) = 0; out(0,1) = x'(0,1)+x'(0,2) = 3; out(1,0) = x'(1,0)+x'(2,0) = 9;
  // out(1,1) = 4+5+7+8 = 24.
  EXPECT_EQ(ints<int32_t>(out[0]), (std::vector<int64_t>{0, 2, 6, 12, 0, 3, 9, 24}));
}

TEST(QLinearConv, MatchesFloatConvWithinOneAndAddsBias) {
  // Grouped 2-D conv, per-channel weight scales, int32 bias.
  const int64_t C = 4, M = 4, G = 2, H = 5, W = 6;
  Tensor xf = random_f32({1, C, H, W}, 3, 0, 2), wf = random_f32({M, C / G, 3, 3}, 4, -1, 1);
  const float xs = 2.0f / 255;
  std::vector<float> wsc = {0.004f, 0.008f, 0.005f, 0.01f};
  const float ys = 0.03f;
  const uint8_t xzp = 3, yzp = 128;
  Tensor x(DType::u8, xf.shape()), w(DType::i8, wf.shape());
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data<uint8_t>()[i] = static_cast<uint8_t>(
        std::clamp<double>(std::nearbyint(xf.data<float>()[i] / xs) + xzp, 0, 255));
  const int64_t wper = (C / G) * 9;
  for (int64_t i = 0; i < w.numel(); ++i)
    w.data<int8_t>()[i] = static_cast<int8_t>(std::clamp<double>(
        std::nearbyint(wf.data<float>()[i] / wsc[static_cast<size_t>(i / wper)]), -127, 127));
  Tensor bias = make<int32_t>(DType::i32, {M}, {100, -200, 0, 50});
  auto out = run_op(
      make_node(
          "QLinearConv", 9, 1,
          {Attribute::of_int("group", G), Attribute::of_ints("pads", {1, 0, 1, 0}), Attribute::of_ints("strides", {1, 2})}),
      {x, Tensor::scalar_f32(xs), u8_scalar(xzp), w, Tensor::from_f32({M}, wsc),
       make<int8_t>(DType::i8, {M}, {0, 0, 0, 0}), Tensor::scalar_f32(ys), u8_scalar(yzp), bias});
  const int64_t OH = 5, OW = 2;
  ASSERT_EQ(out[0].shape(), (Shape{1, M, OH, OW}));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double acc = bias.data<int32_t>()[m] * xs * wsc[static_cast<size_t>(m)];
        const int64_t g = m / (M / G);
        for (int64_t c = 0; c < C / G; ++c)
          for (int64_t kh = 0; kh < 3; ++kh)
            for (int64_t kw = 0; kw < 3; ++kw) {
              int64_t ih = oh - 1 + kh, iw = ow * 2 + kw;
              if (ih < 0 || ih >= H || iw >= W) continue;
              double xv = (x.data<uint8_t>()[((g * 2 + c) * H + ih) * W + iw] - xzp) * xs;
              double wv =
                  w.data<int8_t>()[(m * 2 + c) * 9 + kh * 3 + kw] * wsc[static_cast<size_t>(m)];
              acc += xv * wv;
            }
        double want = std::clamp<double>(std::nearbyint(acc / ys) + yzp, 0, 255);
        int got = out[0].data<uint8_t>()[(m * OH + oh) * OW + ow];
        EXPECT_LE(std::abs(got - want), 1) << m << "," << oh << "," << ow;
      }
}

TEST(QuantShapes, ConvAndMatMulShapeFunctions) {
  const OpSchema* conv = OpRegistry::instance().find("", "ConvInteger");
  ASSERT_NE(conv, nullptr);
  Node n = make_node("ConvInteger", 2, 1,
                     {Attribute::of_ints("strides", {2, 2}), Attribute::of_string("auto_pad", "SAME_UPPER")});
  TypeInfo x{DType::u8, true, {Dim{1, {}}, Dim{3, {}}, Dim{-1, "h"}, Dim{9, {}}}};
  TypeInfo w = TypeInfo::of(DType::u8, {8, 3, 3, 3});
  InferContext ctx(n, {&x, &w}, {nullptr, nullptr});
  conv->infer(ctx);
  EXPECT_EQ(ctx.outputs[0].dtype, DType::i32);
  ASSERT_EQ(ctx.outputs[0].dims.size(), 4u);
  EXPECT_EQ(ctx.outputs[0].dims[1].value, 8);
  EXPECT_FALSE(ctx.outputs[0].dims[2].known());
  EXPECT_EQ(ctx.outputs[0].dims[3].value, 5);  // SAME_UPPER: ceil(9 / 2)

  const OpSchema* mm = OpRegistry::instance().find("", "MatMulInteger");
  Node m = make_node("MatMulInteger", 2, 1);
  TypeInfo a = TypeInfo::of(DType::u8, {4, 1, 2, 3}), b = TypeInfo::of(DType::u8, {5, 3, 6});
  InferContext mctx(m, {&a, &b}, {nullptr, nullptr});
  mm->infer(mctx);
  EXPECT_EQ(mctx.outputs[0], TypeInfo::of(DType::i32, {4, 5, 2, 6}));
  TypeInfo bad = TypeInfo::of(DType::u8, {4, 6});
  InferContext bctx(m, {&a, &bad}, {nullptr, nullptr});
  EXPECT_THROW(mm->infer(bctx), Error);
}

}  // namespace
}  // namespace nnaccel
