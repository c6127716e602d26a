#pragma once
// Quantization primitives: choosing scale and zero point for a range, and the affine maps
// q = saturate(round_half_even(x / scale) + zero_point), x = (q - zero_point) * scale
// exactly as ONNX's QuantizeLinear / DequantizeLinear define them, so what nnaccel simulates is
// what an exported QDQ model computes.
#include <cmath>
#include <cstdint>

#include "nnaccel/dtype.hpp"

namespace nnaccel {

struct QuantRange {
  float min = 0.0f;
  float max = 0.0f;
};

struct AffineQuant {
  float scale = 1.0f;
  int32_t zero_point = 0;
  int32_t qmin = 0, qmax = 255;  // the integer grid used
};

// The integer grid of `qtype` (u8 or i8). Symmetric i8 uses [-127, 127] so that the grid is
// symmetric around zero (as ONNX Runtime's quantizer does).
void quant_grid(DType qtype, bool symmetric, int32_t& qmin, int32_t& qmax);

// Scale and zero point that cover `r` (widened to include 0, so 0 is exact). Symmetric: zero
// point 0 for i8 and 128 for u8, scale from max(|min|, |max|). A degenerate range gives scale 1.
// Throws Error for a range that is not finite or a qtype that is not u8/i8.
AffineQuant choose_qparams(QuantRange r, DType qtype, bool symmetric);

inline int32_t quantize_value(float x, const AffineQuant& q) {
  // nearbyint rounds half to even in the default rounding mode, as ONNX requires.
  float v = std::nearbyint(x / q.scale) + static_cast<float>(q.zero_point);
  if (!(v >= static_cast<float>(q.qmin))) return q.qmin;  // NaN saturates low
  if (v > static_cast<float>(q.qmax)) return q.qmax;
  return static_cast<int32_t>(v);
}
inline float dequantize_value(int32_t v, const AffineQuant& q) {
  return static_cast<float>(v - q.zero_point) * q.scale;
}

}  // namespace nnaccel

