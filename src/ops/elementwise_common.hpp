#pragma once
// Shared machinery of the elementwise op families: the one broadcasting engine every binary,
// ternary and variadic op iterates with, element-type sets for checking inputs, and integer
// arithmetic that wraps instead of overflowing (numpy's behaviour, and no UB on bad input).
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/cast.hpp"
#include "core/dtype_dispatch.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel::elementwise {

// ---- Broadcasting ------------------------------------------------------------------------------

// How N inputs broadcast (numpy rules) to one output. `dims` are the iteration axes after merging
// adjacent axes that are contiguous for every input, so same-shape inputs, scalars and trailing
// biases run as one or two flat loops; `strides[k][d]` is input k's element stride along dims[d]
// (0 where it is broadcast).
struct BroadcastPlan {
  Shape out_shape;  // the output tensor's shape
  Shape dims;
  std::vector<Shape> strides;
  int64_t numel = 0;
};

// Throws Error naming the node when the shapes do not broadcast.
BroadcastPlan plan_broadcast(const OpContext& ctx, const std::vector<const Shape*>& shapes);

// Calls f(out_index, offsets) for every output element in row-major order, where offsets[k] is
// the element index into input k. N is the number of inputs the plan was made for.
template <size_t N, typename F>
void for_each_broadcast(const BroadcastPlan& p, F&& f) {
  if (p.numel == 0) return;
  std::array<int64_t, N> base{};
  const size_t rank = p.dims.size();
  if (rank == 0) {
    f(int64_t{0}, base);
    return;
  }
  std::array<int64_t, N> step{};
  for (size_t k = 0; k < N; ++k) step[k] = p.strides[k][rank - 1];
  const int64_t inner = p.dims[rank - 1];
  const int64_t outer = p.numel / inner;
  std::vector<int64_t> idx(rank, 0);  // counter over the outer axes, once per call
  int64_t out = 0;
  for (int64_t o = 0; o < outer; ++o) {
    std::array<int64_t, N> off = base;
    for (int64_t i = 0; i < inner; ++i, ++out) {
      f(out, off);
      for (size_t k = 0; k < N; ++k) off[k] += step[k];
    }
    for (size_t d = rank - 1; d-- > 0;) {
      if (++idx[d] < p.dims[d]) {
        for (size_t k = 0; k < N; ++k) base[k] += p.strides[k][d];
        break;
      }
      idx[d] = 0;
      for (size_t k = 0; k < N; ++k) base[k] -= p.strides[k][d] * (p.dims[d] - 1);
    }
  }
}

// out[i] = f(a[ia], b[ib]) over the broadcast of a and b; the output has dtype `out_dtype`, whose
// C++ type is Out.
template <typename Out, typename A, typename B, typename F>
Tensor broadcast_binary(const OpContext& ctx, const Tensor& a, const Tensor& b, DType out_dtype,
                        F&& f) {
  BroadcastPlan p = plan_broadcast(ctx, {&a.shape(), &b.shape()});
  Tensor out(out_dtype, p.out_shape);
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  Out* po = out.data<Out>();
  for_each_broadcast<2>(p, [&](int64_t i, const std::array<int64_t, 2>& off) {
    po[i] = static_cast<Out>(f(pa[off[0]], pb[off[1]]));
  });
  return out;
}

// ---- Element types -----------------------------------------------------------------------------

inline bool is_half(DType t) { return t == DType::f16 || t == DType::bf16; }
inline bool is_float(DType t) { return t == DType::f32 || t == DType::f64 || is_half(t); }
// 8- to 64-bit integers (the 4-bit types are storage formats, not elementwise operands).
inline bool is_signed_int(DType t) {
  return t == DType::i8 || t == DType::i16 || t == DType::i32 || t == DType::i64;
}
inline bool is_unsigned_int(DType t) {
  return t == DType::u8 || t == DType::u16 || t == DType::u32 || t == DType::u64;
}
inline bool is_int(DType t) { return is_signed_int(t) || is_unsigned_int(t); }

// The element types an op accepts, as the ONNX spec's type constraints group them.
enum class TypeSet {
  floats,          // f16 bf16 f32 f64
  signed_numeric,  // floats and signed integers
  numeric,         // floats and all integers
  unsigned_ints,   // u8 u16 u32 u64
  boolean,
  numeric_or_bool,  // every type the reference kernels store
};
bool in_type_set(DType t, TypeSet s);
const char* type_set_name(TypeSet s);

