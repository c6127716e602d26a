// Ops of the 'quant_fused' family (domain ai.nnaccel, see ops.def and INT8_CONTRACT.md): QConv
// and QMatMul here, QAdd in quant_fused_add.cpp. They are what fuse_qdq writes in place of
// DequantizeLinear -> Conv/Gemm/MatMul (+ activation, + residual) -> QuantizeLinear units.
#include "ops/quant_fused.hpp"

#include <cmath>

#include "core/dtype_dispatch.hpp"
#include "ops/quant_kernels.hpp"

namespace nnaccel {

void register_quant_fused_add_ops(OpRegistry& r);
void register_quant_fused_lookup_ops(OpRegistry& r);

namespace quant {

double activate(const FusedActivation& a, double x) {
  switch (a.kind) {
    case ActivationKind::none:
      return x;
    case ActivationKind::relu:
      return x > 0.0 ? x : 0.0;
    case ActivationKind::clip:
      return x < a.alpha ? a.alpha : (x > a.beta ? a.beta : x);
    case ActivationKind::hard_sigmoid: {
      const double y = static_cast<double>(a.alpha) * x + a.beta;
      return y < 0.0 ? 0.0 : (y > 1.0 ? 1.0 : y);
    }
    case ActivationKind::hard_swish: {
      const double y = x / 6.0 + 0.5;
      return x * (y < 0.0 ? 0.0 : (y > 1.0 ? 1.0 : y));
    }
    case ActivationKind::sigmoid:
      return 1.0 / (1.0 + std::exp(-x));
    case ActivationKind::leaky_relu:
      return x >= 0.0 ? x : a.alpha * x;
    case ActivationKind::gelu:
      return 0.5 * x * (1.0 + std::erf(x * 0.70710678118654752));
    case ActivationKind::gelu_tanh:
      return 0.5 * x * (1.0 + std::tanh(0.79788456080286536 * (x + 0.044715 * x * x * x)));
    case ActivationKind::tanh:
      return std::tanh(x);
  }
  return x;
}

namespace {
bool is_scalar(const Tensor& t) { return t.rank() == 0 || (t.rank() == 1 && t.numel() == 1); }

double checked_scale(const OpContext& ctx, float v, const char* what) {
  if (!std::isfinite(v) || !(v > 0.0f)) ctx.fail("{} must be positive and finite, got {}", what, v);
  return v;
}
}  // namespace

double scalar_scale(const OpContext& ctx, int input, const char* what) {
  const Tensor& t = ctx.input(input);
  if (t.dtype() != DType::f32) ctx.fail("{} must be float32, got {}", what, dtype_name(t.dtype()));
  if (!is_scalar(t)) ctx.fail("{} must be a scalar, got shape {}", what, shape_str(t.shape()));
  return checked_scale(ctx, t.data<float>()[0], what);
}

std::vector<double> channel_scales(const OpContext& ctx, int input, int64_t n, const char* what) {
  const Tensor& t = ctx.input(input);
  if (t.dtype() != DType::f32) ctx.fail("{} must be float32, got {}", what, dtype_name(t.dtype()));
  if (!is_scalar(t) && !(t.rank() == 1 && t.numel() == n))
    ctx.fail("{} must be a scalar or [{}], got shape {}", what, n, shape_str(t.shape()));
  std::vector<double> s;
  for (int64_t i = 0; i < t.numel(); ++i) s.push_back(checked_scale(ctx, t.data<float>()[i], what));
  return s;
}

std::vector<int32_t> zero_points(const OpContext& ctx, int input, DType dtype, int64_t n,
                                 const char* what) {
  const Tensor& t = ctx.input(input);
  if (t.dtype() != dtype)
    ctx.fail("{} must be {} like its tensor, got {}", what, dtype_name(dtype),
             dtype_name(t.dtype()));
  if (!is_scalar(t) && !(n > 0 && t.rank() == 1 && t.numel() == n))
    ctx.fail("{} must be a scalar{}, got shape {}", what, n > 0 ? fmt::format(" or [{}]", n) : "",
             shape_str(t.shape()));
  return to_int32(ctx, t);
}

void check_u8_or_i8(const OpContext& ctx, DType t, const char* what) {
  if (t != DType::u8 && t != DType::i8)
    ctx.fail("{} must be uint8 or int8, got {}", what, dtype_name(t));
}

Tensor quantized_output(const OpContext& ctx, const std::vector<int32_t>& acc,
                        const Shape& out_shape, int64_t channels, int64_t inner,
                        const std::vector<double>& acc_scale, const OutputStageInputs& in) {
  auto has = [&](int i) { return i >= 0 && ctx.has_input(i); };
  const bool quantized = has(in.y_scale);
  if (quantized != has(in.y_zero_point))
    ctx.fail("y_scale and y_zero_point must be given together (or both omitted for float output)");
  std::vector<int64_t> bias(static_cast<size_t>(channels), 0);
  if (has(in.bias)) {
    const Tensor& b = ctx.input(in.bias);
    if (b.dtype() != DType::i32) ctx.fail("bias must be int32, got {}", dtype_name(b.dtype()));
    if (b.rank() != 1 || b.numel() != channels)
      ctx.fail("bias must have shape [{}], got {}", channels, shape_str(b.shape()));
    for (int64_t c = 0; c < channels; ++c) bias[static_cast<size_t>(c)] = b.data<int32_t>()[c];
  }
  std::vector<int32_t> z;
  double z_scale = 0;
  int32_t z_zp = 0;
  if (has(in.z)) {
    const Tensor& zt = ctx.input(in.z);
    check_u8_or_i8(ctx, zt.dtype(), "z (residual)");
    if (zt.shape() != out_shape)
      ctx.fail("z (residual) has shape {} but the output is {}", shape_str(zt.shape()),
               shape_str(out_shape));
    if (!has(in.z_scale) || !has(in.z_zero_point))
      ctx.fail("z (residual) needs z_scale and z_zero_point");
    z_scale = scalar_scale(ctx, in.z_scale, "z_scale");
    z_zp = zero_points(ctx, in.z_zero_point, zt.dtype(), 0, "z_zero_point")[0];
    z = to_int32(ctx, zt);
  }
  double mid_scale = 0;
  int32_t mid_zp = 0;
  int64_t mid_lo = 0, mid_hi = 0;
  if (has(in.mid_scale) || has(in.mid_zero_point)) {
    if (!has(in.mid_scale) || !has(in.mid_zero_point))
      ctx.fail("mid_scale and mid_zero_point must be given together");
    if (z.empty()) ctx.fail("mid_scale needs z (the residual it is added to)");
    mid_scale = scalar_scale(ctx, in.mid_scale, "mid_scale");
    const DType mid_type = ctx.input(in.mid_zero_point).dtype();
    check_u8_or_i8(ctx, mid_type, "mid_zero_point");
    mid_zp = zero_points(ctx, in.mid_zero_point, mid_type, 0, "mid_zero_point")[0];
    quant_range(ctx, mid_type, mid_lo, mid_hi);
  }
  const FusedActivation act = fused_activation_of(ctx.node);
  double y_scale = 1;
  int32_t y_zp = 0;
  DType out = DType::f32;
  if (quantized) {
    y_scale = scalar_scale(ctx, in.y_scale, "y_scale");
    out = ctx.input(in.y_zero_point).dtype();
    check_u8_or_i8(ctx, out, "y_zero_point");
    y_zp = zero_points(ctx, in.y_zero_point, out, 0, "y_zero_point")[0];
  }
  if (static_cast<int64_t>(acc.size()) != shape_numel(out_shape))
    ctx.fail("internal: {} accumulators for output shape {}", acc.size(), shape_str(out_shape));
  auto value = [&](size_t i) {
    const size_t c = static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels);
    double v = acc_scale[acc_scale.size() == 1 ? 0 : c] * static_cast<double>(acc[i] + bias[c]);
    if (mid_scale > 0) {
      const int64_t q = round_saturate(std::nearbyint(v / mid_scale) + mid_zp, mid_lo, mid_hi);
      v = mid_scale * static_cast<double>(q - mid_zp);
    }
    if (!z.empty()) v += z_scale * static_cast<double>(z[i] - z_zp);
    return activate(act, v);
  };
  Tensor y(out, out_shape);
  if (!quantized) {
    float* dst = y.data<float>();
    for (size_t i = 0; i < acc.size(); ++i) dst[i] = static_cast<float>(value(i));
    return y;
  }
  int64_t lo, hi;
  quant_range(ctx, out, lo, hi);
  visit_numeric(out, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t>) {
      T* dst = y.data<T>();
      for (size_t i = 0; i < acc.size(); ++i) {
        const double r = std::nearbyint(value(i) / y_scale);
        dst[i] = static_cast<T>(round_saturate(r + y_zp, lo, hi));
      }
    }
  });
  return y;
}

