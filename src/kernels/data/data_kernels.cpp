// Data movement on the fast path: Concat, Slice and Resize, run as a few large copies or one
// gather per row instead of the reference kernels' per-element index arithmetic.
#include "kernels/data/data_kernels.hpp"

namespace nnaccel {

void register_data_kernels(KernelRegistry& r) {
  r.add({"", "Concat", "data", make_concat_kernel});
  r.add({"", "Slice", "data", make_slice_kernel});
  r.add({"", "Resize", "data", make_resize_kernel});
}

}  // namespace nnaccel
