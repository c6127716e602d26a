#pragma once
// The simd family's parts, each adding its KernelEntry rows; register_simd_kernels
// (simd_kernels.cpp) calls them all.
#include "kernels/kernel.hpp"

namespace nnaccel::simd {

void register_elementwise_kernels(KernelRegistry& reg);  // elementwise_kernels.cpp
void register_row_kernels(KernelRegistry& reg);          // row_kernels.cpp
void register_recurrent_kernels(KernelRegistry& reg);    // recurrent_kernels.cpp
void register_split_kernel(KernelRegistry& reg);         // split_kernel.cpp
void register_quant_kernels(KernelRegistry& reg);        // quant_kernels.cpp
void register_quant_lookup_kernel(KernelRegistry& reg);  // quant_lookup_kernel.cpp

}  // namespace nnaccel::simd
