#include "compress/quantize/qparams.hpp"

#include <algorithm>
#include <cmath>

#include "core/check.hpp"

namespace nnaccel {

void quant_grid(DType qtype, bool symmetric, int32_t& qmin, int32_t& qmax) {
  if (qtype == DType::u8) {
    qmin = 0;
    qmax = 255;
  } else if (qtype == DType::i8) {
    qmin = symmetric ? -127 : -128;
    qmax = 127;
  } else {
    fail("quantization to {} is not supported here (u8 or i8)", dtype_name(qtype));
  }
}

AffineQuant choose_qparams(QuantRange r, DType qtype, bool symmetric) {
  if (!std::isfinite(r.min) || !std::isfinite(r.max))
    fail("cannot quantize a range with non-finite ends [{}, {}]", r.min, r.max);
  AffineQuant q;
  quant_grid(qtype, symmetric, q.qmin, q.qmax);
  float lo = std::min(r.min, 0.0f), hi = std::max(r.max, 0.0f);
  if (symmetric) {
    const float absmax = std::max(-lo, hi);
    if (absmax == 0.0f) {
      q.scale = 1.0f;
    } else {
      q.scale = 2.0f * absmax / static_cast<float>(q.qmax - q.qmin);
    }
    q.zero_point = qtype == DType::u8 ? 128 : 0;
    return q;
  }
  if (hi == lo) {
    q.scale = 1.0f;
    q.zero_point = qtype == DType::u8 ? 0 : 0;
    return q;
  }
  q.scale = (hi - lo) / static_cast<float>(q.qmax - q.qmin);
  const double zp = std::nearbyint(static_cast<double>(q.qmin) - static_cast<double>(lo) / q.scale);
  q.zero_point = static_cast<int32_t>(std::clamp<double>(zp, q.qmin, q.qmax));
  return q;
}

}  // namespace nnaccel
