// Integer matrix products and convolutions of the 'quant' family: MatMulInteger, ConvInteger
// (int32 accumulators) and QLinearMatMul, QLinearConv (requantized to the output zero point's
// type, round half to even, saturating).
#include "core/dtype_dispatch.hpp"
#include "ops/op_registry.hpp"
#include "ops/quant_kernels.hpp"

namespace nnaccel {

namespace {

using quant::MatMulDims;

void check_quantized_operand(const OpContext& ctx, const Tensor& t, const char* name) {
  if (t.dtype() != DType::u8 && t.dtype() != DType::i8)
    ctx.fail("{} must be uint8 or int8, got {}", name, dtype_name(t.dtype()));
}

// Operand minus its zero point, where the zero point is a scalar (any 1-element tensor), a
// vector of `vec_len` values along `vec_axis` of the promoted operand (per-row for A, per-column
// for B, per-output-channel for conv weights), or a tensor broadcastable to the operand.
std::vector<int32_t> shift_by_zero_point(const OpContext& ctx, const Tensor& x, const Shape& shape,
                                         const Tensor* zp, size_t vec_axis, const char* name) {
  check_quantized_operand(ctx, x, name);
  std::vector<int32_t> v = quant::to_int32(ctx, x);
  if (zp == nullptr) return v;
  if (zp->dtype() != x.dtype())
    ctx.fail("zero point of {} is {} but {} is {}", name, dtype_name(zp->dtype()), name,
             dtype_name(x.dtype()));
  std::vector<int32_t> z = quant::to_int32(ctx, *zp);
  Shape zshape = zp->shape();
  if (zp->numel() != 1 && zp->rank() == 1) {
    if (zp->numel() != shape[vec_axis])
      ctx.fail("zero point of {} has {} values, expected 1 or {}", name, zp->numel(),
               shape[vec_axis]);
    zshape.assign(shape.size(), 1);
    zshape[vec_axis] = zp->numel();
  }
  return quant::subtract_broadcast(ctx, v, shape, z, zshape);
}

// Scale or zero point vector of 1 or `n` values.
void check_count(const OpContext& ctx, const Tensor& t, int64_t n, const char* what) {
  if (t.numel() != 1 && !(t.rank() == 1 && t.numel() == n))
    ctx.fail("{} must have 1 or {} values, got shape {}", what, n, shape_str(t.shape()));
}
void check_scalar(const OpContext& ctx, const Tensor& t, const char* what) {
  if (t.numel() != 1) ctx.fail("{} must be a scalar, got shape {}", what, shape_str(t.shape()));
}

// Requantizes int32 accumulators: y = saturate(round(acc * multiplier) + zero_point) with the
// multiplier formed in float as the spec's reference does (a_scale * b_scale / y_scale).
Tensor requantize(const OpContext& ctx, const std::vector<int32_t>& acc, const Shape& shape,
                  const Tensor& y_zp, int64_t rows, int64_t cols,
                  const std::vector<float>& row_mult, const std::vector<float>& col_mult) {
  int64_t lo, hi;
  quant::quant_range(ctx, y_zp.dtype(), lo, hi);
  const int64_t zp = quant::to_int32(ctx, y_zp)[0];
  Tensor y(y_zp.dtype(), shape);
  visit_numeric(y_zp.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      T* dst = y.data<T>();
      const int64_t per = rows * cols;
      for (size_t i = 0; i < acc.size(); ++i) {
        const int64_t in_block = static_cast<int64_t>(i) % per;
        const float rm = row_mult.size() == 1 ? row_mult[0] : row_mult[in_block / cols];
        const float cm = col_mult.size() == 1 ? col_mult[0] : col_mult[in_block % cols];
        const float m = rm * cm;
        const double v = std::nearbyint(static_cast<double>(acc[i]) * static_cast<double>(m));
        dst[i] = static_cast<T>(quant::round_saturate(v + static_cast<double>(zp), lo, hi));
      }
    }
  });
  return y;
}

// --- MatMulInteger / QLinearMatMul ------------------------------------------------------------

