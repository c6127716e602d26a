// Recurrent-cell pieces (simd_api.hpp), per Highway target: the recurrent matrix-vector product
// on a packed (k-major, padded) matrix, and the LSTM/GRU gate math.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/recurrent_impl.cpp"
#include "kernels/simd/simd_targets.hpp"
// Keep the blank line: clang-format must not move foreach_target above simd_targets.

#include <hwy/foreach_target.h>
#include <hwy/highway.h>

#include <algorithm>

#include "kernels/simd/simd_api.hpp"
#include "kernels/simd/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnaccel::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Four output vectors stay in registers while k runs: each matrix row segment is read once and
// contiguously.
void GemvPacked(const float* v, int64_t k, const float* m, int64_t n_pad, float* out) {
  const DF d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t n = 0;
  for (; n + 4 * lanes <= n_pad; n += 4 * lanes) {
    VF a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0;
    const float* row = m + n;
    for (int64_t i = 0; i < k; ++i, row += n_pad) {
      const VF s = hn::Set(d, v[i]);
      a0 = hn::MulAdd(s, hn::LoadU(d, row), a0);
      a1 = hn::MulAdd(s, hn::LoadU(d, row + lanes), a1);
      a2 = hn::MulAdd(s, hn::LoadU(d, row + 2 * lanes), a2);
      a3 = hn::MulAdd(s, hn::LoadU(d, row + 3 * lanes), a3);
    }
    hn::StoreU(a0, d, out + n);
    hn::StoreU(a1, d, out + n + lanes);
    hn::StoreU(a2, d, out + n + 2 * lanes);
    hn::StoreU(a3, d, out + n + 3 * lanes);
  }
  for (; n < n_pad; n += lanes) {  // n_pad is a multiple of the lane count
    VF a = hn::Zero(d);
    const float* row = m + n;
    for (int64_t i = 0; i < k; ++i, row += n_pad)
      a = hn::MulAdd(hn::Set(d, v[i]), hn::LoadU(d, row), a);
    hn::StoreU(a, d, out + n);
  }
}

// Calls f(j, count) over [0, hidden) in vector steps; count < lanes only for the tail.
template <class F>
HWY_INLINE void ForLanes(int64_t hidden, const F& f) {
  const DF d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t j = 0; j < hidden; j += lanes) f(j, std::min(lanes, hidden - j));
}

HWY_INLINE VF Load(DF d, const float* p, int64_t n) {
  return hn::MaskedLoad(hn::FirstN(d, static_cast<size_t>(n)), d, p);
}

HWY_INLINE void Store(DF d, VF v, float* p, int64_t n) {
  hn::BlendedStore(v, hn::FirstN(d, static_cast<size_t>(n)), d, p);
}

void LstmCell(const float* xw, const float* hr, const float* p, float* c, float* h,
              int64_t hidden) {
  const DF d;
  const int64_t H = hidden;
  ForLanes(H, [&](int64_t j, int64_t n) HWY_ATTR {
    auto pre = [&](int g) HWY_ATTR {
      return hn::Add(Load(d, xw + g * H + j, n), Load(d, hr + g * H + j, n));
    };
    const VF c0 = Load(d, c + j, n);
    const VF pi = p != nullptr ? Load(d, p + j, n) : hn::Zero(d);
    const VF po = p != nullptr ? Load(d, p + H + j, n) : hn::Zero(d);
    const VF pf = p != nullptr ? Load(d, p + 2 * H + j, n) : hn::Zero(d);
    const VF ig = Sigmoid(d, hn::MulAdd(pi, c0, pre(0)));
    const VF fg = Sigmoid(d, hn::MulAdd(pf, c0, pre(2)));
    const VF cg = hn::Tanh(d, pre(3));
    const VF c1 = hn::MulAdd(fg, c0, hn::Mul(ig, cg));
    const VF og = Sigmoid(d, hn::MulAdd(po, c1, pre(1)));
    Store(d, c1, c + j, n);
    Store(d, hn::Mul(og, hn::Tanh(d, c1)), h + j, n);
  });
}

void GruGates(const float* xw, const float* hr, const float* h, float* z, float* r, float* rh,
              int64_t hidden) {
  const DF d;
  const int64_t H = hidden;
  ForLanes(H, [&](int64_t j, int64_t n) HWY_ATTR {
    const VF zg = Sigmoid(d, hn::Add(Load(d, xw + j, n), Load(d, hr + j, n)));
    const VF rg = Sigmoid(d, hn::Add(Load(d, xw + H + j, n), Load(d, hr + H + j, n)));
    Store(d, zg, z + j, n);
    Store(d, rg, r + j, n);
    Store(d, hn::Mul(rg, Load(d, h + j, n)), rh + j, n);
  });
}

void GruUpdate(const float* xw_h, const float* rec, const float* r, const float* z, float* h,
               int64_t hidden) {
  const DF d;
  ForLanes(hidden, [&](int64_t j, int64_t n) HWY_ATTR {
    VF rv = Load(d, rec + j, n);
    if (r != nullptr) rv = hn::Mul(rv, Load(d, r + j, n));
    const VF ht = hn::Tanh(d, hn::Add(Load(d, xw_h + j, n), rv));
    const VF zg = Load(d, z + j, n);
    // (1 - z) * ht + z * h = ht + z * (h - ht)
    Store(d, hn::MulAdd(zg, hn::Sub(Load(d, h + j, n), ht), ht), h + j, n);
  });
}

}  // namespace nnaccel::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnaccel::simd {

HWY_EXPORT(GemvPacked);
HWY_EXPORT(LstmCell);
HWY_EXPORT(GruGates);
HWY_EXPORT(GruUpdate);

void gemv_packed(const float* v, int64_t k, const float* m, int64_t n_pad, float* out) {
  HWY_DYNAMIC_DISPATCH(GemvPacked)(v, k, m, n_pad, out);
}

void lstm_cell(const float* xw, const float* hr, const float* p, float* c, float* h,
               int64_t hidden) {
  HWY_DYNAMIC_DISPATCH(LstmCell)(xw, hr, p, c, h, hidden);
}

void gru_gates(const float* xw, const float* hr, const float* h, float* z, float* r, float* rh,
               int64_t hidden) {
  HWY_DYNAMIC_DISPATCH(GruGates)(xw, hr, h, z, r, rh, hidden);
}

void gru_update(const float* xw_h, const float* rec, const float* r, const float* z, float* h,
                int64_t hidden) {
  HWY_DYNAMIC_DISPATCH(GruUpdate)(xw_h, rec, r, z, h, hidden);
}

}  // namespace nnaccel::simd
#endif
