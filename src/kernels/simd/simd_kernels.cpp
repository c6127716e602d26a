#include "kernels/kernel.hpp"

namespace nnaccel {

void register_simd_kernels(KernelRegistry& /*r*/) {}

}  // namespace nnaccel
