// The quantization kernels' vector code (quant_api.hpp), per Highway target. Integers are
// widened to int32 and converted to float lane by lane, so one f32 vector's worth of integers
// is processed at a time; the arithmetic is the reference kernels' operation for operation
// (correctly rounded division and multiplication, round half to even), hence bit-exact. Tails
// go through a full vector on a stack copy, so they take the same path as the body.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/quant_impl.cpp"
#include "kernels/simd/simd_targets.hpp"
// Keep the blank line: clang-format must not move foreach_target above simd_targets.

#include <hwy/foreach_target.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/simd/quant-inl.h"
#include "kernels/simd/quant_api.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnaccel::simd::HWY_NAMESPACE {

// ---- QuantizeLinear ----

template <typename T, bool kEach>
void QuantizeSpan(const float* x, T* y, int64_t count, const float* s, const float* z) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  const size_t n = static_cast<size_t>(count);
  size_t i = 0;
  if constexpr (kEach) {
    for (; i + lanes <= n; i += lanes)
      StoreAsInt(QuantizeVec<T>(hn::LoadU(df, x + i), hn::LoadU(df, s + i), hn::LoadU(df, z + i)),
                 y + i);
  } else {
    const VF vs = hn::Set(df, s[0]), vz = hn::Set(df, z[0]);
    for (; i + lanes <= n; i += lanes)
      StoreAsInt(QuantizeVec<T>(hn::LoadU(df, x + i), vs, vz), y + i);
  }
  if (i == n) return;
  alignas(64) float xb[kMaxLanes] = {}, sb[kMaxLanes], zb[kMaxLanes] = {};
  alignas(64) T yb[kMaxLanes];
  std::fill(sb, sb + kMaxLanes, 1.0f);
  const size_t rest = n - i;
  std::copy(x + i, x + n, xb);
  std::copy(kEach ? s + i : s, kEach ? s + n : s + 1, sb);
  std::copy(kEach ? z + i : z, kEach ? z + n : z + 1, zb);
  const VF vs = kEach ? hn::Load(df, sb) : hn::Set(df, s[0]);
  const VF vz = kEach ? hn::Load(df, zb) : hn::Set(df, z[0]);
  StoreAsInt(QuantizeVec<T>(hn::Load(df, xb), vs, vz), yb);
  std::copy(yb, yb + rest, y + i);
}

void QuantizeU8(const float* x, uint8_t* y, int64_t n, float scale, float zero_point) {
  QuantizeSpan<uint8_t, false>(x, y, n, &scale, &zero_point);
}
void QuantizeI8(const float* x, int8_t* y, int64_t n, float scale, float zero_point) {
  QuantizeSpan<int8_t, false>(x, y, n, &scale, &zero_point);
}
void QuantizeU8Each(const float* x, uint8_t* y, int64_t n, const float* s, const float* z) {
  QuantizeSpan<uint8_t, true>(x, y, n, s, z);
}
void QuantizeI8Each(const float* x, int8_t* y, int64_t n, const float* s, const float* z) {
  QuantizeSpan<int8_t, true>(x, y, n, s, z);
}

// ---- DequantizeLinear ----

template <typename T, bool kEach>
void DequantizeSpan(const T* x, float* y, int64_t count, const float* s, const float* z) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  const size_t n = static_cast<size_t>(count);
  size_t i = 0;
  if constexpr (kEach) {
    for (; i + lanes <= n; i += lanes)
      hn::StoreU(hn::Mul(hn::Sub(LoadAsFloat(x + i), hn::LoadU(df, z + i)), hn::LoadU(df, s + i)),
                 df, y + i);
  } else {
    const VF vs = hn::Set(df, s[0]), vz = hn::Set(df, z[0]);
    for (; i + lanes <= n; i += lanes)
      hn::StoreU(hn::Mul(hn::Sub(LoadAsFloat(x + i), vz), vs), df, y + i);
  }
  if (i == n) return;
  alignas(64) T xb[kMaxLanes] = {};
  alignas(64) float sb[kMaxLanes] = {}, zb[kMaxLanes] = {}, yb[kMaxLanes];
  const size_t rest = n - i;
  std::copy(x + i, x + n, xb);
  std::copy(kEach ? s + i : s, kEach ? s + n : s + 1, sb);
  std::copy(kEach ? z + i : z, kEach ? z + n : z + 1, zb);
  const VF vs = kEach ? hn::Load(df, sb) : hn::Set(df, s[0]);
  const VF vz = kEach ? hn::Load(df, zb) : hn::Set(df, z[0]);
  hn::Store(hn::Mul(hn::Sub(LoadAsFloat(xb), vz), vs), df, yb);
  std::copy(yb, yb + rest, y + i);
}

