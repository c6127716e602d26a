// plane_sums.hpp, per Highway target (the targets of the simd kernels: simd_targets.hpp).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "train/autograd/plane_sums.cpp"
#include "kernels/simd/simd_targets.hpp"
// Keep the blank line: clang-format must not move foreach_target above simd_targets.

#include <hwy/foreach_target.h>
#include <hwy/highway.h>

#include "train/autograd/plane_sums.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnaccel::grad::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

double PlaneSum(const float* p, int64_t n64) {
  const DF d;
  const size_t n = static_cast<size_t>(n64), lanes = hn::Lanes(d);
  VF s0 = hn::Zero(d), s1 = s0;
  size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    s0 = hn::Add(s0, hn::LoadU(d, p + i));
    s1 = hn::Add(s1, hn::LoadU(d, p + i + lanes));
  }
  for (; i + lanes <= n; i += lanes) s0 = hn::Add(s0, hn::LoadU(d, p + i));
  if (i < n) s1 = hn::Add(s1, hn::MaskedLoad(hn::FirstN(d, n - i), d, p + i));
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1)));
}

double PlaneSumSqDev(const float* p, int64_t n64, float mean) {
  const DF d;
  const size_t n = static_cast<size_t>(n64), lanes = hn::Lanes(d);
  const VF m = hn::Set(d, mean);
  VF s0 = hn::Zero(d), s1 = s0;
  size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const VF a = hn::Sub(hn::LoadU(d, p + i), m), b = hn::Sub(hn::LoadU(d, p + i + lanes), m);
    s0 = hn::MulAdd(a, a, s0);
    s1 = hn::MulAdd(b, b, s1);
  }
  for (; i + lanes <= n; i += lanes) {
    const VF a = hn::Sub(hn::LoadU(d, p + i), m);
    s0 = hn::MulAdd(a, a, s0);
  }
  if (i < n) {
    const auto in = hn::FirstN(d, n - i);
    const VF a = hn::IfThenElseZero(in, hn::Sub(hn::MaskedLoad(in, d, p + i), m));
    s1 = hn::MulAdd(a, a, s1);
  }
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1)));
}

void PlaneSumGGx(const float* g, const float* x, int64_t n64, float mean, double& sum_g,
                 double& sum_gx) {
  const DF d;
  const size_t n = static_cast<size_t>(n64), lanes = hn::Lanes(d);
  const VF m = hn::Set(d, mean);
  VF sg = hn::Zero(d), sgx = sg;
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const VF gv = hn::LoadU(d, g + i);
    sg = hn::Add(sg, gv);
    sgx = hn::MulAdd(gv, hn::Sub(hn::LoadU(d, x + i), m), sgx);
  }
  if (i < n) {
    const auto in = hn::FirstN(d, n - i);
    const VF gv = hn::MaskedLoad(in, d, g + i);  // zero beyond n: adds nothing to either sum
    sg = hn::Add(sg, gv);
    sgx = hn::MulAdd(gv, hn::Sub(hn::MaskedLoad(in, d, x + i), m), sgx);
  }
  sum_g += hn::GetLane(hn::SumOfLanes(d, sg));
  sum_gx += hn::GetLane(hn::SumOfLanes(d, sgx));
}

void PlaneAffine(const float* u, float a, const float* v, float b, float c, float* out,
                 int64_t n64) {
  const DF d;
  const size_t n = static_cast<size_t>(n64), lanes = hn::Lanes(d);
  const VF av = hn::Set(d, a), bv = hn::Set(d, b), cv = hn::Set(d, c);
  size_t i = 0;
  if (v == nullptr) {
    for (; i + lanes <= n; i += lanes)
      hn::StoreU(hn::MulAdd(av, hn::LoadU(d, u + i), cv), d, out + i);
    for (; i < n; ++i) out[i] = a * u[i] + c;
  } else {
    for (; i + lanes <= n; i += lanes)
      hn::StoreU(hn::MulAdd(av, hn::LoadU(d, u + i), hn::MulAdd(bv, hn::LoadU(d, v + i), cv)), d,
                 out + i);
    for (; i < n; ++i) out[i] = a * u[i] + (b * v[i] + c);
  }
}

}  // namespace nnaccel::grad::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnaccel::grad {

HWY_EXPORT(PlaneSum);
HWY_EXPORT(PlaneSumSqDev);
HWY_EXPORT(PlaneSumGGx);
HWY_EXPORT(PlaneAffine);

double plane_sum(const float* p, int64_t n) { return HWY_DYNAMIC_DISPATCH(PlaneSum)(p, n); }

double plane_sum_sq_dev(const float* p, int64_t n, float mean) {
  return HWY_DYNAMIC_DISPATCH(PlaneSumSqDev)(p, n, mean);
}

void plane_sum_g_gx(const float* g, const float* x, int64_t n, float mean, double& sum_g,
                    double& sum_gx) {
  HWY_DYNAMIC_DISPATCH(PlaneSumGGx)(g, x, n, mean, sum_g, sum_gx);
}

void plane_affine(const float* u, float a, const float* v, float b, float c, float* out,
                  int64_t n) {
  HWY_DYNAMIC_DISPATCH(PlaneAffine)(u, a, v, b, c, out, n);
}

}  // namespace nnaccel::grad
#endif  // HWY_ONCE
