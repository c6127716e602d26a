#pragma once
// Running one simd fast kernel the way the compiler does (KernelRequest -> factory -> run), and
// comparing it with the reference kernel, for the simd_*_test.cpp suites.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <random>

#include "kernels/kernel.hpp"
#include "kernels/simd/isa_cap.hpp"
#include "kernels/kernel_test_util.hpp"
#include "ops/op_test_util.hpp"

namespace nnaccel::testing {

// The node's simd factory result (see make_fast_kernel); fills `outputs` with the descs the
// factory decided.
inline std::unique_ptr<Kernel> make_simd_kernel(const Node& node, const std::vector<Tensor>& in,
                                                const std::vector<Shape>& out_shapes,
                                                std::vector<ValueDesc>& outputs,
                                                const std::vector<bool>& constant = {},
                                                const std::vector<int64_t>& blocks = {}) {
  FastKernel fk = make_fast_kernel("simd", node, in, out_shapes, constant, DType::f32, blocks);
  outputs = fk.outputs;
  return std::move(fk.kernel);
}

// Plain [N, C, ...] -> blocked [N, ceil(C/b), ..., b] with zero padding, and back.
inline Tensor to_blocked(const Tensor& t, int64_t b) {
  ValueDesc d{DType::f32, t.shape(), true, b};
  Tensor out(DType::f32, d.physical_shape());
  const int64_t n = t.shape()[0], c = t.shape()[1], inner = t.numel() / (n * c);
  const int64_t cb = (c + b - 1) / b;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t s = 0; s < inner; ++s)
        out.data<float>()[((i * cb + ch / b) * inner + s) * b + ch % b] =
            t.data<float>()[(i * c + ch) * inner + s];
  return out;
}

inline Tensor from_blocked(const Tensor& t, const Shape& logical, int64_t b) {
  Tensor out(DType::f32, logical);
  const int64_t n = logical[0], c = logical[1], inner = out.numel() / (n * c);
  const int64_t cb = (c + b - 1) / b;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t s = 0; s < inner; ++s)
        out.data<float>()[(i * c + ch) * inner + s] =
            t.data<float>()[((i * cb + ch / b) * inner + s) * b + ch % b];
  return out;
}

// |got - want| <= abs + rel * |want|, with equal infinities and NaN matching NaN.
inline void expect_close(const Tensor& got, const Tensor& want, float rel, float abs,
                         const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  int reported = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const float g = got.data<float>()[i], w = want.data<float>()[i];
    bool ok;
    if (std::isnan(w)) {
      ok = std::isnan(g);
    } else if (std::isinf(w)) {
      ok = g == w;
    } else {
      ok = std::fabs(g - w) <= abs + rel * std::fabs(w);
    }
    if (!ok && reported++ < 5)
      ADD_FAILURE() << what << " at " << i << ": got " << g << " want " << w;
  }
}

// Random floats in [lo, hi] with no exact zeros.
inline Tensor random_nonzero(const Shape& shape, uint32_t seed, float lo, float hi) {
  Tensor t = random_f32(shape, seed, lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i)
    if (t.data<float>()[i] == 0.0f) t.data<float>()[i] = 0.5f * (hi > 0 ? hi : lo);
  return t;
}

inline bool simd_on() { return simd::simd_enabled(); }

// Floats over a range wider than the grid (saturation), with exact ties of `scale` (x / scale
// = k + 0.5: round half to even), NaN and infinities sprinkled in: QuantizeLinear test inputs.
inline Tensor quantize_input(const Shape& shape, uint32_t seed, float scale) {
  Tensor x = random_f32(shape, seed, -200 * scale, 200 * scale);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const uint32_t pick = rng() % 16;
    if (pick == 0) x.data<float>()[i] = (static_cast<float>(rng() % 300) - 150.5f) * scale;
    if (pick == 1 && i % 97 == 5) x.data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
    if (pick == 2 && i % 89 == 3) x.data<float>()[i] = (i % 2 ? 1 : -1) * INFINITY;
  }
  return x;
}

}  // namespace nnaccel::testing