// Fails naming the node when `t` is known and not in `s`.
template <typename Ctx>
void check_type(const Ctx& ctx, int input, DType t, TypeSet s) {
  if (t != DType::undefined && !in_type_set(t, s))
    ctx.fail("input {} has element type {}, expected {}", input, dtype_name(t), type_set_name(s));
}

// ---- Unary maps --------------------------------------------------------------------------------

template <typename T, typename R, typename F>
void map_into(const Tensor& x, Tensor& y, F& f) {
  const T* px = x.data<T>();
  R* py = y.data<R>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) py[i] = static_cast<R>(f(px[i]));
}

// y = f(x) for a float tensor; f16/bf16 are computed in f32 and rounded back. f is generic: it is
// called with float or double.
template <typename F>
Tensor map_float(const OpContext& ctx, const Tensor& x, F&& f) {
  check_type(ctx, 0, x.dtype(), TypeSet::floats);
  if (is_half(x.dtype()))
    return cast_tensor(map_float(ctx, cast_tensor(x, DType::f32), f), x.dtype());
  Tensor y(x.dtype(), x.shape());
  if (x.dtype() == DType::f32) {
    map_into<float, float>(x, y, f);
  } else {
    map_into<double, double>(x, y, f);
  }
  return y;
}

// y = f(x) for any numeric tensor whose type is in `set`; f is called with the element type
// (f32 for f16/bf16) and its result converted back to it.
template <typename F>
Tensor map_numeric(const OpContext& ctx, const Tensor& x, TypeSet set, F&& f) {
  check_type(ctx, 0, x.dtype(), set);
  if (is_half(x.dtype()))
    return cast_tensor(map_numeric(ctx, cast_tensor(x, DType::f32), set, f), x.dtype());
  Tensor y(x.dtype(), x.shape());
  visit_numeric(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) map_into<T, T>(x, y, f);
  });
  return y;
}

// A bool tensor of pred(x) for a float tensor (IsNaN, IsInf).
template <typename F>
Tensor predicate_float(const OpContext& ctx, const Tensor& x, F&& pred) {
  check_type(ctx, 0, x.dtype(), TypeSet::floats);
  if (is_half(x.dtype())) return predicate_float(ctx, cast_tensor(x, DType::f32), pred);
  Tensor y(DType::boolean, x.shape());
  if (x.dtype() == DType::f32) {
    map_into<float, bool>(x, y, pred);
  } else {
    map_into<double, bool>(x, y, pred);
  }
  return y;
}

// Shape functions of unary ops: output = input 0's type (or bool), after checking its dtype.
template <TypeSet S>
void infer_unary(InferContext& ctx) {
  check_type(ctx, 0, ctx.type(0).dtype, S);
  ctx.outputs[0] = ctx.type(0);
}
template <TypeSet S>
void infer_unary_bool(InferContext& ctx) {
  check_type(ctx, 0, ctx.type(0).dtype, S);
  ctx.outputs[0] = ctx.type(0);
  ctx.outputs[0].dtype = DType::boolean;
}

// ---- Wrapping integer arithmetic ---------------------------------------------------------------

// The unsigned type integer arithmetic on T is done in: at least `unsigned`, so that small types
// do not promote to (signed) int and overflow there.
template <typename T>
using WrapType =
    std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

template <typename T>
T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapType<T>>(a) + static_cast<WrapType<T>>(b));
  } else {
    return a + b;
  }
}
template <typename T>
T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapType<T>>(a) - static_cast<WrapType<T>>(b));
  } else {
    return a - b;
  }
}
template <typename T>
T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapType<T>>(a) * static_cast<WrapType<T>>(b));
  } else {
    return a * b;
  }
}
template <typename T>
T wrap_neg(T a) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(WrapType<T>{0} - static_cast<WrapType<T>>(a));
  } else {
    return -a;
  }
}

// double -> T, saturating at T's range for integers (as Cast does;
// out-of-range float to int is undefined in C++).
template <typename T>
T saturate_to(double d) {
  if constexpr (std::is_integral_v<T>) {
    if (std::isnan(d)) return T(0);
    if (d <= static_cast<double>(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    if (d >= static_cast<double>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
  }
  return static_cast<T>(d);
}

// Registration of the files a family is split into.
void register_elementwise_activation_ops(OpRegistry& r);
void register_elementwise_logic_ops(OpRegistry& r);

}  // namespace nnaccel::elementwise
