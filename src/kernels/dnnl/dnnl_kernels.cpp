#include "kernels/kernel.hpp"

namespace nnaccel {

void register_dnnl_kernels(KernelRegistry& /*r*/) {}

}  // namespace nnaccel
