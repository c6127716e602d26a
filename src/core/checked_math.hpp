#pragma once
// Overflow-checked size arithmetic for sizes that come from files.
#include <cstdint>

#include "core/check.hpp"

namespace nnaccel {

inline int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) fail("size overflow in {}", what);
  return r;
}
inline int64_t checked_add(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &r)) fail("size overflow in {}", what);
  return r;
}

}  // namespace nnaccel