void DequantizeU8(const uint8_t* x, float* y, int64_t n, float scale, float zero_point) {
  DequantizeSpan<uint8_t, false>(x, y, n, &scale, &zero_point);
}
void DequantizeI8(const int8_t* x, float* y, int64_t n, float scale, float zero_point) {
  DequantizeSpan<int8_t, false>(x, y, n, &scale, &zero_point);
}
void DequantizeI32(const int32_t* x, float* y, int64_t n, float scale, float zero_point) {
  DequantizeSpan<int32_t, false>(x, y, n, &scale, &zero_point);
}
void DequantizeU8Each(const uint8_t* x, float* y, int64_t n, const float* s, const float* z) {
  DequantizeSpan<uint8_t, true>(x, y, n, s, z);
}
void DequantizeI8Each(const int8_t* x, float* y, int64_t n, const float* s, const float* z) {
  DequantizeSpan<int8_t, true>(x, y, n, s, z);
}
void DequantizeI32Each(const int32_t* x, float* y, int64_t n, const float* s, const float* z) {
  DequantizeSpan<int32_t, true>(x, y, n, s, z);
}

// ---- DynamicQuantizeLinear's range ----

void MinMax(const float* x, int64_t count, float& lo, float& hi, bool& nan) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  const size_t n = static_cast<size_t>(count);
  VF vlo = hn::Set(df, std::numeric_limits<float>::infinity());
  VF vhi = hn::Neg(vlo);
  VF bad = hn::Zero(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const VF v = hn::LoadU(df, x + i);
    bad = hn::Or(bad, hn::VecFromMask(df, hn::IsNaN(v)));
    vlo = hn::Min(vlo, v);
    vhi = hn::Max(vhi, v);
  }
  lo = hn::GetLane(hn::MinOfLanes(df, vlo));
  hi = hn::GetLane(hn::MaxOfLanes(df, vhi));
  nan = !hn::AllFalse(df, hn::MaskFromVec(bad));
  for (; i < n; ++i) {
    nan = nan || x[i] != x[i];
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
}

// ---- QAdd ----

template <typename T>
void QAddSpan(const T* a, const T* b, T* y, int64_t count, const QAddParams& p) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  const size_t n = static_cast<size_t>(count);
  const VF ka = hn::Set(df, p.ka), kb = hn::Set(df, p.kb), az = hn::Set(df, p.a_zp),
           bz = hn::Set(df, p.b_zp), yz = hn::Set(df, p.y_zp), lo = hn::Set(df, p.lo),
           hi = hn::Set(df, p.hi);
  const auto add = [&](VF va, VF vb) HWY_ATTR {
    VF v = hn::MulAdd(ka, hn::Sub(va, az), hn::Mul(kb, hn::Sub(vb, bz)));
    v = hn::Min(hn::Max(v, lo), hi);
    return Saturate<T>(hn::Add(hn::Round(v), yz));
  };
  const VF b_one = hn::Set(df, static_cast<float>(b[0]));
  size_t i = 0;
  if (p.b_each) {
    for (; i + lanes <= n; i += lanes)
      StoreAsInt(add(LoadAsFloat(a + i), LoadAsFloat(b + i)), y + i);
  } else {
    for (; i + lanes <= n; i += lanes) StoreAsInt(add(LoadAsFloat(a + i), b_one), y + i);
  }
  if (i == n) return;
  alignas(64) T ab[kMaxLanes] = {}, bb[kMaxLanes] = {}, yb[kMaxLanes];
  const size_t rest = n - i;
  std::copy(a + i, a + n, ab);
  if (p.b_each) std::copy(b + i, b + n, bb);
  StoreAsInt(add(LoadAsFloat(ab), p.b_each ? LoadAsFloat(bb) : b_one), yb);
  std::copy(yb, yb + rest, y + i);
}

