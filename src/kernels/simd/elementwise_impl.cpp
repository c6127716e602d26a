// The elementwise program evaluator (simd_api.hpp), per Highway target. The output is walked in
// segments over which every operand is either a contiguous run or one value; a segment is cut
// into chunks that stay in L1, and the steps run one after the other over a chunk of y: memory
// is read and written once whatever the number of steps, and the switch on the step's op runs
// once per chunk, not per vector.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/elementwise_impl.cpp"
#include "kernels/simd/simd_targets.hpp"
// Keep the blank line: clang-format must not move foreach_target above simd_targets.

#include <hwy/foreach_target.h>
#include <hwy/highway.h>

#include <algorithm>
#include <limits>

#include "kernels/simd/simd_api.hpp"
#include "kernels/simd/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnaccel::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

constexpr int64_t kChunk = 2048;  // floats: 8 KiB of y per chunk

// Lanes of a periodic operand: a block of 8 or 16 channels repeats along the run, and both
// divide this (so do the vector widths), so operand element j of a chunk is at pattern[j % 16].
constexpr size_t kPeriod = 16;

// How a step sees its operand over one chunk: contiguous values (ptr, periodic false), a
// pattern repeating every kPeriod elements (ptr, periodic true; 2 * kPeriod floats), or one
// value (ptr null).
struct OperandView {
  const float* ptr = nullptr;
  float value = 0.0f;
  bool periodic = false;
};

// dst[j] = f(src[j], operand j).
template <class F>
HWY_INLINE void MapChunk(const float* src, float* dst, size_t n, const OperandView& o_view,
                         const F& f) {
  const DF d;
  const size_t lanes = hn::Lanes(d);
  const float* o_ptr = o_view.ptr;
  size_t j = 0;
  if (o_ptr != nullptr && !o_view.periodic) {
    for (; j + lanes <= n; j += lanes)
      hn::StoreU(f(d, hn::LoadU(d, src + j), hn::LoadU(d, o_ptr + j)), d, dst + j);
  } else if (o_ptr != nullptr) {
    for (; j + lanes <= n; j += lanes)
      hn::StoreU(f(d, hn::LoadU(d, src + j), hn::LoadU(d, o_ptr + j % kPeriod)), d, dst + j);
  } else {
    const VF o = hn::Set(d, o_view.value);
    for (; j + 2 * lanes <= n; j += 2 * lanes) {
      const VF a = f(d, hn::LoadU(d, src + j), o);
      const VF b = f(d, hn::LoadU(d, src + j + lanes), o);
      hn::StoreU(a, d, dst + j);
      hn::StoreU(b, d, dst + j + lanes);
    }
    for (; j + lanes <= n; j += lanes) hn::StoreU(f(d, hn::LoadU(d, src + j), o), d, dst + j);
  }
  if (j < n) {
    const auto m = hn::FirstN(d, n - j);
    const VF v = hn::MaskedLoad(m, d, src + j);
    VF o = hn::Set(d, o_view.value);
    if (o_ptr != nullptr) o = hn::MaskedLoad(m, d, o_ptr + (o_view.periodic ? j % kPeriod : j));
    hn::BlendedStore(f(d, v, o), m, d, dst + j);
  }
}

// NaN in either operand gives NaN, as the reference's Max/Min (numpy's maximum/minimum).
HWY_INLINE VF PropagateNaN(VF x, VF o, VF r) {
  return hn::IfThenElse(hn::Or(hn::IsNaN(x), hn::IsNaN(o)), hn::Add(x, o), r);
}

