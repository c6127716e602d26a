// QuantizeLinear into, and DequantizeLinear out of, the channels-last integer layout of the
// oneDNN int8 kernels (quant_api.hpp's ChannelsLastSpan), per Highway target: the conversion and
// the transposition in one pass over memory, instead of a reorder before or after.
//   plain <-> channels-last: tiles of 16 channels x 16 pixels, each channel's row converted as a
//     vector, the 16x16 bytes transposed in registers (four rounds of interleaves); 3 channels
//     (images) with Highway's interleaved loads and stores instead.
//   blocked <-> channels-last: a pixel's block of channels is contiguous on both sides.
// The arithmetic is quant-inl.h's, so the results equal the plain kernels' bit for bit.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/quant_layout_impl.cpp"
#include "kernels/simd/simd_targets.hpp"
// Keep the blank line: clang-format must not move foreach_target above simd_targets.

#include <hwy/foreach_target.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>

#include "kernels/simd/quant-inl.h"
#include "kernels/simd/quant_api.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnaccel::simd::HWY_NAMESPACE {

constexpr int64_t kTile = 16;  // channels and pixels of a transposed tile

// ---- 16x16 byte transpose ----

#if HWY_TARGET == HWY_SCALAR
void Transpose16(const uint8_t* in, int64_t in_stride, uint8_t* out, int64_t out_stride) {
  for (int64_t r = 0; r < kTile; ++r)
    for (int64_t c = 0; c < kTile; ++c) out[c * out_stride + r] = in[r * in_stride + c];
}
#else
using D8 = hn::Full128<uint8_t>;
using V8 = hn::Vec<D8>;

// One round: rows hold `unit`-sized elements, v[g * quarters + q] has group g's channels for
// quarter q of the pixels. Interleaving groups 2g and 2g+1 doubles the unit and the quarters.
template <class DU>
HWY_INLINE void TransposeRound(DU du, const V8* in, V8* out, int groups, int quarters) {
  const D8 d8;
  for (int g = 0; g < groups / 2; ++g)
    for (int q = 0; q < quarters; ++q) {
      const auto a = hn::BitCast(du, in[(2 * g) * quarters + q]);
      const auto b = hn::BitCast(du, in[(2 * g + 1) * quarters + q]);
      out[g * 2 * quarters + 2 * q] = hn::BitCast(d8, hn::InterleaveLower(du, a, b));
      out[g * 2 * quarters + 2 * q + 1] = hn::BitCast(d8, hn::InterleaveUpper(du, a, b));
    }
}

// in: 16 rows of 16 bytes, `in_stride` apart; out[c * out_stride + r] = in[r * in_stride + c].
HWY_INLINE void Transpose16(const uint8_t* in, int64_t in_stride, uint8_t* out,
                            int64_t out_stride) {
  const D8 d8;
  V8 a[kTile], b[kTile];
  for (int r = 0; r < kTile; ++r) a[r] = hn::LoadU(d8, in + r * in_stride);
  TransposeRound(d8, a, b, 16, 1);
  TransposeRound(hn::Full128<uint16_t>(), b, a, 8, 2);
  TransposeRound(hn::Full128<uint32_t>(), a, b, 4, 4);
  TransposeRound(hn::Full128<uint64_t>(), b, a, 2, 8);
  for (int r = 0; r < kTile; ++r) hn::StoreU(a[r], d8, out + r * out_stride);
}
#endif

// ---- plain <-> channels-last, any channel count ----

// 16 floats -> 16 integers (bytes of T).
template <typename T>
HWY_INLINE void QuantizeRow16(const float* x, uint8_t* y, float scale, float zero_point) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  const VF vs = hn::Set(df, scale), vz = hn::Set(df, zero_point);
  for (size_t j = 0; j < static_cast<size_t>(kTile); j += lanes)
    StoreAsInt(QuantizeVec<T>(hn::LoadU(df, x + j), vs, vz), reinterpret_cast<T*>(y) + j);
}

template <typename T>
HWY_INLINE void DequantizeRow16(const uint8_t* x, float* y, float scale, float zero_point) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  const VF vs = hn::Set(df, scale), vz = hn::Set(df, zero_point);
  for (size_t j = 0; j < static_cast<size_t>(kTile); j += lanes)
    hn::StoreU(DequantizeVec(LoadAsFloat(reinterpret_cast<const T*>(x) + j), vs, vz), df, y + j);
}

