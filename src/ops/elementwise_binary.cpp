// Ops of the 'elementwise_binary' family (see ops.def): arithmetic with numpy broadcasting
// (Add Sub Mul Div Mod Pow PRelu), the variadic Max Min Sum Mean. Comparisons, logic, BitShift
// and Where are in elementwise_logic.cpp.
#include <cmath>

#include "ops/elementwise_common.hpp"

namespace nnaccel {

using namespace elementwise;

namespace {

// ---- Same-type arithmetic ----------------------------------------------------------------------

void check_same_types(const OpContext& ctx, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    ctx.fail("inputs have different element types {} and {}", dtype_name(a.dtype()),
             dtype_name(b.dtype()));
}

// op(a, b) over the broadcast of a and b, both of one type in `set`; f16/bf16 compute in f32.
// `op` is generic: called with two values of the element type.
template <typename Op>
Tensor arith(const OpContext& ctx, const Tensor& a, const Tensor& b, TypeSet set, Op&& op) {
  check_same_types(ctx, a, b);
  check_type(ctx, 0, a.dtype(), set);
  if (is_half(a.dtype()))
    return cast_tensor(arith(ctx, cast_tensor(a, DType::f32), cast_tensor(b, DType::f32), set, op),
                       a.dtype());
  return visit_numeric(a.dtype(), [&](auto tag) -> Tensor {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool inputs are not supported");
    } else {
      return broadcast_binary<T, T, T>(ctx, a, b, a.dtype(), op);
    }
  });
}

// Integer division and modulo by zero are errors, not crashes.
void check_no_zero_divisor(const OpContext& ctx, const Tensor& b) {
  if (!is_int(b.dtype())) return;
  visit_numeric(b.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = b.data<T>();
    for (int64_t i = 0; i < b.numel(); ++i)
      if (p[i] == T(0)) ctx.fail("integer division by zero (divisor element {})", i);
  });
}

template <typename T>
T divide(T x, T y) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    if (y == -1) return wrap_neg(x);  // the most negative value / -1 overflows in C++
    return static_cast<T>(x / y);     // truncates toward zero, like C
  } else {
    return static_cast<T>(x / y);
  }
}

// fmod = 1: the remainder has the dividend's sign (C fmod / %). fmod = 0: the divisor's sign
// (Python and numpy's mod), for floats too, as ONNX's reference implementation does.
template <typename T>
T modulo(T x, T y, bool c_fmod) {
  T r;
  if constexpr (std::is_floating_point_v<T>) {
    r = std::fmod(x, y);
  } else if constexpr (std::is_signed_v<T>) {
    if (y == -1) return T(0);
    r = static_cast<T>(x % y);
  } else {
    r = static_cast<T>(x % y);
  }
  if (!c_fmod && r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
  return r;
}

// NaN propagates through Max and Min, as in numpy's maximum/minimum.
template <typename T>
T max_of(T x, T y) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<T>::quiet_NaN();
  }
  return x < y ? y : x;
}
template <typename T>
T min_of(T x, T y) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<T>::quiet_NaN();
  }
  return y < x ? y : x;
}

void run_div(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  check_same_types(ctx, a, b);
  check_no_zero_divisor(ctx, b);
  ctx.outputs[0] = arith(ctx, a, b, TypeSet::numeric, [](auto x, auto y) { return divide(x, y); });
}

void run_mod(OpContext& ctx) {
  const int64_t fmod = ctx.attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1) ctx.fail("fmod must be 0 or 1, got {}", fmod);
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  check_same_types(ctx, a, b);
  check_no_zero_divisor(ctx, b);
  ctx.outputs[0] =
      arith(ctx, a, b, TypeSet::numeric, [&](auto x, auto y) { return modulo(x, y, fmod == 1); });
}

// ---- Variadic ops ------------------------------------------------------------------------------

