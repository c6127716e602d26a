// The quantization kernels' per-lane arithmetic, per Highway target (re-included by foreach_target
// from quant_impl.cpp and quant_layout_impl.cpp): integers widened to int32 and converted to float
// lane by lane, the reference kernels' operations in the same order.
#if defined(NNACCEL_SIMD_QUANT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNACCEL_SIMD_QUANT_INL_H_
#undef NNACCEL_SIMD_QUANT_INL_H_
#else
#define NNACCEL_SIMD_QUANT_INL_H_
#endif

#include <hwy/highway.h>

#include <cstdint>
#include <limits>
#include <type_traits>

HWY_BEFORE_NAMESPACE();
namespace nnaccel::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;
constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);

// The helpers take the float tag D (a full or capped vector); the DF forms are the full one.
template <class D, typename T>
HWY_INLINE hn::Vec<D> LoadAsFloat(D df, const T* p) {
  const hn::RebindToSigned<D> di;
  if constexpr (std::is_same_v<T, int32_t>) {
    return hn::ConvertTo(df, hn::LoadU(di, p));
  } else {
    const hn::Rebind<T, D> dt;
    return hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(dt, p)));
  }
}
template <typename T>
HWY_INLINE VF LoadAsFloat(const T* p) {
  return LoadAsFloat(DF(), p);
}

// r holds integers within T's range.
template <class D, typename T>
HWY_INLINE void StoreAsInt(D, hn::Vec<D> r, T* p) {
  const hn::RebindToSigned<D> di;
  const hn::Rebind<T, D> dt;
  hn::StoreU(hn::DemoteTo(dt, hn::ConvertTo(di, r)), dt, p);
}
template <typename T>
HWY_INLINE void StoreAsInt(VF r, T* p) {
  StoreAsInt(DF(), r, p);
}

template <typename T, class V>
HWY_INLINE V Saturate(V r) {
  const hn::DFromV<V> df;
  r = hn::IfThenZeroElse(hn::IsNaN(r), r);  // as round_saturate: NaN -> 0
  r = hn::Max(r, hn::Set(df, static_cast<float>(std::numeric_limits<T>::min())));
  return hn::Min(r, hn::Set(df, static_cast<float>(std::numeric_limits<T>::max())));
}

// QuantizeLinear: divide (not multiply by a reciprocal), round half to even, add the zero point.
template <typename T, class V>
HWY_INLINE V QuantizeVec(V x, V s, V z) {
  return Saturate<T>(hn::Add(hn::Round(hn::Div(x, s)), z));
}

// DequantizeLinear: (x - zp) * scale in float.
template <class V>
HWY_INLINE V DequantizeVec(V x, V s, V z) {
  return hn::Mul(hn::Sub(x, z), s);
}

}  // namespace nnaccel::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif
