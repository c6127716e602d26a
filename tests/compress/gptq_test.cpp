// GPTQ weight rounding: its input statistics against a brute-force im2col, its rounding against
// rounding to nearest (equal where inputs are uncorrelated, far better where they are not).
#include "compress/quantize/gptq.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compress/quant_model_test_util.hpp"

namespace nnaccel {
namespace {

using namespace testing;

// Per-row symmetric int8 grids from each row's largest magnitude.
std::vector<AffineQuant> row_grids(const std::vector<float>& w, int64_t rows, int64_t cols) {
  std::vector<AffineQuant> q;
  for (int64_t r = 0; r < rows; ++r) {
    float lo = 0, hi = 0;
    for (int64_t c = 0; c < cols; ++c) {
      lo = std::min(lo, w[static_cast<size_t>(r * cols + c)]);
      hi = std::max(hi, w[static_cast<size_t>(r * cols + c)]);
    }
    q.push_back(choose_qparams({lo, hi}, DType::i8, true));
  }
  return q;
}

// sum over the rows x of X of |(W - dq(Q)) x|^2.
double output_error(const std::vector<float>& x, int64_t n, const std::vector<float>& w,
                    const std::vector<int32_t>& ints, const std::vector<AffineQuant>& q,
                    int64_t rows, int64_t cols) {
  double e = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < rows; ++r) {
      double y = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const size_t k = static_cast<size_t>(r * cols + c);
        y += (w[k] - dequantize_value(ints[k], q[static_cast<size_t>(r)])) *
             x[static_cast<size_t>(i * cols + c)];
      }
      e += y * y;
    }
  return e;
}

WeightHessian gram(const std::vector<float>& x, int64_t n, int64_t d) {
  WeightHessian h;
  h.dim = d;
  h.count = n;
  h.h.assign(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t a = 0; a < d; ++a)
      for (int64_t b = 0; b < d; ++b)
        h.h[static_cast<size_t>(a * d + b)] += static_cast<double>(x[static_cast<size_t>(i * d + a)]) *
                                               x[static_cast<size_t>(i * d + b)];
  return h;
}

TEST(Gptq, UncorrelatedInputsRoundToNearest) {
  // A diagonal H couples no inputs: nothing to compensate, so GPTQ is rounding to nearest.
  const int64_t rows = 7, cols = 13;
  const Tensor wt = random_tensor({rows, cols}, 5);
  const std::vector<float> w(wt.data<float>(), wt.data<float>() + wt.numel());
  const std::vector<AffineQuant> q = row_grids(w, rows, cols);
  WeightHessian h;
  h.dim = cols;
  h.h.assign(static_cast<size_t>(cols * cols), 0.0);
  for (int64_t i = 0; i < cols; ++i) h.h[static_cast<size_t>(i * cols + i)] = 1.0 + 0.37 * i;
  std::vector<int32_t> ints(w.size());
  gptq_round({w.data(), rows, cols, cols, 1}, h, q, ints.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const size_t k = static_cast<size_t>(r * cols + c);
      EXPECT_EQ(ints[k], quantize_value(w[k], q[static_cast<size_t>(r)])) << r << "," << c;
    }
}

TEST(Gptq, CorrelatedInputsLoseLessOutput) {
  // Inputs with a shared mean and two strong common factors (as image patches have), weights in
  // the layout of a MatMul's B (rows strided by 1): GPTQ's output error is a fraction of
  // round-to-nearest's, on the statistics' own inputs and on fresh ones.
  const int64_t rows = 11, cols = 29, n = 600;
  std::mt19937 rng(9);
  std::normal_distribution<float> g(0.0f, 1.0f);
  auto inputs = [&](int64_t count) {
    std::vector<float> x(static_cast<size_t>(count * cols));
    for (int64_t i = 0; i < count; ++i) {
      const float f1 = g(rng), f2 = g(rng);
      for (int64_t c = 0; c < cols; ++c)
        x[static_cast<size_t>(i * cols + c)] =
            2.0f + 3.0f * f1 + (c % 2 ? 1.5f : -1.5f) * f2 + 0.1f * g(rng);
    }
    return x;
  };
  const std::vector<float> x = inputs(n), fresh = inputs(n);
  const Tensor wt = random_tensor({cols, rows}, 17);  // [K, N]
  std::vector<float> w(static_cast<size_t>(rows * cols));  // row-major copy for the checks
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      w[static_cast<size_t>(r * cols + c)] = wt.data<float>()[c * rows + r];
  const std::vector<AffineQuant> q = row_grids(w, rows, cols);
  std::vector<int32_t> strided(w.size()), ints(w.size()), nearest(w.size());
  gptq_round({wt.data<float>(), rows, cols, 1, rows}, gram(x, n, cols), q, strided.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const size_t k = static_cast<size_t>(r * cols + c);
      ints[k] = strided[static_cast<size_t>(c * rows + r)];
      nearest[k] = quantize_value(w[k], q[static_cast<size_t>(r)]);
      EXPECT_GE(ints[k], -127);
      EXPECT_LE(ints[k], 127);
    }
  const double e_gptq = output_error(x, n, w, ints, q, rows, cols),
               e_near = output_error(x, n, w, nearest, q, rows, cols);
  const double f_gptq = output_error(fresh, n, w, ints, q, rows, cols),
               f_near = output_error(fresh, n, w, nearest, q, rows, cols);
  // Measured: 1.00 vs 12.9 on the statistics' inputs, 1.05 vs 13.5 on fresh ones.
  EXPECT_LT(e_gptq, 0.25 * e_near) << e_gptq << " vs " << e_near;
  EXPECT_LT(f_gptq, 0.25 * f_near) << f_gptq << " vs " << f_near;
}