void QAddU8(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddParams& p) {
  QAddSpan<uint8_t>(a, b, y, n, p);
}
void QAddI8(const int8_t* a, const int8_t* b, int8_t* y, int64_t n, const QAddParams& p) {
  QAddSpan<int8_t>(a, b, y, n, p);
}

}  // namespace nnaccel::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnaccel::simd {

HWY_EXPORT(QuantizeU8);
HWY_EXPORT(QuantizeI8);
HWY_EXPORT(QuantizeU8Each);
HWY_EXPORT(QuantizeI8Each);
HWY_EXPORT(DequantizeU8);
HWY_EXPORT(DequantizeI8);
HWY_EXPORT(DequantizeI32);
HWY_EXPORT(DequantizeU8Each);
HWY_EXPORT(DequantizeI8Each);
HWY_EXPORT(DequantizeI32Each);
HWY_EXPORT(MinMax);
HWY_EXPORT(QAddU8);
HWY_EXPORT(QAddI8);

void quantize_to_u8(const float* x, uint8_t* y, int64_t n, float scale, float zero_point) {
  HWY_DYNAMIC_DISPATCH(QuantizeU8)(x, y, n, scale, zero_point);
}
void quantize_to_i8(const float* x, int8_t* y, int64_t n, float scale, float zero_point) {
  HWY_DYNAMIC_DISPATCH(QuantizeI8)(x, y, n, scale, zero_point);
}
void quantize_to_u8_each(const float* x, uint8_t* y, int64_t n, const float* scale,
                         const float* zero_point) {
  HWY_DYNAMIC_DISPATCH(QuantizeU8Each)(x, y, n, scale, zero_point);
}
void quantize_to_i8_each(const float* x, int8_t* y, int64_t n, const float* scale,
                         const float* zero_point) {
  HWY_DYNAMIC_DISPATCH(QuantizeI8Each)(x, y, n, scale, zero_point);
}
void dequantize_u8(const uint8_t* x, float* y, int64_t n, float scale, float zero_point) {
  HWY_DYNAMIC_DISPATCH(DequantizeU8)(x, y, n, scale, zero_point);
}
void dequantize_i8(const int8_t* x, float* y, int64_t n, float scale, float zero_point) {
  HWY_DYNAMIC_DISPATCH(DequantizeI8)(x, y, n, scale, zero_point);
}
void dequantize_i32(const int32_t* x, float* y, int64_t n, float scale, float zero_point) {
  HWY_DYNAMIC_DISPATCH(DequantizeI32)(x, y, n, scale, zero_point);
}
void dequantize_u8_each(const uint8_t* x, float* y, int64_t n, const float* scale,
                        const float* zero_point) {
  HWY_DYNAMIC_DISPATCH(DequantizeU8Each)(x, y, n, scale, zero_point);
}
void dequantize_i8_each(const int8_t* x, float* y, int64_t n, const float* scale,
                        const float* zero_point) {
  HWY_DYNAMIC_DISPATCH(DequantizeI8Each)(x, y, n, scale, zero_point);
}
void dequantize_i32_each(const int32_t* x, float* y, int64_t n, const float* scale,
                         const float* zero_point) {
  HWY_DYNAMIC_DISPATCH(DequantizeI32Each)(x, y, n, scale, zero_point);
}
void min_max(const float* x, int64_t n, float& lo, float& hi, bool& nan) {
  HWY_DYNAMIC_DISPATCH(MinMax)(x, n, lo, hi, nan);
}
void qadd_u8(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddParams& p) {
  HWY_DYNAMIC_DISPATCH(QAddU8)(a, b, y, n, p);
}
void qadd_i8(const int8_t* a, const int8_t* b, int8_t* y, int64_t n, const QAddParams& p) {
  HWY_DYNAMIC_DISPATCH(QAddI8)(a, b, y, n, p);
}

}  // namespace nnaccel::simd
#endif
