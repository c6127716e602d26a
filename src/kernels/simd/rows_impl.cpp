// Row-wise kernels (simd_api.hpp), per Highway target: softmax, layer normalization, reductions
// along contiguous rows, 2-D transpose. Accumulation is in float over several vector lanes
// (the lanes act as independent partial sums, which keeps rounding close to pairwise).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/rows_impl.cpp"
#include "kernels/simd/simd_targets.hpp"
// Keep the blank line: clang-format must not move foreach_target above simd_targets.

#include <hwy/foreach_target.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/simd/simd_api.hpp"
#include "kernels/simd/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnaccel::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Lanes [0, n) of p; lanes beyond hold `fill`.
HWY_INLINE VF LoadTail(DF d, const float* p, size_t n, float fill) {
  const auto m = hn::FirstN(d, n);
  return hn::IfThenElse(m, hn::MaskedLoad(m, d, p), hn::Set(d, fill));
}

HWY_INLINE float RowMax(const float* x, size_t n) {
  const DF d;
  const size_t lanes = hn::Lanes(d);
  VF m0 = hn::Set(d, kNegInf), m1 = m0;
  size_t j = 0;
  for (; j + 2 * lanes <= n; j += 2 * lanes) {
    m0 = hn::Max(m0, hn::LoadU(d, x + j));
    m1 = hn::Max(m1, hn::LoadU(d, x + j + lanes));
  }
  for (; j + lanes <= n; j += lanes) m0 = hn::Max(m0, hn::LoadU(d, x + j));
  if (j < n) m1 = hn::Max(m1, LoadTail(d, x + j, n - j, kNegInf));
  return hn::GetLane(hn::MaxOfLanes(d, hn::Max(m0, m1)));
}

HWY_INLINE float RowSum(const float* x, size_t n) {
  const DF d;
  const size_t lanes = hn::Lanes(d);
  VF s0 = hn::Zero(d), s1 = s0;
  size_t j = 0;
  for (; j + 2 * lanes <= n; j += 2 * lanes) {
    s0 = hn::Add(s0, hn::LoadU(d, x + j));
    s1 = hn::Add(s1, hn::LoadU(d, x + j + lanes));
  }
  for (; j + lanes <= n; j += lanes) s0 = hn::Add(s0, hn::LoadU(d, x + j));
  if (j < n) s1 = hn::Add(s1, LoadTail(d, x + j, n - j, 0.0f));
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1)));
}

// Softmax of one contiguous row.
void SoftmaxRow(const float* x, float* y, size_t n, bool log) {
  const DF d;
  const size_t lanes = hn::Lanes(d);
  const VF max = hn::Set(d, RowMax(x, n));
  VF sum = hn::Zero(d);
  size_t j = 0;
  // Softmax stores e^(x - max) on the way; LogSoftmax only needs the sum.
  for (; j + lanes <= n; j += lanes) {
    const VF e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + j), max));
    sum = hn::Add(sum, e);
    if (!log) hn::StoreU(e, d, y + j);
  }
  if (j < n) {
    const auto m = hn::FirstN(d, n - j);
    const VF e = hn::IfThenElseZero(m, hn::Exp(d, hn::Sub(hn::MaskedLoad(m, d, x + j), max)));
    sum = hn::Add(sum, e);
    if (!log) hn::BlendedStore(e, m, d, y + j);
  }
  const float total = hn::GetLane(hn::SumOfLanes(d, sum));
  if (log) {
    const VF shift = hn::Add(max, hn::Set(d, std::log(total)));
    for (j = 0; j + lanes <= n; j += lanes)
      hn::StoreU(hn::Sub(hn::LoadU(d, x + j), shift), d, y + j);
    if (j < n) {
      const auto m = hn::FirstN(d, n - j);
      hn::BlendedStore(hn::Sub(hn::MaskedLoad(m, d, x + j), shift), m, d, y + j);
    }
  } else {
    const VF inv = hn::Set(d, 1.0f / total);
    for (j = 0; j + lanes <= n; j += lanes) hn::StoreU(hn::Mul(hn::LoadU(d, y + j), inv), d, y + j);
    if (j < n) {
      const auto m = hn::FirstN(d, n - j);
      hn::BlendedStore(hn::Mul(hn::MaskedLoad(m, d, y + j), inv), m, d, y + j);
    }
  }
}

