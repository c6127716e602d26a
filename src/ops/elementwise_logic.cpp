// Comparisons, boolean logic, BitShift and Where of the 'elementwise_binary' family, all with
// numpy broadcasting.
#include <limits>

#include "ops/elementwise_common.hpp"

namespace nnaccel::elementwise {

namespace {

// A bool tensor of pred(a, b) over the broadcast; a and b of one type in `set` (f16/bf16 are
// compared in f32, which holds them exactly).
template <typename Pred>
Tensor compare(const OpContext& ctx, TypeSet set, Pred&& pred) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype())
    ctx.fail("inputs have different element types {} and {}", dtype_name(a.dtype()),
             dtype_name(b.dtype()));
  check_type(ctx, 0, a.dtype(), set);
  const bool half = is_half(a.dtype());
  const Tensor as = half ? cast_tensor(a, DType::f32) : a;
  const Tensor bs = half ? cast_tensor(b, DType::f32) : b;
  return visit_numeric(as.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return broadcast_binary<bool, T, T>(ctx, as, bs, DType::boolean, pred);
  });
}

// And, Or, Xor: bool inputs, bool output.
template <typename Op>
void run_logic(OpContext& ctx, Op op) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  check_type(ctx, 0, a.dtype(), TypeSet::boolean);
  check_type(ctx, 1, b.dtype(), TypeSet::boolean);
  ctx.outputs[0] = broadcast_binary<bool, bool, bool>(ctx, a, b, DType::boolean, op);
}

void infer_logic(InferContext& ctx) {
  check_type(ctx, 0, ctx.type(0).dtype, TypeSet::boolean);
  check_type(ctx, 1, ctx.type(1).dtype, TypeSet::boolean);
  infer_broadcast_bool(ctx);
}

// Shifting by the type's width or more gives 0 (in C++ it would be undefined).
void run_bit_shift(OpContext& ctx) {
  const std::string dir = ctx.attr_string("direction", "");
  if (dir != "LEFT" && dir != "RIGHT")
    ctx.fail("direction must be \"LEFT\" or \"RIGHT\", got \"{}\"", dir);
  const bool left = dir == "LEFT";
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype())
    ctx.fail("inputs have different element types {} and {}", dtype_name(a.dtype()),
             dtype_name(b.dtype()));
  check_type(ctx, 0, a.dtype(), TypeSet::unsigned_ints);
  ctx.outputs[0] = visit_numeric(a.dtype(), [&](auto tag) -> Tensor {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
      constexpr T kBits = static_cast<T>(std::numeric_limits<T>::digits);
      using W = WrapType<T>;
      return broadcast_binary<T, T, T>(ctx, a, b, a.dtype(), [left](T x, T s) {
        if (s >= kBits) return T(0);
        return static_cast<T>(left ? static_cast<W>(x) << s : static_cast<W>(x) >> s);
      });
    } else {
      ctx.fail("unsupported element type");
    }
  });
}

void infer_bit_shift(InferContext& ctx) {
  check_type(ctx, 0, ctx.type(0).dtype, TypeSet::unsigned_ints);
  check_type(ctx, 1, ctx.type(1).dtype, TypeSet::unsigned_ints);
  infer_broadcast_same_dtype(ctx);
}

// Where(cond, X, Y): pure data movement, so any element type of X's size works (f16 included).
void run_where(OpContext& ctx) {
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  check_type(ctx, 0, c.dtype(), TypeSet::boolean);
  check_type(ctx, 1, x.dtype(), TypeSet::numeric_or_bool);
  if (x.dtype() != y.dtype())
    ctx.fail("X and Y have different element types {} and {}", dtype_name(x.dtype()),
             dtype_name(y.dtype()));
  BroadcastPlan p = plan_broadcast(ctx, {&c.shape(), &x.shape(), &y.shape()});
  Tensor out(x.dtype(), p.out_shape);
  visit_by_size(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const bool* pc = c.data<bool>();
    const T* px = x.data<T>();
    const T* py = y.data<T>();
    T* po = out.data<T>();
    for_each_broadcast<3>(p, [&](int64_t i, const std::array<int64_t, 3>& off) {
      po[i] = pc[off[0]] ? px[off[1]] : py[off[2]];
    });
  });
  ctx.outputs[0] = out;
}

void infer_where(InferContext& ctx) {
  check_type(ctx, 0, ctx.type(0).dtype, TypeSet::boolean);
  const TypeInfo& x = ctx.type(1);
  const TypeInfo& y = ctx.type(2);
  if (x.dtype != DType::undefined && y.dtype != DType::undefined && x.dtype != y.dtype)
    ctx.fail("X and Y have different element types {} and {}", dtype_name(x.dtype),
             dtype_name(y.dtype));
  TypeInfo t;
  t.dtype = x.dtype != DType::undefined ? x.dtype : y.dtype;
  if (ctx.type(0).has_shape && x.has_shape && y.has_shape) {
    t.has_shape = true;
    t.dims = broadcast_dims(ctx, {&ctx.type(0), &x, &y});
  }
  ctx.outputs[0] = t;
}

template <TypeSet S>
void infer_compare(InferContext& ctx) {
  const DType a = ctx.type(0).dtype;
  const DType b = ctx.type(1).dtype;
  check_type(ctx, 0, a, S);
  if (a != DType::undefined && b != DType::undefined && a != b)
    ctx.fail("inputs have different element types {} and {}", dtype_name(a), dtype_name(b));
  infer_broadcast_bool(ctx);
}

}  // namespace

void register_elementwise_logic_ops(OpRegistry& r) {
  r.add({"Equal", "", infer_compare<TypeSet::numeric_or_bool>, [](OpContext& c) {
           c.outputs[0] =
               compare(c, TypeSet::numeric_or_bool, [](auto x, auto y) { return x == y; });
         }});
  r.add({"Greater", "", infer_compare<TypeSet::numeric>, [](OpContext& c) {
           c.outputs[0] = compare(c, TypeSet::numeric, [](auto x, auto y) { return x > y; });
         }});
  r.add({"GreaterOrEqual", "", infer_compare<TypeSet::numeric>, [](OpContext& c) {
           c.outputs[0] = compare(c, TypeSet::numeric, [](auto x, auto y) { return x >= y; });
         }});
  r.add({"Less", "", infer_compare<TypeSet::numeric>, [](OpContext& c) {
           c.outputs[0] = compare(c, TypeSet::numeric, [](auto x, auto y) { return x < y; });
         }});
  r.add({"LessOrEqual", "", infer_compare<TypeSet::numeric>, [](OpContext& c) {
           c.outputs[0] = compare(c, TypeSet::numeric, [](auto x, auto y) { return x <= y; });
         }});

  r.add({"And", "", infer_logic,
         [](OpContext& c) { run_logic(c, [](bool x, bool y) { return x && y; }); }});
  r.add({"Or", "", infer_logic,
         [](OpContext& c) { run_logic(c, [](bool x, bool y) { return x || y; }); }});
  r.add({"Xor", "", infer_logic,
         [](OpContext& c) { run_logic(c, [](bool x, bool y) { return x != y; }); }});

  r.add({"BitShift", "", infer_bit_shift, run_bit_shift});
  r.add({"Where", "", infer_where, run_where});
}

}  // namespace nnaccel::elementwise
