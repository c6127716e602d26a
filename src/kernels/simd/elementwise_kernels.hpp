#pragma once
#include "kernels/kernel.hpp"

namespace nnaccel::simd {

// Registered by register_simd_kernels (simd_kernels.cpp).
void register_elementwise_kernels(KernelRegistry& reg);
void register_row_kernels(KernelRegistry& reg);
void register_recurrent_kernels(KernelRegistry& reg);
void register_split_kernel(KernelRegistry& reg);

}  // namespace nnaccel::simd