// Softmax over axis a of [len, inner] at x, for the `count` (<= lanes) columns starting at c:
// the lanes run along the contiguous inner axis, the loops along the strided softmax axis.
void SoftmaxColumns(const float* x, float* y, size_t len, size_t inner, size_t c, size_t count,
                    bool log) {
  const DF d;
  const auto m = hn::FirstN(d, count);
  VF max = hn::Set(d, kNegInf);
  for (size_t a = 0; a < len; ++a)
    max = hn::Max(max, hn::IfThenElse(m, hn::MaskedLoad(m, d, x + a * inner + c), max));
  VF sum = hn::Zero(d);
  for (size_t a = 0; a < len; ++a) {
    const VF e = hn::Exp(d, hn::Sub(hn::MaskedLoad(m, d, x + a * inner + c), max));
    sum = hn::Add(sum, e);
    if (!log) hn::BlendedStore(e, m, d, y + a * inner + c);
  }
  if (log) {
    alignas(64) float s[hn::MaxLanes(d)];
    hn::Store(sum, d, s);
    for (size_t l = 0; l < count; ++l) s[l] = std::log(s[l]);
    const VF shift = hn::Add(max, hn::IfThenElseZero(m, hn::Load(d, s)));
    for (size_t a = 0; a < len; ++a)
      hn::BlendedStore(hn::Sub(hn::MaskedLoad(m, d, x + a * inner + c), shift), m, d,
                       y + a * inner + c);
  } else {
    const VF inv = hn::Div(hn::Set(d, 1.0f), hn::IfThenElse(m, sum, hn::Set(d, 1.0f)));
    for (size_t a = 0; a < len; ++a)
      hn::BlendedStore(hn::Mul(hn::MaskedLoad(m, d, y + a * inner + c), inv), m, d,
                       y + a * inner + c);
  }
}

void SoftmaxRows(const float* x, float* y, int64_t row_begin, int64_t row_end, int64_t len,
                 bool log) {
  for (int64_t r = row_begin; r < row_end; ++r)
    SoftmaxRow(x + r * len, y + r * len, static_cast<size_t>(len), log);
}

void SoftmaxStrided(const float* x, float* y, int64_t len, int64_t inner, int64_t col_begin,
                    int64_t col_end, bool log) {
  const DF d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t c = col_begin; c < col_end; c += lanes)
    SoftmaxColumns(x, y, static_cast<size_t>(len), static_cast<size_t>(inner),
                   static_cast<size_t>(c), static_cast<size_t>(std::min(lanes, col_end - c)), log);
}

void LayerNorm(const float* x, float* y, int64_t row_begin, int64_t row_end, int64_t len,
               const float* scale, const float* bias, float epsilon, float* mean_out,
               float* inv_out) {
  const DF d;
  const size_t lanes = hn::Lanes(d);
  const size_t n = static_cast<size_t>(len);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const float* xs = x + r * len;
    float* ys = y + r * len;
    const float mean = RowSum(xs, n) / static_cast<float>(len);
    // The variance from the centred values (two passes): no cancellation when |mean| >> std.
    const VF vm = hn::Set(d, mean);
    VF sq = hn::Zero(d);
    size_t j = 0;
    for (; j + lanes <= n; j += lanes) {
      const VF c = hn::Sub(hn::LoadU(d, xs + j), vm);
      sq = hn::MulAdd(c, c, sq);
    }
    if (j < n) {
      const auto m = hn::FirstN(d, n - j);
      const VF c = hn::IfThenElseZero(m, hn::Sub(hn::MaskedLoad(m, d, xs + j), vm));
      sq = hn::MulAdd(c, c, sq);
    }
    const float var = hn::GetLane(hn::SumOfLanes(d, sq)) / static_cast<float>(len);
    const float inv = 1.0f / std::sqrt(var + epsilon);
    if (mean_out != nullptr) mean_out[r] = mean;
    if (inv_out != nullptr) inv_out[r] = inv;
    const VF vi = hn::Set(d, inv);
    auto norm = [&](VF v, VF s, VF b)
                    HWY_ATTR { return hn::MulAdd(hn::Mul(hn::Sub(v, vm), vi), s, b); };
    for (j = 0; j + lanes <= n; j += lanes) {
      const VF b = bias != nullptr ? hn::LoadU(d, bias + j) : hn::Zero(d);
      hn::StoreU(norm(hn::LoadU(d, xs + j), hn::LoadU(d, scale + j), b), d, ys + j);
    }
    if (j < n) {
      const auto m = hn::FirstN(d, n - j);
      const VF b = bias != nullptr ? hn::MaskedLoad(m, d, bias + j) : hn::Zero(d);
      hn::BlendedStore(norm(hn::MaskedLoad(m, d, xs + j), hn::MaskedLoad(m, d, scale + j), b), m, d,
                       ys + j);
    }
  }
}

