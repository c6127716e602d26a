#pragma once
// The Highway entry points of the quantization kernels (quant_impl.cpp; factories in
// quant_kernels.cpp). Each computes exactly what the reference kernel does (src/ops/quant.cpp):
// QuantizeLinear divides (not multiplies by a reciprocal), rounds half to even, adds the zero
// point and saturates (NaN -> 0); DequantizeLinear is (float(x) - float(zp)) * scale in float.
// Ranges are [0, n); callers split work over threads.
#include <cstdint>

namespace nnaccel::simd {

// One scale / zero point for the span, or (per-element arrays) one per element.
void quantize_to_u8(const float* x, uint8_t* y, int64_t n, float scale, float zero_point);
void quantize_to_i8(const float* x, int8_t* y, int64_t n, float scale, float zero_point);
void quantize_to_u8_each(const float* x, uint8_t* y, int64_t n, const float* scale,
                         const float* zero_point);
void quantize_to_i8_each(const float* x, int8_t* y, int64_t n, const float* scale,
                         const float* zero_point);

void dequantize_u8(const uint8_t* x, float* y, int64_t n, float scale, float zero_point);
void dequantize_i8(const int8_t* x, float* y, int64_t n, float scale, float zero_point);
void dequantize_i32(const int32_t* x, float* y, int64_t n, float scale, float zero_point);
void dequantize_u8_each(const uint8_t* x, float* y, int64_t n, const float* scale,
                        const float* zero_point);
void dequantize_i8_each(const int8_t* x, float* y, int64_t n, const float* scale,
                        const float* zero_point);
void dequantize_i32_each(const int32_t* x, float* y, int64_t n, const float* scale,
                         const float* zero_point);

// Channels-last conversions of one image: x and y point at image n's data, `pixels` is the
// product of its spatial dims and the span covers pixels [begin, end). The integer side is
// channels-last, [pixels, channels]; the float side is plain, [channels, pixels], when block is
// 0, else channel-blocked, [ceil(channels / block), pixels, block] (block 8 or 16). scale and
// zero_point hold one value per channel, padded with 1 and 0 to a whole block when blocked;
// dequantizing to blocks writes 0 in the padding channels. Arithmetic as the spans above.
struct ChannelsLastSpan {
  int64_t channels = 1, pixels = 1, block = 0, begin = 0, end = 0;
  const float* scale = nullptr;
  const float* zero_point = nullptr;
};
void quantize_to_channels_last_u8(const float* x, uint8_t* y, const ChannelsLastSpan& s);
void quantize_to_channels_last_i8(const float* x, int8_t* y, const ChannelsLastSpan& s);
void dequantize_channels_last_u8(const uint8_t* x, float* y, const ChannelsLastSpan& s);
void dequantize_channels_last_i8(const int8_t* x, float* y, const ChannelsLastSpan& s);

// Smallest and largest value of x[0, n) (NaN ignored there) and whether a NaN was seen.
void min_max(const float* x, int64_t n, float& lo, float& hi, bool& nan);

// QAdd on u8 or i8 (a, b, y of one type): with ka = a_scale / y_scale, kb = b_scale / y_scale,
//   v = ka * (a - a_zp) + kb * (b - b_zp), v = clamp(v, lo, hi) (the activation, Relu or Clip,
//   in y units; +-inf when none), y = saturate(round_half_even(v) + y_zp).
// b is b[0, n) (b_each) or the one value b[0].
struct QAddParams {
  float ka = 1, kb = 1, a_zp = 0, b_zp = 0, y_zp = 0;
  float lo = 0, hi = 0;
  bool b_each = true;
};
void qadd_u8(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddParams& p);
void qadd_i8(const int8_t* a, const int8_t* b, int8_t* y, int64_t n, const QAddParams& p);

}  // namespace nnaccel::simd
