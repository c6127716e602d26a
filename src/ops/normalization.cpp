// Ops of the 'normalization' family (see ops.def): shape functions and reference kernels.
#include "ops/op_registry.hpp"

namespace nnaccel {

void register_normalization_ops(OpRegistry& r) { (void)r; }

}  // namespace nnaccel