void ReduceRows(const float* x, float* y, int64_t row_begin, int64_t row_end, int64_t len,
                ReduceKind kind) {
  const size_t n = static_cast<size_t>(len);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const float* xs = x + r * len;
    switch (kind) {
      case ReduceKind::sum:
        y[r] = RowSum(xs, n);
        break;
      case ReduceKind::mean:
        y[r] = RowSum(xs, n) / static_cast<float>(len);
        break;
      case ReduceKind::max:
        y[r] = RowMax(xs, n);
        break;
    }
  }
}

// Cache-blocked: 16x16 tiles, so both x and y are touched in cache-line sized pieces (a plain
// column walk misses the cache on every element of one side).
void Transpose2D(const float* x, float* y, int64_t rows, int64_t cols, int64_t row_begin,
                 int64_t row_end) {
  constexpr int64_t kTile = 16;
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kTile) {
    const int64_t r1 = std::min(row_end, r0 + kTile);
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t c1 = std::min(cols, c0 + kTile);
      for (int64_t c = c0; c < c1; ++c) {
        float* yc = y + c * rows;
        for (int64_t r = r0; r < r1; ++r) yc[r] = x[r * cols + c];
      }
    }
  }
}

}  // namespace nnaccel::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnaccel::simd {

HWY_EXPORT(SoftmaxRows);
HWY_EXPORT(SoftmaxStrided);
HWY_EXPORT(LayerNorm);
HWY_EXPORT(ReduceRows);
HWY_EXPORT(Transpose2D);

void softmax_rows(const float* x, float* y, int64_t row_begin, int64_t row_end, int64_t len,
                  bool log) {
  HWY_DYNAMIC_DISPATCH(SoftmaxRows)(x, y, row_begin, row_end, len, log);
}

void softmax_columns(const float* x, float* y, int64_t len, int64_t inner, int64_t col_begin,
                     int64_t col_end, bool log) {
  HWY_DYNAMIC_DISPATCH(SoftmaxStrided)(x, y, len, inner, col_begin, col_end, log);
}

void layer_norm(const float* x, float* y, int64_t row_begin, int64_t row_end, int64_t len,
                const float* scale, const float* bias, float epsilon, float* mean,
                float* inv_std_dev) {
  HWY_DYNAMIC_DISPATCH(LayerNorm)
  (x, y, row_begin, row_end, len, scale, bias, epsilon, mean, inv_std_dev);
}

void reduce_rows(const float* x, float* y, int64_t row_begin, int64_t row_end, int64_t len,
                 ReduceKind kind) {
  HWY_DYNAMIC_DISPATCH(ReduceRows)(x, y, row_begin, row_end, len, kind);
}

void transpose_2d(const float* x, float* y, int64_t rows, int64_t cols, int64_t row_begin,
                  int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(Transpose2D)(x, y, rows, cols, row_begin, row_end);
}

}  // namespace nnaccel::simd
#endif
