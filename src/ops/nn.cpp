// Ops of the 'nn' family (see ops.def): convolution, pooling, matrix products. Each group lives
// in its own file and registers itself from here.
#include "ops/op_registry.hpp"

namespace nnaccel {

void register_nn_conv_ops(OpRegistry& r);    // nn_conv.cpp: Conv, ConvTranspose
void register_nn_pool_ops(OpRegistry& r);    // nn_pool.cpp: *Pool, MaxRoiPool, MaxUnpool
void register_nn_matmul_ops(OpRegistry& r);  // nn_matmul.cpp: Gemm, MatMul
void register_nn_einsum_ops(OpRegistry& r);  // nn_einsum.cpp: Einsum

void register_nn_ops(OpRegistry& r) {
  register_nn_conv_ops(r);
  register_nn_pool_ops(r);
  register_nn_matmul_ops(r);
  register_nn_einsum_ops(r);
}

}  // namespace nnaccel