// Folds `op` over all inputs with multidirectional broadcasting. f16/bf16 inputs are accumulated
// in f32; the result is f32 for them (the caller rounds once at the end).
template <typename Op>
Tensor fold_inputs(const OpContext& ctx, TypeSet set, Op&& op) {
  if (ctx.num_inputs() == 0) ctx.fail("needs at least one input");
  const Tensor& first = ctx.input(0);
  check_type(ctx, 0, first.dtype(), set);
  const bool half = is_half(first.dtype());
  Tensor acc = half ? cast_tensor(first, DType::f32) : first;
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    const Tensor& in = ctx.input(i);
    if (in.dtype() != first.dtype())
      ctx.fail("input {} has element type {}, expected {} like input 0", i, dtype_name(in.dtype()),
               dtype_name(first.dtype()));
    acc = arith(ctx, acc, half ? cast_tensor(in, DType::f32) : in, set, op);
  }
  return acc;
}

template <typename Op>
void run_fold(OpContext& ctx, TypeSet set, Op&& op) {
  const DType t = ctx.input(0).dtype();
  Tensor r = fold_inputs(ctx, set, op);
  ctx.outputs[0] = is_half(t) ? cast_tensor(r, t) : r;
}

void run_mean(OpContext& ctx) {
  const DType t = ctx.input(0).dtype();
  Tensor sum = fold_inputs(ctx, TypeSet::floats, [](auto x, auto y) { return x + y; });
  const int n = ctx.num_inputs();
  Tensor mean = map_float(ctx, sum, [n](auto v) { return v / static_cast<decltype(v)>(n); });
  ctx.outputs[0] = is_half(t) ? cast_tensor(mean, t) : mean;
}

// ---- Pow ---------------------------------------------------------------------------------------

// Integer power by squaring, wrapping on overflow. Negative exponents give the truncated exact
// result (0 unless the base is 1 or -1); 0 to a negative power is a division by zero.
template <typename T>
T int_pow(const OpContext& ctx, T base, int64_t e) {
  if (e < 0) {
    if (base == T(0)) ctx.fail("integer 0 raised to the negative power {}", e);
    if (base == T(1)) return T(1);
    if constexpr (std::is_signed_v<T>) {
      if (base == T(-1)) return static_cast<T>(e % 2 == 0 ? 1 : -1);
    }
    return T(0);
  }
  T result = T(1);
  while (e > 0) {
    if (e & 1) result = wrap_mul(result, base);
    e >>= 1;
    if (e > 0) base = wrap_mul(base, base);
  }
  return result;
}

// Base and exponent may have different types; the output has the base's type.
Tensor power(const OpContext& ctx, const Tensor& a, const Tensor& b) {
  check_type(ctx, 0, a.dtype(), TypeSet::numeric);
  check_type(ctx, 1, b.dtype(), TypeSet::numeric);
  if (is_half(a.dtype())) return cast_tensor(power(ctx, cast_tensor(a, DType::f32), b), a.dtype());
  return visit_numeric(a.dtype(), [&](auto tag) -> Tensor {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool inputs are not supported");
    } else if constexpr (std::is_floating_point_v<T>) {
      // double holds every exponent value exactly up to 2^53.
      const Tensor e = cast_tensor(b, DType::f64);
      return broadcast_binary<T, T, double>(ctx, a, e, a.dtype(), [](T x, double y) {
        return static_cast<T>(std::pow(static_cast<double>(x), y));
      });
    } else if (is_float(b.dtype())) {
      // numpy computes int ** float in double and the result is cast back: truncation.
      const Tensor e = cast_tensor(b, DType::f64);
      return broadcast_binary<T, T, double>(ctx, a, e, a.dtype(), [](T x, double y) {
        return saturate_to<T>(std::pow(static_cast<double>(x), y));
      });
    } else {
      const Tensor e = cast_tensor(b, DType::i64);
      return broadcast_binary<T, T, int64_t>(ctx, a, e, a.dtype(),
                                             [&](T x, int64_t y) { return int_pow(ctx, x, y); });
    }
  });
}

// ---- PRelu -------------------------------------------------------------------------------------

