// Ops of the 'elementwise_unary' family (see ops.def): math functions, rounding, predicates,
// Clip, Identity and Not. The activations (Relu, Elu, Sigmoid, ...) are in
// elementwise_activation.cpp.
#include <cmath>
#include <limits>

#include "ops/elementwise_common.hpp"

namespace nnaccel {

using namespace elementwise;

namespace {

// Ops computing a float function of a float input: f16/bf16 in f32.
void add_float(OpRegistry& r, const char* name, RunFn run) {
  r.add({name, "", infer_unary<TypeSet::floats>, run});
}

template <typename T>
T sign_of(T v) {
  if constexpr (std::is_unsigned_v<T>) {
    return static_cast<T>(v > 0 ? 1 : 0);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (v > 0) return T(1);
    if (v < 0) return T(-1);
    return v == 0 ? T(0) : v;  // NaN stays NaN
  } else {
    return static_cast<T>(v > 0 ? 1 : (v < 0 ? -1 : 0));
  }
}

template <typename T>
T abs_of(T v) {
  if constexpr (std::is_unsigned_v<T>) {
    return v;
  } else if constexpr (std::is_floating_point_v<T>) {
    return std::fabs(v);
  } else {
    return v < 0 ? wrap_neg(v) : v;  // the most negative value wraps to itself, as in numpy
  }
}

// The scalar bound of Clip input i (1 = min, 2 = max), or `def` when omitted.
template <typename T>
T clip_bound(const OpContext& ctx, const Tensor& x, int i, T def) {
  if (!ctx.has_input(i)) return def;
  const Tensor& b = ctx.input(i);
  if (b.dtype() != x.dtype())
    ctx.fail("input {} ({}) has element type {}, expected {} like the input", i,
             i == 1 ? "min" : "max", dtype_name(b.dtype()), dtype_name(x.dtype()));
  if (b.numel() != 1)
    ctx.fail("input {} ({}) must be a scalar, got shape {}", i, i == 1 ? "min" : "max",
             shape_str(b.shape()));
  if constexpr (std::is_same_v<T, float>) {
    if (is_half(b.dtype())) return cast_tensor(b, DType::f32).data<float>()[0];
  }
  return b.data<T>()[0];
}

void run_clip(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  check_type(ctx, 0, x.dtype(), TypeSet::numeric);
  const bool half = is_half(x.dtype());
  const Tensor xs = half ? cast_tensor(x, DType::f32) : x;
  Tensor y(xs.dtype(), xs.shape());
  visit_numeric(xs.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      const T lo = clip_bound<T>(ctx, x, 1, std::numeric_limits<T>::lowest());
      const T hi = clip_bound<T>(ctx, x, 2, std::numeric_limits<T>::max());
      // max then min: min > max gives max everywhere (the spec's rule); NaN stays NaN.
      auto f = [&](T v) { return std::min(std::max(v, lo), hi); };
      map_into<T, T>(xs, y, f);
    }
  });
  ctx.outputs[0] = half ? cast_tensor(y, x.dtype()) : y;
}

void infer_clip(InferContext& ctx) {
  const DType t = ctx.type(0).dtype;
  check_type(ctx, 0, t, TypeSet::numeric);
  for (int i = 1; i <= 2; ++i) {
    if (!ctx.has_input(i)) continue;
    const TypeInfo& b = ctx.type(i);
    if (t != DType::undefined && b.dtype != DType::undefined && b.dtype != t)
      ctx.fail("input {} has element type {}, expected {} like the input", i, dtype_name(b.dtype),
               dtype_name(t));
    if (b.has_shape)
      for (const Dim& d : b.dims)
        if (d.known() && d.value != 1)
          ctx.fail("input {} ({}) must be a scalar", i, i == 1 ? "min" : "max");
  }
  ctx.outputs[0] = ctx.type(0);
}

void run_not(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  check_type(ctx, 0, x.dtype(), TypeSet::boolean);
  Tensor y(DType::boolean, x.shape());
  auto f = [](bool v) { return !v; };
  map_into<bool, bool>(x, y, f);
  ctx.outputs[0] = y;
}

void run_is_inf(OpContext& ctx) {
  const bool neg = ctx.attr_int("detect_negative", 1) != 0;
  const bool pos = ctx.attr_int("detect_positive", 1) != 0;
  ctx.outputs[0] = predicate_float(ctx, ctx.input(0), [&](auto v) {
    return std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg));
  });
}

}  // namespace

void register_elementwise_unary_ops(OpRegistry& r) {
  // Trigonometric and hyperbolic functions.
  add_float(r, "Acos", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::acos(v); });
  });
  add_float(r, "Acosh", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::acosh(v); });
  });
  add_float(r, "Asin", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::asin(v); });
  });
  add_float(r, "Asinh", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::asinh(v); });
  });
  add_float(r, "Atan", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::atan(v); });
  });
  add_float(r, "Atanh", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::atanh(v); });
  });
  add_float(r, "Cos", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::cos(v); });
  });
  add_float(r, "Cosh", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::cosh(v); });
  });
  add_float(r, "Sin", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::sin(v); });
  });
  add_float(r, "Sinh", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::sinh(v); });
  });
  add_float(r, "Tan", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::tan(v); });
  });
  add_float(r, "Tanh", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::tanh(v); });
  });

  // Exponentials, roots, reciprocal, erf.
  add_float(r, "Exp", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::exp(v); });
  });
  add_float(r, "Log", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::log(v); });
  });
  add_float(r, "Sqrt", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::sqrt(v); });
  });
  add_float(r, "Reciprocal", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return static_cast<decltype(v)>(1) / v; });
  });
  add_float(r, "Erf", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::erf(v); });
  });

  // Rounding. Round is half to even: nearbyint in the default rounding mode.
  add_float(r, "Ceil", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::ceil(v); });
  });
  add_float(r, "Floor", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::floor(v); });
  });
  add_float(r, "Round", [](OpContext& c) {
    c.outputs[0] = map_float(c, c.input(0), [](auto v) { return std::nearbyint(v); });
  });

  // Sign-related ops, also on integers.
  r.add({"Abs", "", infer_unary<TypeSet::numeric>, [](OpContext& c) {
           c.outputs[0] =
               map_numeric(c, c.input(0), TypeSet::numeric, [](auto v) { return abs_of(v); });
         }});
  r.add({"Neg", "", infer_unary<TypeSet::signed_numeric>, [](OpContext& c) {
           c.outputs[0] = map_numeric(c, c.input(0), TypeSet::signed_numeric,
                                      [](auto v) { return wrap_neg(v); });
         }});
  r.add({"Sign", "", infer_unary<TypeSet::numeric>, [](OpContext& c) {
           c.outputs[0] =
               map_numeric(c, c.input(0), TypeSet::numeric, [](auto v) { return sign_of(v); });
         }});

  // Predicates.
  r.add({"IsNaN", "", infer_unary_bool<TypeSet::floats>, [](OpContext& c) {
           c.outputs[0] = predicate_float(c, c.input(0), [](auto v) { return std::isnan(v); });
         }});
  r.add({"IsInf", "", infer_unary_bool<TypeSet::floats>, run_is_inf});

  r.add({"Clip", "", infer_clip, run_clip});
  r.add({"Not", "", infer_unary<TypeSet::boolean>, run_not});
  // Tensors are immutable once produced, so Identity shares the input's buffer.
  r.add({"Identity", "", infer_unary<TypeSet::numeric_or_bool>,
         [](OpContext& c) { c.outputs[0] = c.input(0); }});

  register_elementwise_activation_ops(r);
}

}  // namespace nnaccel