DType quantized_output_dtype(const InferContext& ctx, int zp) {
  return ctx.has_input(zp) ? ctx.type(zp).dtype : DType::f32;
}

}  // namespace quant

namespace {

// Integer operand minus its zero point, the zero point one value or one per index of `axis`.
std::vector<int32_t> shifted(const OpContext& ctx, const Tensor& t, const std::vector<int32_t>& zp,
                             int axis) {
  std::vector<int32_t> v = quant::to_int32(ctx, t);
  int64_t inner = 1;
  for (int d = axis + 1; d < t.rank(); ++d) inner *= t.dim(d);
  const int64_t channels = t.rank() > 0 ? t.dim(axis) : 1;
  for (size_t i = 0; i < v.size(); ++i)
    v[i] -= zp.size() == 1 ? zp[0]
                           : zp[static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels)];
  return v;
}

std::vector<double> products(double a, const std::vector<double>& b) {
  std::vector<double> r;
  for (double v : b) r.push_back(a * v);
  return r;
}

// --- QConv ------------------------------------------------------------------------------------

void check_dtype(const InferContext& ctx, int i, std::initializer_list<DType> ok,
                 const char* what) {
  if (!ctx.has_input(i)) return;
  const DType t = ctx.type(i).dtype;
  if (t == DType::undefined) return;
  for (DType d : ok)
    if (t == d) return;
  ctx.fail("{} has element type {}, not one this op accepts", what, dtype_name(t));
}

