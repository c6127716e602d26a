#pragma once
// The forward pass of Autograd runs the reference kernels, except in f32: Conv, Gemm and MatMul
// go through oneDNN (the same products as their gradient rules), MaxPool and AveragePool run
// plane by plane over windows resolved once (pool_plan.hpp).
#include "ops/op_registry.hpp"

namespace nnaccel::grad {

// Fills ctx.outputs and returns true when the node is one of those ops in f32 and the fast
// path is enabled (dnnl_enabled()); returns false (nothing done) otherwise.
bool run_fast_forward(OpContext& ctx);

}  // namespace nnaccel::grad
