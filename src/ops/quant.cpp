// Ops of the 'quant' family (see ops.def): QuantizeLinear, DequantizeLinear and
// DynamicQuantizeLinear here; the integer matmul/conv ops in quant_integer.cpp.
#include "core/cast.hpp"
#include "core/dtype_dispatch.hpp"
#include "ops/op_registry.hpp"
#include "ops/quant_kernels.hpp"

namespace nnaccel {

void register_quant_integer_ops(OpRegistry& r);

namespace {

using quant::round_saturate;

// How a scale / zero-point pair maps onto x: one value for all elements, or one per index of
// `axis` (x viewed as [outer, channels, inner]).
struct QuantAxis {
  int64_t outer = 1, channels = 1, inner = 1;
  bool per_axis = false;
};

QuantAxis quant_axis(const OpContext& ctx, const Tensor& x, const Tensor& scale, const Tensor* zp) {
  QuantAxis q;
  q.inner = x.numel();
  if (zp != nullptr && zp->shape() != scale.shape())
    ctx.fail("zero point shape {} differs from scale shape {}", shape_str(zp->shape()),
             shape_str(scale.shape()));
  if (scale.rank() == 0 || (scale.rank() == 1 && scale.numel() == 1)) return q;
  if (scale.rank() != 1)
    ctx.fail("scale must be a scalar or a 1-D tensor, got shape {}", shape_str(scale.shape()));
  int64_t axis = ctx.attr_int("axis", 1);
  if (axis < -x.rank() || axis >= x.rank())
    ctx.fail("axis {} is out of range for input rank {}", axis, x.rank());
  if (axis < 0) axis += x.rank();
  q.per_axis = true;
  q.channels = x.dim(static_cast<int>(axis));
  if (scale.numel() != q.channels)
    ctx.fail("scale has {} values but input dimension {} (axis) is {}", scale.numel(), axis,
             q.channels);
  q.outer = 1;
  for (int i = 0; i < axis; ++i) q.outer *= x.dim(i);
  q.inner = 1;
  for (int i = static_cast<int>(axis) + 1; i < x.rank(); ++i) q.inner *= x.dim(i);
  return q;
}

// --- QuantizeLinear: y = saturate(round_half_even(x / scale) + zero_point) ---------------------

DType quantize_out_dtype(const Tensor* zp) { return zp ? zp->dtype() : DType::u8; }

void infer_quantize(InferContext& ctx) {
  ctx.outputs[0] = ctx.type(0);
  ctx.outputs[0].dtype = ctx.has_input(2) ? ctx.type(2).dtype : DType::u8;
}

void run_quantize(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const DType out = quantize_out_dtype(zp);
  int64_t lo, hi;
  quant::quant_range(ctx, out, lo, hi);
  QuantAxis q = quant_axis(ctx, x, scale, zp);
  std::vector<float> s = quant::to_float(ctx, scale);
  std::vector<int32_t> z = zp ? quant::to_int32(ctx, *zp) : std::vector<int32_t>(s.size(), 0);
  for (float v : s)
    if (!(v != 0)) ctx.fail("scale must be non-zero, got {}", v);

  Tensor y(out, x.shape());
  // The spec divides in the input's precision: float inputs in float, int32 inputs in double.
  const bool int_input = x.dtype() == DType::i32;
  if (!int_input && !dtype_is_float(x.dtype()))
    ctx.fail("input must be float or int32, got {}", dtype_name(x.dtype()));
  Tensor xf = int_input ? cast_tensor(x, DType::f64) : x;
  if (xf.dtype() == DType::f16 || xf.dtype() == DType::bf16) xf = cast_tensor(xf, DType::f32);
  visit_numeric(out, [&](auto otag) {
    using O = typename decltype(otag)::type;
    if constexpr (std::is_integral_v<O> && !std::is_same_v<O, bool>) {
      O* dst = y.data<O>();
      visit_numeric(xf.dtype(), [&](auto itag) {
        using I = typename decltype(itag)::type;
        if constexpr (std::is_floating_point_v<I>) {
          const I* src = xf.data<I>();
          for (int64_t o = 0; o < q.outer; ++o)
            for (int64_t c = 0; c < q.channels; ++c) {
              const I sc = static_cast<I>(s[static_cast<size_t>(c)]);
              const int64_t zc = z[static_cast<size_t>(c)];
              const int64_t base = (o * q.channels + c) * q.inner;
              for (int64_t i = 0; i < q.inner; ++i) {
                const I r = std::nearbyint(src[base + i] / sc);
                dst[base + i] = static_cast<O>(round_saturate(static_cast<double>(r) + zc, lo, hi));
              }
            }
        }
      });
    }
  });
  ctx.outputs[0] = y;
}

// --- DequantizeLinear: y = (x - zero_point) * scale ---------------------------------------------

void infer_dequantize(InferContext& ctx) {
  ctx.outputs[0] = ctx.type(0);
  ctx.outputs[0].dtype = ctx.type(1).dtype;
}

void run_dequantize(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (zp && zp->dtype() != x.dtype())
    ctx.fail("zero point is {} but the input is {}", dtype_name(zp->dtype()),
             dtype_name(x.dtype()));
  QuantAxis q = quant_axis(ctx, x, scale, zp);
  std::vector<int32_t> xi = quant::to_int32(ctx, x);
  std::vector<float> s = quant::to_float(ctx, scale);
  std::vector<int32_t> z = zp ? quant::to_int32(ctx, *zp) : std::vector<int32_t>(s.size(), 0);
  if (x.dtype() == DType::i32)
    for (int32_t v : z)
      if (v != 0) ctx.fail("an int32 input requires a zero point of 0, got {}", v);
  // Computed in float like the spec's reference ((float(x) - float(zp)) * scale), then stored in
  // the scale's dtype.
  Tensor y(DType::f32, x.shape());
  float* dst = y.data<float>();
  for (int64_t o = 0; o < q.outer; ++o)
    for (int64_t c = 0; c < q.channels; ++c) {
      const float sc = s[static_cast<size_t>(c)];
      const float zc = static_cast<float>(z[static_cast<size_t>(c)]);
      const int64_t base = (o * q.channels + c) * q.inner;
      for (int64_t i = 0; i < q.inner; ++i)
        dst[base + i] = (static_cast<float>(xi[static_cast<size_t>(base + i)]) - zc) * sc;
    }
  ctx.outputs[0] = cast_tensor(y, scale.dtype());
}

// --- DynamicQuantizeLinear: u8 with scale and zero point from the data's range (incl. 0) -------

void infer_dynamic_quantize(InferContext& ctx) {
  ctx.outputs[0] = ctx.type(0);
  ctx.outputs[0].dtype = DType::u8;
  if (ctx.num_outputs() > 1) ctx.outputs[1] = TypeInfo::of(DType::f32, {});
  if (ctx.num_outputs() > 2) ctx.outputs[2] = TypeInfo::of(DType::u8, {});
}

void run_dynamic_quantize(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<float> v = quant::to_float(ctx, x);
  float lo = 0, hi = 0;
  for (float e : v) {
    if (std::isnan(e)) ctx.fail("input contains NaN");
    lo = std::min(lo, e);
    hi = std::max(hi, e);
  }
  const float scale = (hi - lo) / 255.0f;
  Tensor y(DType::u8, x.shape());
  uint8_t zero_point = 0;
  if (scale > 0) {
    zero_point = static_cast<uint8_t>(round_saturate(std::nearbyint((0.0f - lo) / scale), 0, 255));
    uint8_t* dst = y.data<uint8_t>();
    for (size_t i = 0; i < v.size(); ++i)
      dst[i] = static_cast<uint8_t>(
          round_saturate(static_cast<double>(std::nearbyint(v[i] / scale)) + zero_point, 0, 255));
  }  // else all zeros: y stays 0 with scale 0, zero point 0
  ctx.outputs[0] = y;
  if (ctx.num_outputs() > 1) ctx.outputs[1] = Tensor::scalar_f32(scale);
  if (ctx.num_outputs() > 2) {
    Tensor z(DType::u8, {});
    z.data<uint8_t>()[0] = zero_point;
    ctx.outputs[2] = z;
  }
}

}  // namespace

void register_quant_ops(OpRegistry& r) {
  r.add({"QuantizeLinear", "", infer_quantize, run_quantize});
  r.add({"DequantizeLinear", "", infer_dequantize, run_dequantize});
  r.add({"DynamicQuantizeLinear", "", infer_dynamic_quantize, run_dynamic_quantize});
  register_quant_integer_ops(r);
}

}  // namespace nnaccel
