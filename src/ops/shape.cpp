// Ops of the 'shape' family (see ops.def): shape functions and reference kernels, split by kind
// over shape_basic.cpp, shape_reshape.cpp, shape_layout.cpp and shape_pad.cpp.
#include "ops/op_registry.hpp"

namespace nnaccel {

void register_shape_basic_ops(OpRegistry& r);
void register_shape_reshape_ops(OpRegistry& r);
void register_shape_layout_ops(OpRegistry& r);

void register_shape_ops(OpRegistry& r) {
  register_shape_basic_ops(r);
  register_shape_reshape_ops(r);
  register_shape_layout_ops(r);
}

}  // namespace nnaccel