template <typename T>
void QuantizeTiles(const float* x, T* y_typed, const ChannelsLastSpan& p) {
  uint8_t* y = reinterpret_cast<uint8_t*>(y_typed);
  const int64_t C = p.channels, S = p.pixels;
  alignas(64) uint8_t tile[kTile * kTile] = {}, moved[kTile * kTile];
  alignas(64) float padded[kTile] = {};
  // Fewer than 16 channels: a tile's pixels are 16 * C contiguous bytes, assembled here.
  alignas(64) uint8_t packed[kTile * kTile + kTile];
  // Group by group: the plain side is 16 streams at a time (one per channel), the channels-last
  // side of the span stays in cache. (Pixels outer made C streams: PaddleOCR's 64-channel
  // DequantizeLinear ran at a third of the plain kernel's speed.)
  for (int64_t c0 = 0; c0 < C; c0 += kTile) {
    const int64_t nc = std::min(kTile, C - c0);
    for (int64_t s = p.begin; s < p.end; s += kTile) {
      const int64_t np = std::min(kTile, p.end - s);
      for (int64_t c = 0; c < nc; ++c) {
        const float* row = x + (c0 + c) * S + s;
        if (np < kTile) {
          std::copy(row, row + np, padded);
          row = padded;
        }
        QuantizeRow16<T>(row, tile + c * kTile, p.scale[c0 + c], p.zero_point[c0 + c]);
      }
      if (nc == kTile && np == kTile) {  // straight into place
        Transpose16(tile, kTile, y + s * C + c0, C);
        continue;
      }
      Transpose16(tile, kTile, moved, kTile);
      if (nc == kTile) {
        for (int64_t q = 0; q < np; ++q)
          std::memcpy(y + (s + q) * C + c0, moved + q * kTile, kTile);
      } else if (C < kTile) {
        for (int64_t q = 0; q < kTile; ++q) std::memcpy(packed + q * C, moved + q * kTile, kTile);
        std::memcpy(y + s * C, packed, static_cast<size_t>(np * C));
      } else {
        for (int64_t q = 0; q < np; ++q)
          std::memcpy(y + (s + q) * C + c0, moved + q * kTile, static_cast<size_t>(nc));
      }
    }
  }
}

template <typename T>
void DequantizeTiles(const T* x_typed, float* y, const ChannelsLastSpan& p) {
  const uint8_t* x = reinterpret_cast<const uint8_t*>(x_typed);
  const int64_t C = p.channels, S = p.pixels;
  alignas(64) uint8_t tile[kTile * kTile] = {}, moved[kTile * kTile];
  alignas(64) float padded[kTile];
  alignas(64) uint8_t packed[kTile * kTile + kTile] = {};
  // Group by group: the plain side is 16 streams at a time (one per channel), the channels-last
  // side of the span stays in cache. (Pixels outer made C streams: PaddleOCR's 64-channel
  // DequantizeLinear ran at a third of the plain kernel's speed.)
  for (int64_t c0 = 0; c0 < C; c0 += kTile) {
    const int64_t nc = std::min(kTile, C - c0);
    for (int64_t s = p.begin; s < p.end; s += kTile) {
      const int64_t np = std::min(kTile, p.end - s);
      if (nc == kTile && np == kTile) {  // straight from place
        Transpose16(x + s * C + c0, C, moved, kTile);
      } else if (nc == kTile) {
        for (int64_t q = 0; q < np; ++q) std::memcpy(tile + q * kTile, x + (s + q) * C + c0, kTile);
      } else if (C < kTile) {
        std::memcpy(packed, x + s * C, static_cast<size_t>(np * C));
        for (int64_t q = 0; q < kTile; ++q) std::memcpy(tile + q * kTile, packed + q * C, kTile);
      } else {
        for (int64_t q = 0; q < np; ++q)
          std::memcpy(tile + q * kTile, x + (s + q) * C + c0, static_cast<size_t>(nc));
      }
      if (nc < kTile || np < kTile) Transpose16(tile, kTile, moved, kTile);
      for (int64_t c = 0; c < nc; ++c) {
        float* row = y + (c0 + c) * S + s;
        if (np == kTile) {
          DequantizeRow16<T>(moved + c * kTile, row, p.scale[c0 + c], p.zero_point[c0 + c]);
        } else {
          DequantizeRow16<T>(moved + c * kTile, padded, p.scale[c0 + c], p.zero_point[c0 + c]);
          std::copy(padded, padded + np, row);
        }
      }
    }
  }
}

// ---- plain <-> channels-last, 3 channels ----

