#pragma once
// Sums and affine passes over contiguous f32 runs (one channel plane of BatchNormalization) for
// the f32 fast paths, vectorized per CPU with Highway (AVX-512 or AVX2, chosen at run time; the
// build's baseline is plain x86-64). Each accumulates in f32 vector lanes, which act as
// independent partial sums over at most n / lanes elements each; the caller adds the planes'
// totals in double. A scalar `sum += x[i]` loop in double was a third of a resnet-s step.
#include <cstdint>

namespace nnaccel::grad {

// sum p[i]
double plane_sum(const float* p, int64_t n);
// sum (p[i] - mean)^2
double plane_sum_sq_dev(const float* p, int64_t n, float mean);
// Adds sum g[i] to sum_g and sum g[i] * (x[i] - mean) to sum_gx.
void plane_sum_g_gx(const float* g, const float* x, int64_t n, float mean, double& sum_g,
                    double& sum_gx);
// out[i] = a * u[i] + b * v[i] + c (v may be null: then a * u[i] + c)
void plane_affine(const float* u, float a, const float* v, float b, float c, float* out, int64_t n);

}  // namespace nnaccel::grad