// The slope broadcasts to X (unidirectionally): the output always has X's shape.
void run_prelu(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& slope = ctx.input(1);
  Tensor y = arith(ctx, x, slope, TypeSet::numeric, [](auto v, auto s) {
    using T = decltype(v);
    if constexpr (std::is_unsigned_v<T>) {
      (void)s;
      return v;
    } else {
      return v < T(0) ? wrap_mul(v, s) : v;
    }
  });
  if (y.shape() != x.shape())
    ctx.fail("slope of shape {} does not broadcast to the input's shape {}",
             shape_str(slope.shape()), shape_str(x.shape()));
  ctx.outputs[0] = y;
}

// ---- Shape functions ---------------------------------------------------------------------------

// All inputs of one type in S; output: that type, broadcast shape.
template <TypeSet S>
void infer_arith(InferContext& ctx) {
  const DType t = ctx.type(0).dtype;
  check_type(ctx, 0, t, S);
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    const DType u = ctx.type(i).dtype;
    if (t != DType::undefined && u != DType::undefined && u != t)
      ctx.fail("input {} has element type {}, expected {} like input 0", i, dtype_name(u),
               dtype_name(t));
  }
  infer_broadcast_same_dtype(ctx);
}

void infer_pow(InferContext& ctx) {
  check_type(ctx, 0, ctx.type(0).dtype, TypeSet::numeric);
  check_type(ctx, 1, ctx.type(1).dtype, TypeSet::numeric);
  infer_broadcast_same_dtype(ctx);
}

void infer_prelu(InferContext& ctx) {
  infer_arith<TypeSet::numeric>(ctx);
  const TypeInfo& x = ctx.type(0);
  if (ctx.outputs[0].has_shape && x.has_shape) {
    const std::vector<Dim>& out = ctx.outputs[0].dims;
    bool ok = out.size() == x.dims.size();
    for (size_t i = 0; ok && i < out.size(); ++i)
      ok = !(out[i].known() && x.dims[i].known() && out[i].value != x.dims[i].value);
    if (!ok) ctx.fail("slope does not broadcast to the input's shape");
  }
  ctx.outputs[0] = x;
}

}  // namespace

void register_elementwise_binary_ops(OpRegistry& r) {
  r.add({"Add", "", infer_arith<TypeSet::numeric>, [](OpContext& c) {
           c.outputs[0] = arith(c, c.input(0), c.input(1), TypeSet::numeric,
                                [](auto x, auto y) { return wrap_add(x, y); });
         }});
  r.add({"Sub", "", infer_arith<TypeSet::numeric>, [](OpContext& c) {
           c.outputs[0] = arith(c, c.input(0), c.input(1), TypeSet::numeric,
                                [](auto x, auto y) { return wrap_sub(x, y); });
         }});
  r.add({"Mul", "", infer_arith<TypeSet::numeric>, [](OpContext& c) {
           c.outputs[0] = arith(c, c.input(0), c.input(1), TypeSet::numeric,
                                [](auto x, auto y) { return wrap_mul(x, y); });
         }});
  r.add({"Div", "", infer_arith<TypeSet::numeric>, run_div});
  r.add({"Mod", "", infer_arith<TypeSet::numeric>, run_mod});
  r.add({"Pow", "", infer_pow,
         [](OpContext& c) { c.outputs[0] = power(c, c.input(0), c.input(1)); }});
  r.add({"PRelu", "", infer_prelu, run_prelu});

  r.add({"Max", "", infer_arith<TypeSet::numeric>, [](OpContext& c) {
           run_fold(c, TypeSet::numeric, [](auto x, auto y) { return max_of(x, y); });
         }});
  r.add({"Min", "", infer_arith<TypeSet::numeric>, [](OpContext& c) {
           run_fold(c, TypeSet::numeric, [](auto x, auto y) { return min_of(x, y); });
         }});
  r.add({"Sum", "", infer_arith<TypeSet::floats>,
         [](OpContext& c) { run_fold(c, TypeSet::floats, [](auto x, auto y) { return x + y; }); }});
  r.add({"Mean", "", infer_arith<TypeSet::floats>, run_mean});

  register_elementwise_logic_ops(r);
}

}  // namespace nnaccel