#if HWY_TARGET != HWY_SCALAR
template <typename T>
void Quantize3(const float* x, T* y, const ChannelsLastSpan& p) {
  const DF df;
  const DI di;
  const hn::Rebind<T, DF> dt;
  const size_t lanes = hn::Lanes(df);
  const int64_t S = p.pixels;
  VF vs[3], vz[3];
  for (int c = 0; c < 3; ++c) {
    vs[c] = hn::Set(df, p.scale[c]);
    vz[c] = hn::Set(df, p.zero_point[c]);
  }
  const auto q = [&](const float* at, int c) HWY_ATTR {
    return hn::DemoteTo(dt, hn::ConvertTo(di, QuantizeVec<T>(hn::LoadU(df, at), vs[c], vz[c])));
  };
  int64_t s = p.begin;
  for (; s + static_cast<int64_t>(lanes) <= p.end; s += static_cast<int64_t>(lanes))
    hn::StoreInterleaved3(q(x + s, 0), q(x + S + s, 1), q(x + 2 * S + s, 2), dt, y + 3 * s);
  if (s == p.end) return;
  alignas(64) float xb[3][kMaxLanes] = {};
  alignas(64) T yb[3 * kMaxLanes];
  const int64_t rest = p.end - s;
  for (int c = 0; c < 3; ++c) std::copy(x + c * S + s, x + c * S + p.end, xb[c]);
  hn::StoreInterleaved3(q(xb[0], 0), q(xb[1], 1), q(xb[2], 2), dt, yb);
  std::copy(yb, yb + 3 * rest, y + 3 * s);
}

template <typename T>
void Dequantize3(const T* x, float* y, const ChannelsLastSpan& p) {
  const DF df;
  const DI di;
  const hn::Rebind<T, DF> dt;
  const size_t lanes = hn::Lanes(df);
  const int64_t S = p.pixels;
  VF vs[3], vz[3];
  for (int c = 0; c < 3; ++c) {
    vs[c] = hn::Set(df, p.scale[c]);
    vz[c] = hn::Set(df, p.zero_point[c]);
  }
  hn::Vec<decltype(dt)> v[3];
  const auto dq = [&](int c) HWY_ATTR {
    return DequantizeVec(hn::ConvertTo(df, hn::PromoteTo(di, v[c])), vs[c], vz[c]);
  };
  int64_t s = p.begin;
  for (; s + static_cast<int64_t>(lanes) <= p.end; s += static_cast<int64_t>(lanes)) {
    hn::LoadInterleaved3(dt, x + 3 * s, v[0], v[1], v[2]);
    for (int c = 0; c < 3; ++c) hn::StoreU(dq(c), df, y + c * S + s);
  }
  if (s == p.end) return;
  alignas(64) T xb[3 * kMaxLanes] = {};
  alignas(64) float yb[kMaxLanes];
  const int64_t rest = p.end - s;
  std::copy(x + 3 * s, x + 3 * p.end, xb);
  hn::LoadInterleaved3(dt, xb, v[0], v[1], v[2]);
  for (int c = 0; c < 3; ++c) {
    hn::Store(dq(c), df, yb);
    std::copy(yb, yb + rest, y + c * S + s);
  }
}
#endif

// ---- blocked <-> channels-last ----

// Block by block, pixel by pixel: the blocked side is read or written in order, a block's scale and
// zero point stay in registers. D's lanes divide the block (full vectors on AVX-512 for blocks of
// 16, at most 8 lanes otherwise).
using DB = hn::CappedTag<float, 8>;

template <class D, typename T>
void QuantizeBlocks(D d, const float* x, T* y, const ChannelsLastSpan& p) {
  using V = hn::Vec<D>;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const int64_t C = p.channels, S = p.pixels, b = p.block, blocks = (C + b - 1) / b;
  for (int64_t cb = 0; cb < blocks; ++cb) {
    const int64_t c0 = cb * b;
    for (int64_t j = 0; j < b && c0 + j < C; j += lanes) {
      const V vs = hn::LoadU(d, p.scale + c0 + j), vz = hn::LoadU(d, p.zero_point + c0 + j);
      const float* from = x + (cb * S + p.begin) * b + j;
      T* to = y + p.begin * C + c0 + j;
      if (c0 + j + lanes <= C) {
        for (int64_t s = p.begin; s < p.end; ++s, from += b, to += C)
          StoreAsInt(d, QuantizeVec<T>(hn::LoadU(d, from), vs, vz), to);
      } else {  // the last block's channels: a masked store
        const hn::RebindToSigned<D> di;
        const hn::Rebind<T, D> dt;
        const auto first = hn::FirstN(dt, static_cast<size_t>(C - c0 - j));
        for (int64_t s = p.begin; s < p.end; ++s, from += b, to += C) {
          const V q = QuantizeVec<T>(hn::LoadU(d, from), vs, vz);
          hn::BlendedStore(hn::DemoteTo(dt, hn::ConvertTo(di, q)), first, dt, to);
        }
      }
    }
  }
}

