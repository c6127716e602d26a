// ai.nnaccel QAdd (see INT8_CONTRACT.md): a quantized Add unit, optionally activated,
//   y = saturate(round_half_even(act(a_scale*(a - a_zp) + b_scale*(b - b_zp)) / y_scale) + y_zp)
// with numpy broadcasting of a and b. Computed in double: the oracle for the simd kernel.
#include <cmath>

#include "core/dtype_dispatch.hpp"
#include "ops/quant_fused.hpp"
#include "ops/quant_kernels.hpp"

namespace nnaccel {

namespace {

void infer_qadd(InferContext& ctx) {
  for (int i : {0, 3, 7}) {
    const DType t = ctx.type(i).dtype;
    if (t != DType::undefined && t != DType::u8 && t != DType::i8)
      ctx.fail("input {} must be uint8 or int8, got {}", i, dtype_name(t));
  }
  TypeInfo t;
  t.dtype = ctx.type(7).dtype;
  t.has_shape = ctx.type(0).has_shape && ctx.type(3).has_shape;
  if (t.has_shape) t.dims = broadcast_dims(ctx, {&ctx.type(0), &ctx.type(3)});
  ctx.outputs[0] = t;
  fused_activation_of(ctx.node);
}

// Element strides of `s` read at the indices of the broadcast shape `out` (0 on broadcast dims).
std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  int64_t stride = 1;
  for (size_t i = s.size(); i-- > 0;) {
    const size_t o = out.size() - s.size() + i;
    st[o] = s[i] == 1 ? 0 : stride;
    stride *= s[i];
  }
  return st;
}

void run_qadd(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  quant::check_u8_or_i8(ctx, a.dtype(), "a");
  quant::check_u8_or_i8(ctx, b.dtype(), "b");
  const double a_scale = quant::scalar_scale(ctx, 1, "a_scale");
  const int32_t a_zp = quant::zero_points(ctx, 2, a.dtype(), 0, "a_zero_point")[0];
  const double b_scale = quant::scalar_scale(ctx, 4, "b_scale");
  const int32_t b_zp = quant::zero_points(ctx, 5, b.dtype(), 0, "b_zero_point")[0];
  const double y_scale = quant::scalar_scale(ctx, 6, "y_scale");
  const DType out = ctx.input(7).dtype();
  quant::check_u8_or_i8(ctx, out, "y_zero_point");
  const int32_t y_zp = quant::zero_points(ctx, 7, out, 0, "y_zero_point")[0];
  const FusedActivation act = fused_activation_of(ctx.node);
  Shape shape;
  try {
    shape = broadcast_shapes(a.shape(), b.shape());
  } catch (const Error&) {
    ctx.fail("shapes {} and {} do not broadcast", shape_str(a.shape()), shape_str(b.shape()));
  }
  const std::vector<int32_t> av = quant::to_int32(ctx, a), bv = quant::to_int32(ctx, b);
  const std::vector<int64_t> sa = broadcast_strides(a.shape(), shape);
  const std::vector<int64_t> sb = broadcast_strides(b.shape(), shape);
  int64_t lo, hi;
  quant::quant_range(ctx, out, lo, hi);
  Tensor y(out, shape);
  visit_numeric(out, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t>) {
      T* dst = y.data<T>();
      std::vector<int64_t> idx(shape.size(), 0);
      int64_t ia = 0, ib = 0;
      for (int64_t i = 0; i < y.numel(); ++i) {
        const double v = a_scale * (av[static_cast<size_t>(ia)] - a_zp) +
                         b_scale * (bv[static_cast<size_t>(ib)] - b_zp);
        const double r = std::nearbyint(quant::activate(act, v) / y_scale);
        dst[i] = static_cast<T>(quant::round_saturate(r + y_zp, lo, hi));
        for (size_t d = shape.size(); d-- > 0;) {  // odometer, keeping ia and ib in step
          ia += sa[d];
          ib += sb[d];
          if (++idx[d] < shape[d]) break;
          ia -= sa[d] * idx[d];
          ib -= sb[d] * idx[d];
          idx[d] = 0;
        }
      }
    }
  });
  ctx.outputs[0] = y;
}

}  // namespace

void register_quant_fused_add_ops(OpRegistry& r) {
  r.add({"QAdd", "ai.nnaccel", infer_qadd, run_qadd});
}

}  // namespace nnaccel
