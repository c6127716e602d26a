#pragma once
// Calling a generic lambda with the C++ element type of a DType. Kernels write one template and
// dispatch once per call, never per element.
#include <cstdint>
#include <type_traits>

#include "core/check.hpp"
#include "nnaccel/dtype.hpp"

namespace nnaccel {

template <typename T>
struct Tag {
  using type = T;
};

// f16 and bf16 are not included: reference kernels compute them in float (cast_tensor).
template <typename F>
decltype(auto) visit_numeric(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f(Tag<float>{});
    case DType::f64: return f(Tag<double>{});
    case DType::i8: return f(Tag<int8_t>{});
    case DType::u8: return f(Tag<uint8_t>{});
    case DType::i16: return f(Tag<int16_t>{});
    case DType::u16: return f(Tag<uint16_t>{});
    case DType::i32: return f(Tag<int32_t>{});
    case DType::u32: return f(Tag<uint32_t>{});
    case DType::i64: return f(Tag<int64_t>{});
    case DType::u64: return f(Tag<uint64_t>{});
    case DType::boolean: return f(Tag<bool>{});
    default: fail("unsupported element type {}", dtype_name(t));
  }
}

// Copying elements without arithmetic (gather, slice, transpose): dispatch on the element size.
template <typename F>
decltype(auto) visit_by_size(DType t, F&& f) {
  switch (dtype_bits(t)) {
    case 8: return f(Tag<uint8_t>{});
    case 16: return f(Tag<uint16_t>{});
    case 32: return f(Tag<uint32_t>{});
    case 64: return f(Tag<uint64_t>{});
    default: fail("unsupported element type {}", dtype_name(t));
  }
}

template <typename T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::f32;
  else if constexpr (std::is_same_v<T, double>) return DType::f64;
  else if constexpr (std::is_same_v<T, int8_t>) return DType::i8;
  else if constexpr (std::is_same_v<T, uint8_t>) return DType::u8;
  else if constexpr (std::is_same_v<T, int16_t>) return DType::i16;
  else if constexpr (std::is_same_v<T, uint16_t>) return DType::u16;
  else if constexpr (std::is_same_v<T, int32_t>) return DType::i32;
  else if constexpr (std::is_same_v<T, uint32_t>) return DType::u32;
  else if constexpr (std::is_same_v<T, int64_t>) return DType::i64;
  else if constexpr (std::is_same_v<T, uint64_t>) return DType::u64;
  else if constexpr (std::is_same_v<T, bool>) return DType::boolean;
  else return DType::undefined;
}

}  // namespace nnaccel
