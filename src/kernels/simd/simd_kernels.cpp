#include "kernels/kernel.hpp"
#include "kernels/simd/simd_registration.hpp"

namespace nnaccel {

void register_simd_kernels(KernelRegistry& r) {
  simd::register_elementwise_kernels(r);
  simd::register_row_kernels(r);
  simd::register_recurrent_kernels(r);
  simd::register_split_kernel(r);
  simd::register_quant_kernels(r);
  simd::register_quant_lookup_kernel(r);
}

}  // namespace nnaccel