TEST(Gptq, ConvAndMatMulStatisticsMatchIm2col) {
  // A grouped, strided, padded, dilated Conv and a MatMul reading it: H equals the sum of x x^T
  // over the im2col patches of each group (and the rows of the MatMul's A), over two batches.
  const int64_t n = 2, c = 4, ih = 7, iw = 6, groups = 2, oc = 6, kh = 3, kw = 2;
  GraphBuilder b;
  b.input("x", {n, c, ih, iw});
  b.init("w", random_tensor({oc, c / groups, kh, kw}, 3));
  b.init("b", random_tensor({iw, 5}, 4));
  b.node("Conv", {"x", "w"}, {"y"},
         {Attribute::of_ints("strides", {2, 1}), Attribute::of_ints("pads", {1, 0, 1, 1}),
          Attribute::of_ints("dilations", {1, 2}), Attribute::of_int("group", groups)})
      .name = "conv";
  b.node("MatMul", {"x", "b"}, {"z"}).name = "mm";
  b.output("y");
  b.output("z");
  const Model m = b.m;
  const Batches batches = {{{"x", random_tensor({n, c, ih, iw}, 11)}},
                           {{"x", random_tensor({n, c, ih, iw}, 12)}}};
  const std::map<std::string, WeightHessian> hs =
      collect_weight_hessians(m, {"conv", "mm"}, batches_of(batches), {}, 1);
  ASSERT_EQ(hs.size(), 2u);
  const WeightHessian& h = hs.at("conv");
  const int64_t d = (c / groups) * kh * kw;
  ASSERT_EQ(h.groups, groups);
  ASSERT_EQ(h.dim, d);
  const int64_t oh = (ih + 2 - 1 * (kh - 1) - 1) / 2 + 1, ow = (iw + 1 - 2 * (kw - 1) - 1) / 1 + 1;
  EXPECT_EQ(h.count, 2 * n * oh * ow);
  std::vector<double> want(static_cast<size_t>(groups * d * d), 0.0);
  std::vector<double> p(static_cast<size_t>(d));
  for (const auto& feeds : batches) {
    const Tensor& x = feeds.at("x");
    for (int64_t gi = 0; gi < groups; ++gi)
      for (int64_t bi = 0; bi < n; ++bi)
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox) {
            for (int64_t ci = 0; ci < c / groups; ++ci)
              for (int64_t ky = 0; ky < kh; ++ky)
                for (int64_t kx = 0; kx < kw; ++kx) {
                  const int64_t y = oy * 2 - 1 + ky, xx = ox - 0 + kx * 2;
                  const int64_t ch = gi * (c / groups) + ci;
                  p[static_cast<size_t>((ci * kh + ky) * kw + kx)] =
                      y >= 0 && y < ih && xx >= 0 && xx < iw
                          ? x.data<float>()[((bi * c + ch) * ih + y) * iw + xx]
                          : 0.0;
                }
            for (int64_t a = 0; a < d; ++a)
              for (int64_t e = 0; e < d; ++e)
                want[static_cast<size_t>((gi * d + a) * d + e)] +=
                    p[static_cast<size_t>(a)] * p[static_cast<size_t>(e)];
          }
  }
  for (size_t k = 0; k < want.size(); ++k)
    EXPECT_NEAR(h.h[k], want[k], 1e-4 * (1 + std::fabs(want[k]))) << k;
  const WeightHessian& hm = hs.at("mm");
  ASSERT_EQ(hm.dim, iw);
  EXPECT_EQ(hm.count, 2 * n * c * ih);
  for (int64_t a = 0; a < iw; ++a)
    for (int64_t e = 0; e < iw; ++e) {
      double s = 0;
      for (const auto& feeds : batches) {
        const float* x = feeds.at("x").data<float>();
        for (int64_t r = 0; r < n * c * ih; ++r) s += double{x[r * iw + a]} * x[r * iw + e];
      }
      EXPECT_NEAR(hm.h[static_cast<size_t>(a * iw + e)], s, 1e-4 * (1 + std::fabs(s)));
    }
}

}  // namespace
}  // namespace nnaccel
