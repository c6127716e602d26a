#pragma once
// Which SIMD instruction set the simd kernels use. NNACCEL_MAX_ISA=avx2|avx512|scalar caps it
// (to test the AVX2 code on an AVX-512 machine, or to force the reference kernels); unset, the
// best target Highway finds on this CPU is used.
#include <string>

namespace nnaccel::simd {

// Applies the cap (once per process) and says whether a real SIMD target (SSE4 or better) is
// left; false makes every simd factory decline so the reference kernels run.
bool simd_enabled();
// The Highway target the dispatch picks, e.g. "AVX3" or "AVX2", for kernel names.
std::string simd_target_name();

}  // namespace nnaccel::simd
