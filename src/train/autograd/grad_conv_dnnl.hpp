#pragma once
// oneDNN's f32 convolution backward (data and weights) for the Conv gradient rule.
#include "ops/nn_common.hpp"

namespace nnaccel::grad {

// Computes d x and/or d w (null: not wanted) of an f32 Conv with the resolved window; returns
// false when oneDNN does not take this convolution (the caller falls back to the reference).
bool conv_backward_dnnl(const Tensor& x, const Tensor& w, const Tensor& dy, int64_t group,
                        const nn::Window& win, Tensor* dx, Tensor* dw);

}  // namespace nnaccel::grad
