#pragma once
// Included first by every Highway translation unit of the simd kernels: the targets compiled.
// AVX-512 (AVX3) and AVX2 cover the machines we run on; SSSE3/SSE4 would only add build time,
// and below AVX2 isa_cap.cpp makes the kernels decline (the static baseline is still built, as
// Highway requires, but never chosen).
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4)
#endif