void infer_qconv(InferContext& ctx) {
  check_dtype(ctx, 0, {DType::u8, DType::i8}, "x");
  check_dtype(ctx, 3, {DType::i8}, "w");
  check_dtype(ctx, 7, {DType::u8, DType::i8}, "y_zero_point");
  quant::infer_conv_output(ctx, 0, 3, quant::quantized_output_dtype(ctx, 7));
  fused_activation_of(ctx.node);  // attribute errors at load time rather than the first run
}

void run_qconv(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(3);
  quant::check_u8_or_i8(ctx, x.dtype(), "x");
  if (w.dtype() != DType::i8) ctx.fail("w must be int8, got {}", dtype_name(w.dtype()));
  quant::ConvGeometry g = quant::conv_geometry(ctx, x.shape(), w.shape());
  const double x_scale = quant::scalar_scale(ctx, 1, "x_scale");
  const std::vector<int32_t> x_zp = quant::zero_points(ctx, 2, x.dtype(), 0, "x_zero_point");
  const std::vector<double> w_scale = quant::channel_scales(ctx, 4, g.M, "w_scale");
  const std::vector<int32_t> w_zp = quant::zero_points(ctx, 5, DType::i8, g.M, "w_zero_point");
  std::vector<int32_t> acc =
      quant::conv_int32(g, shifted(ctx, x, x_zp, 0), shifted(ctx, w, w_zp, 0));
  Shape out{g.N, g.M};
  out.insert(out.end(), g.out.begin(), g.out.end());
  int64_t spatial = 1;
  for (int64_t o : g.out) spatial *= o;
  ctx.outputs[0] = quant::quantized_output(ctx, acc, out, g.M, spatial, products(x_scale, w_scale),
                                           {.y_scale = 6,
                                            .y_zero_point = 7,
                                            .bias = 8,
                                            .z = 9,
                                            .z_scale = 10,
                                            .z_zero_point = 11,
                                            .mid_scale = 12,
                                            .mid_zero_point = 13});
}

// --- QMatMul ----------------------------------------------------------------------------------

void infer_qmatmul(InferContext& ctx) {
  check_dtype(ctx, 0, {DType::u8, DType::i8}, "a");
  check_dtype(ctx, 3, {DType::i8}, "b");
  check_dtype(ctx, 7, {DType::u8, DType::i8}, "y_zero_point");
  const TypeInfo& b = ctx.type(3);
  if (b.has_shape && b.dims.size() != 2)
    ctx.fail("b must be a [K, N] matrix, got rank {}", b.dims.size());
  TypeInfo t;
  t.dtype = quant::quantized_output_dtype(ctx, 7);
  t.has_shape = quant::infer_matmul_dims(ctx, ctx.type(0), b, t.dims);
  ctx.outputs[0] = t;
  fused_activation_of(ctx.node);
}

void run_qmatmul(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  quant::check_u8_or_i8(ctx, a.dtype(), "a");
  if (b.dtype() != DType::i8) ctx.fail("b must be int8, got {}", dtype_name(b.dtype()));
  if (b.rank() != 2) ctx.fail("b must be a [K, N] matrix, got shape {}", shape_str(b.shape()));
  quant::MatMulDims d = quant::matmul_dims(ctx, a.shape(), b.shape());
  const double a_scale = quant::scalar_scale(ctx, 1, "a_scale");
  const std::vector<int32_t> a_zp = quant::zero_points(ctx, 2, a.dtype(), 0, "a_zero_point");
  const std::vector<double> b_scale = quant::channel_scales(ctx, 4, d.N, "b_scale");
  const std::vector<int32_t> b_zp = quant::zero_points(ctx, 5, DType::i8, d.N, "b_zero_point");
  std::vector<int32_t> acc =
      quant::matmul_int32(d, shifted(ctx, a, a_zp, 0), shifted(ctx, b, b_zp, 1));
  ctx.outputs[0] = quant::quantized_output(ctx, acc, d.out, d.N, 1, products(a_scale, b_scale),
                                           {.y_scale = 6, .y_zero_point = 7, .bias = 8});
}

}  // namespace

void register_quant_fused_ops(OpRegistry& r) {
  r.add({"QConv", "ai.nnaccel", infer_qconv, run_qconv});
  r.add({"QMatMul", "ai.nnaccel", infer_qmatmul, run_qmatmul});
  register_quant_fused_add_ops(r);
  register_quant_fused_lookup_ops(r);
}

}  // namespace nnaccel
