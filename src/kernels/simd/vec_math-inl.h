// Vector math for the simd kernels, per Highway target (re-included by foreach_target). Wraps
// hwy/contrib/math where it has the function, adding the edges the reference (libm) has and
// Highway's valid ranges leave out; Erf is ours.
#if defined(NNACCEL_SIMD_VEC_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNACCEL_SIMD_VEC_MATH_INL_H_
#undef NNACCEL_SIMD_VEC_MATH_INL_H_
#else
#define NNACCEL_SIMD_VEC_MATH_INL_H_
#endif

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <limits>

HWY_BEFORE_NAMESPACE();
namespace nnaccel::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// NaN in, NaN out, as libm (the range reductions below can turn NaN into a number).
template <class V>
HWY_INLINE V KeepNaN(V x, V y) {
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}

// e^x over all floats: Highway's Exp is valid up to 104 but overflows to garbage above ~88.7,
// and maps NaN to 0.
template <class D, class V>
HWY_INLINE V ExpFull(D d, V x) {
  const V limit = hn::Set(d, 88.72283935546875f);  // e^limit rounds to FLT_MAX
  const V y = hn::Exp(d, hn::Min(x, limit));
  const V big =
      hn::IfThenElse(hn::Gt(x, limit), hn::Set(d, std::numeric_limits<float>::infinity()), y);
  return hn::IfThenElse(hn::IsNaN(x), x, big);
}

// log(x) with libm's edges: -inf at 0, NaN below 0 and for NaN, +inf at +inf.
template <class D, class V>
HWY_INLINE V LogFull(D d, V x) {
  const V zero = hn::Zero(d);
  const V inf = hn::Set(d, std::numeric_limits<float>::infinity());
  V y = hn::Log(d, x);
  y = hn::IfThenElse(hn::Eq(x, zero), hn::Neg(inf), y);
  y = hn::IfThenElse(hn::Eq(x, inf), inf, y);
  const auto bad = hn::Or(hn::Lt(x, zero), hn::IsNaN(x));
  return hn::IfThenElse(bad, hn::Set(d, std::numeric_limits<float>::quiet_NaN()), y);
}

// erf(x). |x| < 0.5: the Maclaurin series to x^13 (truncation < 1e-9 relative, so erf keeps its
// relative accuracy near 0). Beyond: Abramowitz & Stegun 7.1.26,
// 1 - t(a1 + t(a2 + ...)) e^{-x^2} with t = 1 / (1 + p|x|), absolute error < 1.5e-7 where
// |erf| > 0.52.
template <class D, class V>
HWY_INLINE V Erf(D d, V x) {
  const V ax = hn::Abs(x);
  const V x2 = hn::Mul(x, x);
  // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320 + x^13/9360)
  V s = hn::Set(d, 1.0f / 9360.0f);
  s = hn::MulAdd(s, x2, hn::Set(d, -1.0f / 1320.0f));
  s = hn::MulAdd(s, x2, hn::Set(d, 1.0f / 216.0f));
  s = hn::MulAdd(s, x2, hn::Set(d, -1.0f / 42.0f));
  s = hn::MulAdd(s, x2, hn::Set(d, 1.0f / 10.0f));
  s = hn::MulAdd(s, x2, hn::Set(d, -1.0f / 3.0f));
  s = hn::MulAdd(s, x2, hn::Set(d, 1.0f));
  const V small = hn::Mul(hn::Mul(s, x), hn::Set(d, 1.1283791670955126f));

  const V one = hn::Set(d, 1.0f);
  const V t = hn::Div(one, hn::MulAdd(hn::Set(d, 0.3275911f), ax, one));
  V p = hn::Set(d, 1.061405429f);
  p = hn::MulAdd(p, t, hn::Set(d, -1.453152027f));
  p = hn::MulAdd(p, t, hn::Set(d, 1.421413741f));
  p = hn::MulAdd(p, t, hn::Set(d, -0.284496736f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.254829592f));
  p = hn::Mul(p, t);
  const V e = hn::Exp(d, hn::Neg(hn::Min(hn::Mul(ax, ax), hn::Set(d, 100.0f))));
  const V big = hn::CopySignToAbs(hn::NegMulAdd(p, e, one), x);
  return KeepNaN(x, hn::IfThenElse(hn::Lt(ax, hn::Set(d, 0.5f)), small, big));
}

// 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below, as the reference: e^-|x| is at most 1
// (no overflow), and no 1 - p cancellation for very negative x.
template <class D, class V>
HWY_INLINE V Sigmoid(D d, V x) {
  const V one = hn::Set(d, 1.0f);
  const V e = hn::Exp(d, hn::Neg(hn::Abs(x)));
  const V r = hn::Div(one, hn::Add(one, e));
  return KeepNaN(x, hn::IfThenElse(hn::Lt(x, hn::Zero(d)), hn::Mul(e, r), r));
}

template <class D, class V>
HWY_INLINE V TanhFull(D d, V x) {
  return KeepNaN(x, hn::Tanh(d, x));
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|).
template <class D, class V>
HWY_INLINE V Softplus(D d, V x) {
  return hn::Add(hn::Max(x, hn::Zero(d)), hn::Log1p(d, hn::Exp(d, hn::Neg(hn::Abs(x)))));
}

template <class D, class V>
HWY_INLINE V Clamp01(D d, V x) {
  return hn::Min(hn::Max(x, hn::Zero(d)), hn::Set(d, 1.0f));
}

// min(max(x, lo), hi) as ONNX Clip: hi everywhere when lo > hi, and NaN stays NaN (x86's
// max/min return their second operand when one is NaN).
template <class D, class V>
HWY_INLINE V Clip(D d, V x, float lo, float hi) {
  return hn::Min(hn::Set(d, hi), hn::Max(hn::Set(d, lo), x));
}

template <class D, class V>
HWY_INLINE V Gelu(D d, V x) {
  const V half_x = hn::Mul(x, hn::Set(d, 0.5f));
  return hn::MulAdd(half_x, Erf(d, hn::Mul(x, hn::Set(d, 0.70710678118654752f))), half_x);
}

template <class D, class V>
HWY_INLINE V GeluTanh(D d, V x) {
  const V half_x = hn::Mul(x, hn::Set(d, 0.5f));
  const V x3 = hn::Mul(hn::Mul(x, x), x);
  const V inner =
      hn::Mul(hn::Set(d, 0.79788456080286536f), hn::MulAdd(hn::Set(d, 0.044715f), x3, x));
  return hn::MulAdd(half_x, hn::Tanh(d, inner), half_x);
}

}  // namespace nnaccel::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