template <class D, typename T>
void DequantizeBlocks(D d, const T* x, float* y, const ChannelsLastSpan& p) {
  using V = hn::Vec<D>;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const int64_t C = p.channels, S = p.pixels, b = p.block, blocks = (C + b - 1) / b;
  alignas(64) T rest[kMaxLanes] = {};
  for (int64_t cb = 0; cb < blocks; ++cb) {
    const int64_t c0 = cb * b;
    for (int64_t j = 0; j < b; j += lanes) {
      const V vs = hn::LoadU(d, p.scale + c0 + j), vz = hn::LoadU(d, p.zero_point + c0 + j);
      const T* from = x + p.begin * C + c0 + j;
      float* to = y + (cb * S + p.begin) * b + j;
      if (c0 + j + lanes <= C) {
        for (int64_t s = p.begin; s < p.end; ++s, from += C, to += b)
          hn::StoreU(DequantizeVec(LoadAsFloat(d, from), vs, vz), d, to);
      } else {
        // Padding channels read 0 and dequantize to (0 - 0) * 1 = 0. A full vector is read
        // (the next pixel's channels, masked off) while it stays within the image.
        const int64_t n = std::max<int64_t>(0, C - c0 - j);
        const auto first = hn::FirstN(d, static_cast<size_t>(n));
        const int64_t room = S * C - (c0 + j + lanes);  // last start of a full read
        const int64_t safe_end = room < 0 ? p.begin : std::min(p.end, room / C + 1);
        int64_t s = p.begin;
        for (; s < safe_end; ++s, from += C, to += b)
          hn::StoreU(DequantizeVec(hn::IfThenElseZero(first, LoadAsFloat(d, from)), vs, vz), d, to);
        for (; s < p.end; ++s, from += C, to += b) {
          std::copy(from, from + n, rest);
          hn::StoreU(DequantizeVec(LoadAsFloat(d, rest), vs, vz), d, to);
        }
      }
    }
  }
}

// ---- entry points ----

template <typename T>
void QuantizeToChannelsLast(const float* x, T* y, const ChannelsLastSpan& p) {
  if (p.block > 0) {
    if (p.block % static_cast<int64_t>(hn::Lanes(DF())) == 0) return QuantizeBlocks(DF(), x, y, p);
    return QuantizeBlocks(DB(), x, y, p);
  }
#if HWY_TARGET != HWY_SCALAR
  if (p.channels == 3) return Quantize3(x, y, p);
#endif
  QuantizeTiles(x, y, p);
}

template <typename T>
void DequantizeChannelsLast(const T* x, float* y, const ChannelsLastSpan& p) {
  if (p.block > 0) {
    if (p.block % static_cast<int64_t>(hn::Lanes(DF())) == 0)
      return DequantizeBlocks(DF(), x, y, p);
    return DequantizeBlocks(DB(), x, y, p);
  }
#if HWY_TARGET != HWY_SCALAR
  if (p.channels == 3) return Dequantize3(x, y, p);
#endif
  DequantizeTiles(x, y, p);
}

void QuantizeToChannelsLastU8(const float* x, uint8_t* y, const ChannelsLastSpan& p) {
  QuantizeToChannelsLast(x, y, p);
}
void QuantizeToChannelsLastI8(const float* x, int8_t* y, const ChannelsLastSpan& p) {
  QuantizeToChannelsLast(x, y, p);
}
void DequantizeChannelsLastU8(const uint8_t* x, float* y, const ChannelsLastSpan& p) {
  DequantizeChannelsLast(x, y, p);
}
void DequantizeChannelsLastI8(const int8_t* x, float* y, const ChannelsLastSpan& p) {
  DequantizeChannelsLast(x, y, p);
}

}  // namespace nnaccel::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnaccel::simd {

HWY_EXPORT(QuantizeToChannelsLastU8);
HWY_EXPORT(QuantizeToChannelsLastI8);
HWY_EXPORT(DequantizeChannelsLastU8);
HWY_EXPORT(DequantizeChannelsLastI8);

void quantize_to_channels_last_u8(const float* x, uint8_t* y, const ChannelsLastSpan& s) {
  HWY_DYNAMIC_DISPATCH(QuantizeToChannelsLastU8)(x, y, s);
}
void quantize_to_channels_last_i8(const float* x, int8_t* y, const ChannelsLastSpan& s) {
  HWY_DYNAMIC_DISPATCH(QuantizeToChannelsLastI8)(x, y, s);
}
void dequantize_channels_last_u8(const uint8_t* x, float* y, const ChannelsLastSpan& s) {
  HWY_DYNAMIC_DISPATCH(DequantizeChannelsLastU8)(x, y, s);
}
void dequantize_channels_last_i8(const int8_t* x, float* y, const ChannelsLastSpan& s) {
  HWY_DYNAMIC_DISPATCH(DequantizeChannelsLastI8)(x, y, s);
}

}  // namespace nnaccel::simd
#endif