void infer_matmul_integer(InferContext& ctx) {
  TypeInfo t;
  t.dtype = DType::i32;
  t.has_shape = quant::infer_matmul_dims(ctx, ctx.type(0), ctx.type(1), t.dims);
  ctx.outputs[0] = t;
}

void run_matmul_integer(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  MatMulDims d = quant::matmul_dims(ctx, a.shape(), b.shape());
  const Tensor* azp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const Tensor* bzp = ctx.has_input(3) ? &ctx.input(3) : nullptr;
  std::vector<int32_t> av = shift_by_zero_point(ctx, a, d.a, azp, d.a.size() - 2, "A");
  std::vector<int32_t> bv = shift_by_zero_point(ctx, b, d.b, bzp, d.b.size() - 1, "B");
  std::vector<int32_t> acc = quant::matmul_int32(d, av, bv);
  Tensor y(DType::i32, d.out);
  std::copy(acc.begin(), acc.end(), y.data<int32_t>());
  ctx.outputs[0] = y;
}

void infer_qlinear_matmul(InferContext& ctx) {
  TypeInfo t;
  t.dtype = ctx.type(7).dtype;
  t.has_shape = quant::infer_matmul_dims(ctx, ctx.type(0), ctx.type(3), t.dims);
  ctx.outputs[0] = t;
}

void run_qlinear_matmul(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& a_scale = ctx.input(1);
  const Tensor& b = ctx.input(3);
  const Tensor& b_scale = ctx.input(4);
  const Tensor& y_scale = ctx.input(6);
  const Tensor& y_zp = ctx.input(7);
  MatMulDims d = quant::matmul_dims(ctx, a.shape(), b.shape());
  check_count(ctx, a_scale, d.M, "a_scale (per row)");
  check_count(ctx, b_scale, d.N, "b_scale (per column)");
  check_scalar(ctx, y_scale, "y_scale");
  check_scalar(ctx, y_zp, "y_zero_point");
  std::vector<int32_t> av = shift_by_zero_point(ctx, a, d.a, &ctx.input(2), d.a.size() - 2, "a");
  std::vector<int32_t> bv = shift_by_zero_point(ctx, b, d.b, &ctx.input(5), d.b.size() - 1, "b");
  std::vector<int32_t> acc = quant::matmul_int32(d, av, bv);
  std::vector<float> as = quant::to_float(ctx, a_scale), bs = quant::to_float(ctx, b_scale);
  const float ys = quant::to_float(ctx, y_scale)[0];
  if (!(ys != 0)) ctx.fail("y_scale must be non-zero");
  // Row factor a_scale / y_scale times column factor b_scale: for per-tensor scales this is the
  // reference's a_scale * b_scale / y_scale up to float rounding of the association.
  std::vector<float> rows(as.size()), cols = bs;
  if (as.size() == 1 && bs.size() == 1) {
    rows[0] = as[0] * bs[0] / ys;
    cols[0] = 1.0f;
  } else {
    for (size_t i = 0; i < as.size(); ++i) rows[i] = as[i] / ys;
  }
  ctx.outputs[0] = requantize(ctx, acc, d.out, y_zp, d.M, d.N, rows, cols);
}

// --- ConvInteger / QLinearConv ------------------------------------------------------------------

// Shifted x and w for a conv: x by a scalar zero point, w per output channel.
quant::ConvGeometry conv_operands(const OpContext& ctx, const Tensor& x, const Tensor* xzp,
                                  const Tensor& w, const Tensor* wzp, std::vector<int32_t>& xs,
                                  std::vector<int32_t>& ws) {
  quant::ConvGeometry g = quant::conv_geometry(ctx, x.shape(), w.shape());
  if (xzp) check_scalar(ctx, *xzp, "x_zero_point");
  if (wzp) check_count(ctx, *wzp, g.M, "w_zero_point (per output channel)");
  xs = shift_by_zero_point(ctx, x, x.shape(), xzp, 0, "x");
  ws = shift_by_zero_point(ctx, w, w.shape(), wzp, 0, "w");
  return g;
}

