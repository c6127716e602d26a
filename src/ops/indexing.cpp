// Ops of the 'indexing' family (see ops.def): shape functions and reference kernels, split over
// indexing_gather.cpp, indexing_scatter.cpp and indexing_unique.cpp.
#include "ops/op_registry.hpp"

namespace nnaccel {

void register_indexing_gather_ops(OpRegistry& r);
void register_indexing_scatter_ops(OpRegistry& r);
void register_indexing_unique_ops(OpRegistry& r);

void register_indexing_ops(OpRegistry& r) {
  register_indexing_gather_ops(r);
  register_indexing_scatter_ops(r);
  register_indexing_unique_ops(r);
}

}  // namespace nnaccel
