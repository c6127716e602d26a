// Quantization parameters and calibration observers: hand-computed values, and on random data
// the properties each method promises.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compress/quantize/calibration_observer.hpp"
#include "nnaccel/error.hpp"

namespace nnaccel {
namespace {

TEST(QParams, AsymmetricU8CoversTheRangeAndZeroIsExact) {
  AffineQuant q = choose_qparams({-1.0f, 3.0f}, DType::u8, false);
  EXPECT_FLOAT_EQ(q.scale, 4.0f / 255.0f);
  EXPECT_EQ(q.zero_point, 64);  // round(63.75)
  EXPECT_EQ(quantize_value(0.0f, q), 64);
  EXPECT_EQ(quantize_value(-5.0f, q), 0);
  EXPECT_EQ(quantize_value(5.0f, q), 255);
  // A range that excludes 0 is widened to include it.
  AffineQuant pos = choose_qparams({2.0f, 4.0f}, DType::u8, false);
  EXPECT_EQ(pos.zero_point, 0);
  EXPECT_FLOAT_EQ(pos.scale, 4.0f / 255.0f);
}

TEST(QParams, SymmetricGridsAndRoundingHalfToEven) {
  AffineQuant s8 = choose_qparams({-2.0f, 1.0f}, DType::i8, true);
  EXPECT_FLOAT_EQ(s8.scale, 2.0f / 127.0f);
  EXPECT_EQ(s8.zero_point, 0);
  EXPECT_EQ(s8.qmin, -127);
  EXPECT_EQ(quantize_value(-100.0f, s8), -127);
  AffineQuant u8 = choose_qparams({-2.0f, 1.0f}, DType::u8, true);
  EXPECT_EQ(u8.zero_point, 128);
  EXPECT_FLOAT_EQ(u8.scale, 4.0f / 255.0f);
  AffineQuant unit{1.0f, 0, -128, 127};
  EXPECT_EQ(quantize_value(2.5f, unit), 2);
  EXPECT_EQ(quantize_value(3.5f, unit), 4);
  EXPECT_EQ(quantize_value(-2.5f, unit), -2);
  EXPECT_FLOAT_EQ(dequantize_value(-3, s8), -6.0f / 127.0f);
  EXPECT_THROW(choose_qparams({0.0f, INFINITY}, DType::u8, false), Error);
  EXPECT_THROW(choose_qparams({0.0f, 1.0f}, DType::f32, false), Error);
}

std::vector<float> normal(int n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

// Mean squared error of fake-quantizing `v` with the grid chosen for range `r`.
double quant_mse(const std::vector<float>& v, QuantRange r, DType qtype, bool symmetric) {
  AffineQuant q = choose_qparams(r, qtype, symmetric);
  double e = 0;
  for (float x : v) {
    double d = x - dequantize_value(quantize_value(x, q), q);
    e += d * d;
  }
  return e / static_cast<double>(v.size());
}

TEST(CalibrationObserver, MinMaxAndMovingAverage) {
  ObserverConfig c;
  CalibrationObserver mm(c);
  c.method = CalibrationMethod::moving_average;
  c.momentum = 0.5;
  CalibrationObserver avg(c);
  const std::vector<float> a = {-1, 2, 0.5f}, b = {-3, 1, 0};
  for (auto* o : {&mm, &avg}) {
    o->observe(a.data(), 3);
    o->observe(b.data(), 3);
  }
  EXPECT_FLOAT_EQ(mm.range().min, -3);
  EXPECT_FLOAT_EQ(mm.range().max, 2);
  EXPECT_FLOAT_EQ(avg.range().min, -2);   // -1 + 0.5 * (-3 - -1)
  EXPECT_FLOAT_EQ(avg.range().max, 1.5);  // 2 + 0.5 * (1 - 2)
  CalibrationObserver none;
  EXPECT_THROW(none.range(), Error);
  float nan = NAN;
  EXPECT_THROW(mm.observe(&nan, 1), Error);
}

TEST(CalibrationObserver, PercentileIgnoresRareOutliersAcrossAGrowingHistogram) {
  ObserverConfig c;
  c.method = CalibrationMethod::percentile;
  c.percentile = 99.9;
  CalibrationObserver o(c);
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<float> v(5000);
    for (float& x : v) x = u(rng);
    if (batch == 10) v[7] = 100.0f;  // the histogram range doubles 7 times here
    o.observe(v.data(), static_cast<int64_t>(v.size()));
  }
  QuantRange r = o.range();
  // 0.1% of a uniform [-1, 1) lies beyond +-0.998; the bins are 200/2048 wide after growing.
  EXPECT_NEAR(r.max, 0.998, 0.1);
  EXPECT_NEAR(r.min, -0.998, 0.1);
}

TEST(CalibrationObserver, MseFindsANearOptimalClipAndEntropyClipsOutliers) {
  std::vector<float> v = normal(100000, 9);
  for (int i = 0; i < 20; ++i) v[static_cast<size_t>(i * 997)] = 12.0f + static_cast<float>(i);
  for (bool symmetric : {false, true}) {
    DType qtype = symmetric ? DType::i8 : DType::u8;
    auto calibrate = [&](CalibrationMethod m) {
      ObserverConfig c;
      c.method = m;
      c.qtype = qtype;
      c.symmetric = symmetric;
      CalibrationObserver o(c);
      for (size_t i = 0; i < v.size(); i += 10000) o.observe(v.data() + i, 10000);
      return o.range();
    };
    QuantRange minmax = calibrate(CalibrationMethod::minmax);
    QuantRange mse = calibrate(CalibrationMethod::mse);
    QuantRange entropy = calibrate(CalibrationMethod::entropy);
    EXPECT_FLOAT_EQ(minmax.max, 31.0f);
    // The best clip found by measuring the error of 200 clips directly on the data.
    double best = INFINITY;
    for (int k = 1; k <= 200; ++k) {
      float t = 31.0f * static_cast<float>(k) / 200.0f;
      best = std::min(best, quant_mse(v, {std::max(minmax.min, -t), t}, qtype, symmetric));
    }
    const double got = quant_mse(v, mse, qtype, symmetric);
    EXPECT_LT(got, quant_mse(v, minmax, qtype, symmetric)) << "symmetric " << symmetric;
    EXPECT_LT(got, 1.1 * best) << "symmetric " << symmetric;
    EXPECT_LT(mse.max, 31.0f);
    // KL calibration keeps the bulk of the Gaussian and drops the rare outliers.
    EXPECT_LT(entropy.max, 10.0f) << "symmetric " << symmetric;
    EXPECT_GT(entropy.max, 2.0f) << "symmetric " << symmetric;
  }
}

// A HardSwish-like output (a small negative side, a long positive tail): on an asymmetric u8 grid
// the levels over [0, T] are nearly all 256, not half, so KL calibration clips less than for a
// symmetric grid, and its range quantizes the data with less error than the symmetric-levels
// threshold would (measured: max 10.8 against 5.4, error 0.05x).
TEST(CalibrationObserver, EntropyCountsTheLevelsOfAnAsymmetricGrid) {
  std::vector<float> v = normal(100000, 21);
  for (float& x : v) x = x > 0 ? x * x : std::max(-0.1f, x * 0.1f);
  auto calibrate = [&](bool symmetric) {
    ObserverConfig c;
    c.method = CalibrationMethod::entropy;
    c.qtype = DType::u8;
    c.symmetric = symmetric;
    CalibrationObserver o(c);
    for (size_t i = 0; i < v.size(); i += 10000) o.observe(v.data() + i, 10000);
    return o.range();
  };
  const QuantRange asym = calibrate(false), sym = calibrate(true);
  EXPECT_GE(asym.min, -0.1f);
  EXPECT_GT(asym.max, 1.3f * sym.max);
  EXPECT_LT(quant_mse(v, asym, DType::u8, false),
            0.5 * quant_mse(v, {asym.min, sym.max}, DType::u8, false));
}

TEST(CalibrationObserver, ResumingFromSavedStateGivesTheSameRange) {
  for (CalibrationMethod m : {CalibrationMethod::moving_average, CalibrationMethod::percentile,
                              CalibrationMethod::mse, CalibrationMethod::entropy}) {
    ObserverConfig c;
    c.method = m;
    CalibrationObserver straight(c), first(c);
    std::vector<std::vector<float>> batches;
    for (uint32_t b = 0; b < 6; ++b) batches.push_back(normal(3000, 50 + b, 1.0f + b));
    for (auto& v : batches) straight.observe(v.data(), 3000);
    for (size_t b = 0; b < 3; ++b) first.observe(batches[b].data(), 3000);
    CalibrationObserver resumed = CalibrationObserver::load(first.save());
    for (size_t b = 3; b < 6; ++b) resumed.observe(batches[b].data(), 3000);
    EXPECT_EQ(straight.range().min, resumed.range().min) << calibration_method_name(m);
    EXPECT_EQ(straight.range().max, resumed.range().max) << calibration_method_name(m);
    // Bounded memory: the state holds the histogram, not the values.
    EXPECT_LT(straight.save().size(), 2048u * 26 + 400);
  }
  EXPECT_THROW(CalibrationObserver::load("nnaccel-observer 1 3 99"), Error);
  EXPECT_THROW(CalibrationObserver::load("garbage"), Error);
  EXPECT_THROW(calibration_method_from_name("kl"), Error);
  EXPECT_EQ(calibration_method_from_name("entropy"), CalibrationMethod::entropy);
}

}  // namespace
}  // namespace nnaccel