Shape conv_out_shape(const quant::ConvGeometry& g) {
  Shape s{g.N, g.M};
  s.insert(s.end(), g.out.begin(), g.out.end());
  return s;
}

void infer_conv_integer(InferContext& ctx) { quant::infer_conv_output(ctx, 0, 1, DType::i32); }

void run_conv_integer(OpContext& ctx) {
  std::vector<int32_t> xs, ws;
  quant::ConvGeometry g =
      conv_operands(ctx, ctx.input(0), ctx.has_input(2) ? &ctx.input(2) : nullptr, ctx.input(1),
                    ctx.has_input(3) ? &ctx.input(3) : nullptr, xs, ws);
  std::vector<int32_t> acc = quant::conv_int32(g, xs, ws);
  Tensor y(DType::i32, conv_out_shape(g));
  std::copy(acc.begin(), acc.end(), y.data<int32_t>());
  ctx.outputs[0] = y;
}

void infer_qlinear_conv(InferContext& ctx) {
  quant::infer_conv_output(ctx, 0, 3, ctx.type(7).dtype);
}

void run_qlinear_conv(OpContext& ctx) {
  const Tensor& x_scale = ctx.input(1);
  const Tensor& w_scale = ctx.input(4);
  const Tensor& y_scale = ctx.input(6);
  const Tensor& y_zp = ctx.input(7);
  std::vector<int32_t> xs, ws;
  quant::ConvGeometry g =
      conv_operands(ctx, ctx.input(0), &ctx.input(2), ctx.input(3), &ctx.input(5), xs, ws);
  check_scalar(ctx, x_scale, "x_scale");
  check_count(ctx, w_scale, g.M, "w_scale (per output channel)");
  check_scalar(ctx, y_scale, "y_scale");
  check_scalar(ctx, y_zp, "y_zero_point");
  std::vector<int32_t> acc = quant::conv_int32(g, xs, ws);
  const int64_t spatial = g.M > 0 && g.N > 0 ? static_cast<int64_t>(acc.size()) / (g.N * g.M) : 0;
  if (ctx.has_input(8)) {
    const Tensor& bias = ctx.input(8);
    if (bias.dtype() != DType::i32)
      ctx.fail("bias must be int32, got {}", dtype_name(bias.dtype()));
    if (bias.rank() != 1 || bias.numel() != g.M)
      ctx.fail("bias must have shape [{}], got {}", g.M, shape_str(bias.shape()));
    const int32_t* pb = bias.data<int32_t>();
    for (size_t i = 0; i < acc.size(); ++i) {
      const int64_t m = (static_cast<int64_t>(i) / spatial) % g.M;
      acc[i] = static_cast<int32_t>(static_cast<uint32_t>(acc[i]) + static_cast<uint32_t>(pb[m]));
    }
  }
  const float xsc = quant::to_float(ctx, x_scale)[0];
  const float ysc = quant::to_float(ctx, y_scale)[0];
  if (!(ysc != 0)) ctx.fail("y_scale must be non-zero");
  std::vector<float> wsc = quant::to_float(ctx, w_scale);
  // One multiplier per output channel: rows are (n, m) pairs, columns the spatial positions.
  std::vector<float> mult(static_cast<size_t>(g.N * g.M));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t m = 0; m < g.M; ++m)
      mult[static_cast<size_t>(n * g.M + m)] =
          xsc * wsc[wsc.size() == 1 ? 0 : static_cast<size_t>(m)] / ysc;
  ctx.outputs[0] = requantize(ctx, acc, conv_out_shape(g), y_zp, g.N * g.M, spatial, mult, {1.0f});
}

}  // namespace

void register_quant_integer_ops(OpRegistry& r) {
  r.add({"MatMulInteger", "", infer_matmul_integer, run_matmul_integer});
  r.add({"QLinearMatMul", "", infer_qlinear_matmul, run_qlinear_matmul});
  r.add({"ConvInteger", "", infer_conv_integer, run_conv_integer});
  r.add({"QLinearConv", "", infer_qlinear_conv, run_qlinear_conv});
}

}  // namespace nnaccel
