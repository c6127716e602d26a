// Ops of the 'elementwise_unary' family (see ops.def): shape functions and reference kernels.
#include "ops/op_registry.hpp"

namespace nnaccel {

void register_elementwise_unary_ops(OpRegistry& r) { (void)r; }

}  // namespace nnaccel
