#pragma once
// The f32 products of training through oneDNN (plain row-major layouts): convolution forward,
// backward data and backward weights, and (batched) matrix products. f64 never comes here: it
// stays on the reference loops, which the f32 results are tested against.
#include "ops/nn_common.hpp"

namespace nnaccel::grad {

// Whether the f32 Conv, Gemm and MatMul of Autograd (forward and gradients) go through oneDNN
// (default true); false runs the reference loops (for comparisons and measurements).
void set_dnnl_enabled(bool enabled);
bool dnnl_enabled();

// y = conv(x, w) + b (b may be null) for an f32 Conv with the resolved window. Returns false
// when oneDNN does not take it (rank above 3 spatial dims, padding it cannot express); the
// caller then uses the reference.
bool conv_forward_dnnl(const Tensor& x, const Tensor& w, const Tensor* b, int64_t group,
                       const nn::Window& win, Tensor& y);

// d x and/or d w (null: not wanted) of an f32 Conv; same contract.
bool conv_backward_dnnl(const Tensor& x, const Tensor& w, const Tensor& dy, int64_t group,
                        const nn::Window& win, Tensor* dx, Tensor* dw);

// y[b] = alpha * op(a[b]) op(b[b]) over `batch` matrices: a is [batch, m, k] (or [batch, k, m]
// when trans_a), b [batch, k, n] (or [batch, n, k]), y [batch, m, n]; all f32 row-major.
void matmul_dnnl(const float* a, bool trans_a, const float* b, bool trans_b, float* y,
                 int64_t batch, int64_t m, int64_t k, int64_t n, float alpha);

}  // namespace nnaccel::grad
