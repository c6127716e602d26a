#pragma once
// The forward pass of Autograd runs the reference kernels, except f32 Conv, Gemm and MatMul,
// which go through oneDNN (the same products as their gradient rules).
#include "ops/op_registry.hpp"

namespace nnaccel::grad {

// Fills ctx.outputs and returns true when the node is one of those ops in f32 and oneDNN is
// enabled; returns false (nothing done) otherwise.
bool run_fast_forward(OpContext& ctx);

}  // namespace nnaccel::grad
