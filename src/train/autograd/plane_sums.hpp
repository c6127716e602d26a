#pragma once
// Sums over contiguous f32 runs (one channel plane of BatchNormalization) for the f32 fast paths.
// A plain `sum += x[i]` loop is a chain of dependent adds the compiler may not reorder (no
// -ffast-math), one element per add latency; sixteen independent partial sums vectorize and
// keep the adders busy. Partials are f32 over at most n / 16 elements each, the total double.
#include <cstdint>

namespace nnaccel::grad {

constexpr int kLanes = 16;

// sum p[i]
inline double plane_sum(const float* p, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += p[i + j];
  double total = 0;
  for (; i < n; ++i) total += p[i];
  for (float a : acc) total += a;
  return total;
}

// sum (p[i] - mean)^2
inline double plane_sum_sq_dev(const float* p, int64_t n, float mean) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float d = p[i + j] - mean;
      acc[j] += d * d;
    }
  double total = 0;
  for (; i < n; ++i) {
    const double d = static_cast<double>(p[i]) - mean;
    total += d * d;
  }
  for (float a : acc) total += a;
  return total;
}

// Adds sum g[i] to sum_g and sum g[i] * (x[i] - mean) to sum_gx.
inline void plane_sum_g_gx(const float* g, const float* x, int64_t n, float mean, double& sum_g,
                           double& sum_gx) {
  float ag[kLanes] = {}, agx[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      ag[j] += g[i + j];
      agx[j] += g[i + j] * (x[i + j] - mean);
    }
  for (; i < n; ++i) {
    sum_g += g[i];
    sum_gx += static_cast<double>(g[i]) * (static_cast<double>(x[i]) - mean);
  }
  for (int j = 0; j < kLanes; ++j) {
    sum_g += ag[j];
    sum_gx += agx[j];
  }
}

// out[i] = a * u[i] + b * v[i] + c (v may be null: then a * u[i] + c)
inline void plane_affine(const float* u, float a, const float* v, float b, float c, float* out,
                         int64_t n) {
  if (v == nullptr) {
    for (int64_t i = 0; i < n; ++i) out[i] = a * u[i] + c;
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = a * u[i] + b * v[i] + c;
  }
}

}  // namespace nnaccel::grad
