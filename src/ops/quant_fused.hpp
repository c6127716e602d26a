#pragma once
// Pieces shared by the ai.nnaccel integer ops (QConv, QMatMul: quant_fused.cpp; QAdd:
// quant_fused_add.cpp), see INT8_CONTRACT.md beside this file. The reference kernels compute each
// real value in double and round half to even once: they are the oracle the fast kernels are held
// to.
#include <cstdint>
#include <vector>

#include "ops/fused_activation.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel::quant {

// The fused activation evaluated in double (apply_activation's formulas), so the oracle adds no
// float rounding of its own before the final rounding.
double activate(const FusedActivation& a, double x);

// A scale input: a positive finite float scalar (rank 0 or [1]); fails naming `what`.
double scalar_scale(const OpContext& ctx, int input, const char* what);
// A scale input of 1 or `n` values (scalar, [1] or [n]), each positive and finite.
std::vector<double> channel_scales(const OpContext& ctx, int input, int64_t n, const char* what);
// A zero point input of dtype `dtype`: a scalar, or with n > 0 also [n] values.
std::vector<int32_t> zero_points(const OpContext& ctx, int input, DType dtype, int64_t n,
                                 const char* what);
// Fails unless `t` is u8 or i8.
void check_u8_or_i8(const OpContext& ctx, DType t, const char* what);

// The output stage of QConv / QMatMul on int32 accumulators laid out so that element i belongs
// to channel (i / inner) % channels:
//   v = acc_scale[c] * (acc + bias[c]),
//   with mid: v = mid_scale * (saturate(round_half_even(v / mid_scale) + mid_zp) - mid_zp),
//   with z: v += z_scale * (z - z_zp),
//   v = act(v), y = y_scale ? saturate(round_half_even(v / y_scale) + y_zp) : float(v).
// `mid` is the grid a QDQ model rounds the conv's own result to before the residual Add
// (saturated to mid_zero_point's type); it needs z. Reads the optional inputs at the given
// indices (-1: the op has no such input) and returns y of shape `out_shape`.
struct OutputStageInputs {
  int y_scale = -1, y_zero_point = -1, bias = -1, z = -1, z_scale = -1, z_zero_point = -1;
  int mid_scale = -1, mid_zero_point = -1;
};
Tensor quantized_output(const OpContext& ctx, const std::vector<int32_t>& acc,
                        const Shape& out_shape, int64_t channels, int64_t inner,
                        const std::vector<double>& acc_scale, const OutputStageInputs& in);

// The output dtype of an op whose y_zero_point (input `zp`) is optional: its dtype, else f32.
DType quantized_output_dtype(const InferContext& ctx, int zp);

}  // namespace nnaccel::quant
