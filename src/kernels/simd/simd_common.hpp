#pragma once
// Helpers shared by the simd kernel factories: what a request's values look like.
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/kernel.hpp"
#include "kernels/simd/isa_cap.hpp"

namespace nnaccel::simd {

// Work per thread worth the fork (floats touched): 256K floats, about 0.1 ms of transcendental
// math or 1 MiB of memory traffic. Smaller, and on a loaded machine the fork costs more than it
// saves: a worker waiting for a busy core holds the whole region for a scheduler time slice
// (attention Softmax [8, 128, 128] took 8 ms split in two, 0.05 ms on one thread).
constexpr int64_t kParallelGrain = 1 << 18;

inline bool is_f32(const ValueDesc* v) {
  return v != nullptr && v->dtype == DType::f32 && v->known;
}

// A plain f32 value with at least one element.
inline bool is_plain_f32(const ValueDesc* v) {
  return is_f32(v) && v->plain() && shape_numel(v->shape) > 0;
}

// The input's constant value as one float, when it is a constant with one element.
bool constant_scalar(const KernelRequest& r, size_t input, float& value);

// The shape without its leading 1s (how numpy broadcasting sees an operand's extent).
Shape strip_leading_ones(const Shape& s);

// How an operand of shape `s` broadcasts to `out` in the elementwise engine's terms
// (EwOperand: value(i) = data[(i / inner) % k]); false when it is none of scalar, same shape,
// trailing block or per-channel block.
bool broadcast_pattern(const Shape& s, const Shape& out, int64_t& inner, int64_t& k);

// "simd <what> (AVX3)".
std::string kernel_name(const std::string& what);

}  // namespace nnaccel::simd
