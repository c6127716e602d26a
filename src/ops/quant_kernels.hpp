#pragma once
// Integer building blocks shared by the quantization ops (MatMulInteger, QLinearMatMul,
// ConvInteger, QLinearConv): zero-point shifted operands, int32 matmul and conv accumulators,
// and round-half-to-even requantization. Kept apart from the float Conv/MatMul kernels so the
// integer ops are their own oracle.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "ops/op_registry.hpp"

namespace nnaccel::quant {

// Rounds half to even (the current rounding mode is the default, round-to-nearest) and clamps to
// [lo, hi]; NaN becomes 0.
inline int64_t round_saturate(double v, int64_t lo, int64_t hi) {
  if (std::isnan(v)) return 0;
  double r = std::nearbyint(v);
  if (r <= static_cast<double>(lo)) return lo;
  if (r >= static_cast<double>(hi)) return hi;
  return static_cast<int64_t>(r);
}

// The [min, max] range of a quantized integer dtype (u8, i8, u16, i16, i32); fails otherwise.
void quant_range(const OpContext& ctx, DType t, int64_t& lo, int64_t& hi);

// Every element of an integer tensor widened to int32.
std::vector<int32_t> to_int32(const OpContext& ctx, const Tensor& t);

// Every element of a float tensor (f32, f64, f16, bf16) as float.
std::vector<float> to_float(const OpContext& ctx, const Tensor& t);

// `x - zp` with zp broadcast unidirectionally to `shape` (zp given with `zp_shape`, which has
// the same rank as `shape` and dims equal or 1). `x` is already widened.
std::vector<int32_t> subtract_broadcast(const OpContext& ctx, const std::vector<int32_t>& x,
                                        const Shape& shape, const std::vector<int32_t>& zp,
                                        const Shape& zp_shape);

// Shapes of a numpy matmul: A [..., M, K] and B [..., K, N] with broadcast batch dims; 1-D
// operands are promoted (A to [1, K], B to [K, 1]) and the promoted dim is dropped from `out`.
struct MatMulDims {
  Shape a, b;   // promoted operand shapes (rank >= 2)
  Shape batch;  // broadcast batch dims
  int64_t M = 0, K = 0, N = 0;
  Shape out;  // the result's shape per numpy
};
MatMulDims matmul_dims(const OpContext& ctx, const Shape& a, const Shape& b);
// The same on possibly-unknown dims, for shape functions; fails on inconsistent known dims.
bool infer_matmul_dims(const InferContext& ctx, const TypeInfo& a, const TypeInfo& b,
                       std::vector<Dim>& out);

// acc[batch, m, n] = sum_k a[batch, m, k] * b[batch, k, n] with int64 accumulation, wrapped to
// int32 as the spec's int32 result.
std::vector<int32_t> matmul_int32(const MatMulDims& d, const std::vector<int32_t>& a,
                                  const std::vector<int32_t>& b);

// Geometry of an N-D convolution (1 to 3 spatial dims) from shapes and Conv attributes.
struct ConvGeometry {
  int64_t N = 0, C = 0, M = 0, group = 1;
  std::vector<int64_t> in, kernel, out, strides, dilations, pad_begin, pad_end;
};
// Works on possibly-unknown (-1) dims, so kernels and shape functions share it; attribute and
// shape errors are reported through ctx.fail.
template <typename Ctx>
ConvGeometry conv_geometry(const Ctx& ctx, const std::vector<int64_t>& x_dims,
                           const std::vector<int64_t>& w_dims);
extern template ConvGeometry conv_geometry(const OpContext&, const std::vector<int64_t>&,
                                           const std::vector<int64_t>&);
extern template ConvGeometry conv_geometry(const InferContext&, const std::vector<int64_t>&,
                                           const std::vector<int64_t>&);

// Int32 accumulators of a grouped convolution on zero-point-shifted operands laid out
// x [N, C, in...] and w [M, C/group, kernel...]; padding reads 0 (the shifted zero point).
// Returns [N, M, out...].
std::vector<int32_t> conv_int32(const ConvGeometry& g, const std::vector<int32_t>& x,
                                const std::vector<int32_t>& w);

// Shape function shared by ConvInteger and QLinearConv: x and w are the given input indices.
void infer_conv_output(InferContext& ctx, int x_index, int w_index, DType out_dtype);

// An int8 weight with its zero point subtracted, as s8: w - zero_point, where `zero_point` is
// null (0), one value, or one per index of `axis` in w, of w's type (u8 or i8). Nothing when a
// difference falls outside s8, the types are not int8, or the shapes do not match. The products
// (x - x_zp) * (w - w_zp) are unchanged, so the integer kernels (oneDNN's take s8 weights only)
// can run u8 weights with zero point 128 and narrow-ranged weights with any zero point.
std::optional<Tensor> centered_s8(const Tensor& w, const Tensor* zero_point, int axis);

}  // namespace nnaccel::quant