void ApplyStep(const EwStep& s, const float* src, float* dst, size_t n, const OperandView& o_view) {
  const float p0 = s.p0, p1 = s.p1;
  // Each case instantiates MapChunk with its own lambda: the op is known inside the loop.
#define NNA_MAP(expr)                                            \
  MapChunk(src, dst, n, o_view, [&](DF d, VF x, VF o) HWY_ATTR { \
    (void)d;                                                     \
    (void)o;                                                     \
    return (expr);                                               \
  })
  switch (s.op) {
    case ChainOp::relu:
      NNA_MAP(hn::IfThenZeroElse(hn::Lt(x, hn::Zero(d)), x));
      break;
    case ChainOp::sigmoid:
      NNA_MAP(Sigmoid(d, x));
      break;
    case ChainOp::tanh:
      NNA_MAP(TanhFull(d, x));
      break;
    case ChainOp::exp:
      NNA_MAP(ExpFull(d, x));
      break;
    case ChainOp::log:
      NNA_MAP(LogFull(d, x));
      break;
    case ChainOp::neg:
      NNA_MAP(hn::Neg(x));
      break;
    case ChainOp::abs:
      NNA_MAP(hn::Abs(x));
      break;
    case ChainOp::sqrt:
      NNA_MAP(hn::Sqrt(x));
      break;
    case ChainOp::reciprocal:
      NNA_MAP(hn::Div(hn::Set(d, 1.0f), x));
      break;
    case ChainOp::erf:
      NNA_MAP(Erf(d, x));
      break;
    case ChainOp::hard_swish:
      NNA_MAP(hn::Mul(x, Clamp01(d, hn::MulAdd(x, hn::Set(d, 1.0f / 6.0f), hn::Set(d, 0.5f)))));
      break;
    case ChainOp::softplus:
      NNA_MAP(Softplus(d, x));
      break;
    case ChainOp::gelu:
      NNA_MAP(Gelu(d, x));
      break;
    case ChainOp::gelu_tanh:
      NNA_MAP(GeluTanh(d, x));
      break;
    case ChainOp::clip:
      NNA_MAP(Clip(d, x, p0, p1));
      break;
    case ChainOp::leaky_relu:
      NNA_MAP(hn::IfThenElse(hn::Lt(x, hn::Zero(d)), hn::Mul(x, hn::Set(d, p0)), x));
      break;
    case ChainOp::hard_sigmoid:
      NNA_MAP(Clamp01(d, hn::MulAdd(x, hn::Set(d, p0), hn::Set(d, p1))));
      break;
    case ChainOp::elu:
      NNA_MAP(hn::IfThenElse(hn::Lt(x, hn::Zero(d)), hn::Mul(hn::Set(d, p0), hn::Expm1(d, x)), x));
      break;
    case ChainOp::add:
      NNA_MAP(hn::Add(x, o));
      break;
    case ChainOp::sub:
      NNA_MAP(hn::Sub(x, o));
      break;
    case ChainOp::mul:
      NNA_MAP(hn::Mul(x, o));
      break;
    case ChainOp::div:
      NNA_MAP(hn::Div(x, o));
      break;
    case ChainOp::max:
      NNA_MAP(PropagateNaN(x, o, hn::Max(x, o)));
      break;
    case ChainOp::min:
      NNA_MAP(PropagateNaN(x, o, hn::Min(x, o)));
      break;
    case ChainOp::rsub:
      NNA_MAP(hn::Sub(o, x));
      break;
    case ChainOp::rdiv:
      NNA_MAP(hn::Div(o, x));
      break;
    case ChainOp::pow:
      // Only the unary forms reach here (factories decline the others).
      if (p0 == 2.0f) {
        NNA_MAP(hn::Mul(x, x));
      } else {
        NNA_MAP(hn::Sqrt(x));
      }
      break;
    case ChainOp::rpow:
      break;  // declined by the factories
  }
#undef NNA_MAP
}

void EvalElementwise(const EwProgram& p, int64_t begin, int64_t end) {
  const size_t num_operands = p.operands.size();
  OperandView views[8];
  alignas(64) float patterns[8][2 * kPeriod];
  int64_t i = begin;
  while (i < end) {
    int64_t seg_end = std::min(end, i + kChunk);
    for (size_t k = 0; k < num_operands; ++k) {
      const EwOperand& o = p.operands[k];
      OperandView& v = views[k];
      if (o.block > 0) {
        // The pattern starts at lane i % block of the run's channel block: chunk offset j then
        // reads pattern[j % kPeriod], as kPeriod is a multiple of the block.
        const int64_t run = i / o.inner;
        const float* base = o.data + (run / o.k) * o.n_stride + (run % o.k) * o.block;
        for (size_t q = 0; q < 2 * kPeriod; ++q)
          patterns[k][q] = base[(i + static_cast<int64_t>(q)) % o.block];
        v = OperandView{patterns[k], 0.0f, true};
        seg_end = std::min(seg_end, (run + 1) * o.inner);
      } else if (o.k == 1) {
        v = OperandView{nullptr, o.data[0], false};
      } else if (o.inner == 1) {
        v = OperandView{o.data + i % o.k, 0.0f, false};
        seg_end = std::min(seg_end, (i / o.k + 1) * o.k);
      } else {
        v = OperandView{nullptr, o.data[(i / o.inner) % o.k], false};
        seg_end = std::min(seg_end, (i / o.inner + 1) * o.inner);
      }
    }
    const size_t n = static_cast<size_t>(seg_end - i);
    const float* src = p.x + i;
    float* dst = p.y + i;
    for (const EwStep& s : p.steps) {
      ApplyStep(s, src, dst, n, s.operand >= 0 ? views[s.operand] : OperandView{});
      src = dst;
    }
    i = seg_end;
  }
}

}  // namespace nnaccel::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnaccel::simd {

HWY_EXPORT(EvalElementwise);

void eval_elementwise(const EwProgram& p, int64_t begin, int64_t end) {
  HWY_DYNAMIC_DISPATCH(EvalElementwise)(p, begin, end);
}

}  // namespace nnaccel::simd
#endif
