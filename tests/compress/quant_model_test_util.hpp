#pragma once
// Small float models with the channel imbalance folded BatchNorm leaves in real networks, and the
// static int8 QDQ pipeline run on them, for the CLE and bias correction tests.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compress/quantize/calibrator.hpp"
#include "compress/quantize/quantize_qdq.hpp"
#include "ir/passes_test_util.hpp"

namespace nnaccel::testing {

using Batches = std::vector<std::map<std::string, Tensor>>;

// Channel factors spread over `decades` decades (log-uniform), seeded.
inline std::vector<float> channel_factors(int64_t n, uint32_t seed, double decades) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(-decades / 2, decades / 2);
  std::vector<float> f(static_cast<size_t>(n));
  for (float& v : f) v = static_cast<float>(std::pow(10.0, d(rng)));
  return f;
}

// Multiplies slice i along `axis` of the f32 tensor by f[i] (a new tensor).
inline Tensor scale_axis(const Tensor& t, int axis, const std::vector<float>& f, bool divide) {
  Tensor out = t.clone();
  int64_t inner = 1;
  for (int d = axis + 1; d < t.rank(); ++d) inner *= t.dim(d);
  const int64_t n = t.dim(axis);
  for (int64_t k = 0; k < t.numel(); ++k) {
    const float s = f[static_cast<size_t>((k / inner) % n)];
    out.data<float>()[k] = divide ? t.data<float>()[k] / s : t.data<float>()[k] * s;
  }
  return out;
}

inline Batches random_batches(const Model& m, int count, uint32_t seed) {
  Batches b;
  for (int k = 0; k < count; ++k)
    b.push_back(random_feeds(m, seed + 100 * static_cast<uint32_t>(k)));
  return b;
}

// Calibrates (min-max) on `batches` and rewrites a copy of `model` into QDQ form.
inline Model quantized_copy(const Model& model, const Batches& batches, bool per_channel) {
  QdqConfig config;
  config.per_channel = per_channel;
  Calibrator cal(model, qdq_activations(model, config), ObserverConfig{},
                 SessionOptions{.fast = false});
  for (const auto& feeds : batches) cal.observe(feeds);
  Model q = model;
  quantize_to_qdq(q, cal.ranges(), config);
  return q;
}

// 10 log10(|want|^2 / |got - want|^2) over the first outputs of all batches.
inline double output_sqnr_db(const Model& reference, const Model& tested, const Batches& batches) {
  Session a(reference, SessionOptions{.fast = false}), b(tested, SessionOptions{.fast = false});
  double signal = 0, noise = 0;
  for (const auto& feeds : batches) {
    Tensor want = a.run(feeds)[0], got = b.run(feeds)[0];
    EXPECT_EQ(want.shape(), got.shape());
    for (int64_t i = 0; i < want.numel(); ++i) {
      const double w = want.data<float>()[i], d = got.data<float>()[i] - w;
      signal += w * w;
      noise += d * d;
    }
  }
  return 10.0 * std::log10(signal / noise);
}

// |got - want| / |want| (L2) of the first output on one batch.
inline double relative_l2(const Model& reference, const Model& tested,
                          const std::map<std::string, Tensor>& feeds) {
  Tensor want = Session(reference, SessionOptions{.fast = false}).run(feeds)[0];
  Tensor got = Session(tested, SessionOptions{.fast = false}).run(feeds)[0];
  EXPECT_EQ(want.shape(), got.shape());
  double s = 0, n = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double w = want.data<float>()[i], d = got.data<float>()[i] - w;
    s += w * w;
    n += d * d;
  }
  return std::sqrt(n / s);
}

// Conv(3->16, 3x3) -> Relu -> MaxPool 2x2 -> Conv(16->24, 3x3, stride 2) -> Relu -> Flatten ->
// Gemm(24*2*2 -> 10, transB): the first conv's output channels carry factors spread over `decades`
// decades and the second conv's input channels their inverse (what folding a BatchNorm with uneven
// gammas does), so the function is that of a balanced net.
inline Model imbalanced_cnn(uint32_t seed, double decades) {
  GraphBuilder b;
  b.input("x", {2, 3, 8, 8});
  std::vector<float> f1 = channel_factors(16, seed, decades);
  std::vector<float> f2 = channel_factors(24, seed + 1, decades);
  b.init("w1", scale_axis(random_tensor({16, 3, 3, 3}, seed + 2, -0.5f, 0.5f), 0, f1, false));
  b.init("b1", scale_axis(random_tensor({16}, seed + 3, -0.1f, 0.3f), 0, f1, false));
  Tensor w2 = random_tensor({24, 16, 3, 3}, seed + 4, -0.3f, 0.3f);
  w2 = scale_axis(scale_axis(w2, 1, f1, true), 0, f2, false);
  b.init("w2", w2);
  b.init("b2", scale_axis(random_tensor({24}, seed + 5, -0.1f, 0.3f), 0, f2, false));
  // Gemm weight [10, 96]: feature j of the flattened [24, 2, 2] belongs to channel j / 4.
  std::vector<float> f2_features;
  for (float v : f2)
    for (int k = 0; k < 4; ++k) f2_features.push_back(v);
  b.init("w3", scale_axis(random_tensor({10, 96}, seed + 6, -0.3f, 0.3f), 1, f2_features, true));
  b.init("b3", random_tensor({10}, seed + 7));
  b.node("Conv", {"x", "w1", "b1"}, {"c1"}, {Attribute::of_ints("pads", {1, 1, 1, 1})});
  b.node("Relu", {"c1"}, {"r1"});
  b.node("MaxPool", {"r1"}, {"p1"},
         {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("strides", {2, 2})});
  b.node("Conv", {"p1", "w2", "b2"}, {"c2"},
         {Attribute::of_ints("pads", {1, 1, 1, 1}), Attribute::of_ints("strides", {2, 2})});
  b.node("Relu", {"c2"}, {"r2"});
  b.node("Flatten", {"r2"}, {"f"});
  b.node("Gemm", {"f", "w3", "b3"}, {"y"}, {Attribute::of_int("transB", 1)});
  b.output("y");
  return b.m;
}

}  // namespace nnaccel::testing
