#pragma once
// What the oneDNN int8 kernels (dnnl_qconv.cpp, dnnl_qmatmul.cpp, int8 MaxPool) share.
//
// Layout of integer activations. oneDNN 2.6's int8 convolutions on AVX-512 VNNI run only on
// channels-last data (nhwc; nChw16c and nchw get its reference kernel, ~100x slower), so an int8
// value passed between these kernels is channels-last. In kernel.hpp's terms that is the
// channel-blocked layout with block == C: [N, ceil(C/C) = 1, spatial..., C] is exactly NHWC,
// has no padding channels, and the runtime's reorder kernel converts it like any block.
// A producer writes it only when every reader is one of these kernels (readers_take_channels_last).
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "kernels/dnnl/dnnl_common.hpp"

namespace nnaccel::dnnl_kernels {

// The channel-blocked layout with block == C (NHWC), rank >= 3.
inline bool is_channels_last(const ValueDesc& v) {
  return v.block > 0 && v.shape.size() >= 3 && v.block == v.shape[1];
}
// u8, s8, s32 or f32; undef for other dtypes.
dnnl::memory::data_type dnnl_type(DType t);
// Row-major strides of `dims` permuted to channels-last (n, spatial..., c).
dnnl::memory::desc channels_last_desc(const Dims& dims, dnnl::memory::data_type dt);
// The descriptor of a value of any dtype above: plain, channels-last or blocked 8/16. `dims`
// replaces the value's shape (same element order; a 1-D conv's [N, C, W] as [N, C, 1, W]).
// Nothing for layouts oneDNN cannot describe (other blocks).
std::optional<dnnl::memory::desc> int_desc(const ValueDesc& v, const Dims& dims);
inline std::optional<dnnl::memory::desc> int_desc(const ValueDesc& v) {
  return int_desc(v, dims_of(v.shape));
}

// True when output `output` (u8/i8, rank 3 to 5) is not a graph output and every reader is an
// int8 kernel reading it as an activation (QConv x or z, QLinearConv x, MaxPool, QAdd) or a
// DequantizeLinear (the simd one converts while it dequantizes), so the producer may write it
// channels-last. MaxPool and QAdd pass the layout on; a reader that does
// not take it gets it converted by the compiler (float values too: dnnl_common's blocked_desc
// describes block == C).
bool readers_take_channels_last(const KernelRequest& request, int output);

// oneDNN's int8 convolutions and matmuls compute exactly (int32 accumulation) only with VNNI:
// without it they use vpmaddubsw, whose int16 pair sums saturate for u8 x s8.
bool cpu_has_exact_int8();

// The value of a constant scalar input (rank 0 or [1]), or nothing when the input is absent,
// not a constant or not a scalar. Integers widened to int32, floats as float.
std::optional<int32_t> constant_int(const KernelRequest& r, int input);
std::optional<float> constant_float(const KernelRequest& r, int input);
// The values of a constant float input of 1 or n elements (rank 0 or 1), else nothing.
std::optional<std::vector<float>> constant_floats(const KernelRequest& r, int input, int64_t n);
// The constant weight `w` of an integer conv or matmul as the s8 operand oneDNN multiplies, with
// its zero point (input `zp_input`: absent, a scalar, or one per index of `axis`) folded in:
// w - zp, when every difference fits in s8. s8 weights without zero points come back as they
// are; u8 weights with zero point 128, and any weights that span at most 256 steps around their
// zero point, come back shifted, exactly. Nothing otherwise (the reference runs the op).
std::optional<Tensor> centered_s8_weights(const KernelRequest& r, const Tensor& w, int zp_input,
                                          int axis);
// True when input `input` is a zero point computed at run time (DynamicQuantizeLinear's output in
// dynamically quantized models): present, not a constant, a known scalar of type `type`.
bool runtime_scalar_zero_point(const KernelRequest& r, int input, DType type);

inline bool positive_finite(float v) { return std::isfinite(v) && v > 0.0f; }

// The scales of an integer conv's or matmul's output from its constant inputs: the activation's
// scale (input `x_scale`), the weight's (`w_scale`: one, or one per each of `channels`), and y's
// scale and zero point (`y_scale`, `y_zp`: both, for a u8/s8 y, or neither, for float y).
// Nothing when one is missing, not a constant, a scale is not positive and finite, or y's type
// does not match.
struct ProductScales {
  float x_scale = 1;
  std::vector<float> w_scale;
  std::optional<float> y_scale;
  std::optional<int32_t> y_zero_point;
};
std::optional<ProductScales> product_scales(const KernelRequest& r, int x_scale, int w_scale,
                                            int64_t channels, int y_scale, int y_zp,
                                            dnnl::memory::data_type y_type);

// The contract's output stage (INT8_CONTRACT.md) as oneDNN 2.6 output scales and post-ops. Its
// int8 convolution and matmul compute per output element (m: output channel / column)
//   dst = post_ops(output_scale[m] * (acc + bias[m])) + dst_zero_point
// where acc sums (x - src_zero_point) * w in int32 (padding reads the zero point), the post-ops
// run in order (sum: + scale * (dst_old - zero_point), then eltwise), and the result is rounded
// half to even and saturated to the dst type. So:
//   - activations that commute with a positive scale (none, Relu, LeakyRelu, Clip with scaled
//     bounds) fold 1/y_scale into the scales: output_scale = x_scale * w_scale[m] / y_scale,
//     sum scale = z_scale / y_scale;
//   - the others run in real units: output_scale = x_scale * w_scale[m], sum scale = z_scale,
//     the activation, then eltwise linear 1/y_scale;
//   - float output (no y_scale): output_scale = x_scale * w_scale[m], then the activation.
// Only float rounding differs from the double-precision reference (1 LSB, rarely).
// `z` is the residual's (scale, zero point) read as `z_type`; its zero point becomes a shift of
// the bias (`bias_shift`, per channel, in accumulator units). False when the activation has no
// oneDNN form.
// With `mid` (QConv's mid_scale / mid_zero_point: the result rounded to its own grid before z is
// added) the activation must commute with y_scale, and the stage is
//   output_scale = x_scale * w_scale[m] / mid_scale, round, clip to [lo - zp, hi - zp],
//   linear(mid_scale / y_scale, -z_scale * z_zp / y_scale), sum(z_scale / y_scale), activation.
struct OutputStage {
  std::vector<float> scales;  // 1 or per channel
  dnnl::post_ops ops;
  std::vector<float> bias_shift;  // empty, or added to the bias (which becomes f32)
};
struct MidGrid {
  float scale = 1;
  int32_t zero_point = 0, lo = 0, hi = 255;
};
bool output_stage(const FusedActivation& act, double x_scale, const std::vector<float>& w_scale,
                  std::optional<float> y_scale, std::optional<std::pair<float, int32_t>> z,
                  dnnl::memory::data_type z_type, OutputStage& out,
                  std::optional<MidGrid> mid = std::nullopt);

// An int32 zero point passed at run time (DNNL_RUNTIME_S32_VAL), as a one-element memory.
class ZeroPointMemory {
 public:
  ZeroPointMemory() = default;
  explicit ZeroPointMemory(int32_t value);
  const dnnl::memory& memory() const { return mem_; }
  // A run-time zero point (a u8 or i8 scalar, DynamicQuantizeLinear's): the value the next
  // execution reads.
  void set(const Tensor& zero_point);

 private:
  Tensor value_;
  dnnl::memory mem_;
};

}  // namespace nnaccel::dnnl_kernels
