#pragma once
// The products the Gemm, MatMul and Conv gradient rules are made of. f64 runs the accurate
// reference loops (double accumulation); f32 goes through oneDNN where it applies.
#include "nnaccel/graph.hpp"
#include "nnaccel/tensor.hpp"

namespace nnaccel::grad {

// alpha * op(a) op(b) per batch: a [..., r, c] and b [..., r', c'] with the same batch dims,
// op(x) = x^T when its flag is set. Same dtype (f32 or f64); names `node` in errors.
Tensor matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, double alpha,
              const Node& node);

// numpy matmul (1-D operands promoted, batch dims broadcast), the forward of MatMul.
Tensor matmul_numpy(const Tensor& a, const Tensor& b, const Node& node);

// t * s, a new tensor.
Tensor scaled(const Tensor& t, double s);

}  // namespace nnaccel::grad
