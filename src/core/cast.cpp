#include "core/cast.hpp"

#include <cmath>
#include <cstring>

#include "core/dtype_dispatch.hpp"

namespace nnaccel {

namespace {

// Reads element i of any supported dtype as double (exact for all ints up to 2^53) or as a
// wide integer where precision matters.

template <typename T>
T float_to(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    if (std::isnan(v)) return T(0);
    double t = std::trunc(v);
    // Out-of-range float to int is undefined in ONNX; saturate instead of invoking UB.
    if (t <= static_cast<double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
    if (t >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(t);
  }
}

}  // namespace

Tensor cast_tensor(const Tensor& src, DType to) {
  if (src.dtype() == to) return src;
  Tensor dst(to, src.shape());
  const int64_t n = src.numel();
  const DType from = src.dtype();
  const bool src_int = dtype_is_signed_int(from) || dtype_is_unsigned_int(from) || from == DType::boolean;

  // Source as float (for float sources); integer sources keep full 64-bit precision.
  auto src_f64 = [&](int64_t i) -> double {
    switch (from) {
      case DType::f16: return f16_to_f32(src.data<uint16_t>()[i]);
      case DType::bf16: return bf16_to_f32(src.data<uint16_t>()[i]);
      case DType::f32: return src.data<float>()[i];
      case DType::f64: return src.data<double>()[i];
      default: return src.at_f64(i);
    }
  };

  if (to == DType::f16 || to == DType::bf16) {
    auto* d = dst.data<uint16_t>();
    for (int64_t i = 0; i < n; ++i) {
      // Double -> float first, then to 16 bits: f64 sources round twice, as numpy does.
      float f = static_cast<float>(src_f64(i));
      d[i] = to == DType::f16 ? f32_to_f16(f) : f32_to_bf16(f);
    }
    return dst;
  }
  visit_numeric(to, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* d = dst.data<T>();
    if (src_int && !std::is_floating_point_v<T> && !std::is_same_v<T, bool>) {
      if (dtype_is_unsigned_int(from) && from == DType::u64) {
        const auto* s = src.data<uint64_t>();
        for (int64_t i = 0; i < n; ++i) d[i] = static_cast<T>(s[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) d[i] = static_cast<T>(src.at_i64(i));
      }
    } else if (src_int && std::is_same_v<T, bool>) {
      for (int64_t i = 0; i < n; ++i) d[i] = src.at_i64(i) != 0;
    } else if (src_int) {
      if (from == DType::u64) {
        const auto* s = src.data<uint64_t>();
        for (int64_t i = 0; i < n; ++i) d[i] = static_cast<T>(s[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) d[i] = static_cast<T>(src.at_i64(i));
      }
    } else {
      for (int64_t i = 0; i < n; ++i) d[i] = float_to<T>(src_f64(i));
    }
  });
  return dst;
}

}  // namespace nnaccel
