// Ops of the 'elementwise_binary' family (see ops.def): shape functions and reference kernels.
#include "ops/op_registry.hpp"

namespace nnaccel {

void register_elementwise_binary_ops(OpRegistry& r) { (void)r; }

}  // namespace nnaccel
