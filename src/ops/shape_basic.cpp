// Shape-family ops that create tensors or describe shapes: Constant, ConstantOfShape, Shape,
// Size, Range, EyeLike, Trilu.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/cast.hpp"
#include "ops/shape_util.hpp"

namespace nnaccel {

using namespace shape_util;

namespace {

// ---- Constant ----------------------------------------------------------------------------------

[[noreturn]] void fail_node(const Node& node, const std::string& msg) {
  throw Error(node.describe() + ": " + msg);
}

Tensor constant_value(const Node& node) {
  const Attribute* found = nullptr;
  int count = 0;
  for (const char* n : {"value", "value_float", "value_floats", "value_int", "value_ints",
                        "value_string", "value_strings", "sparse_value"}) {
    if (const Attribute* a = node.attr(n)) {
      found = a;
      ++count;
    }
  }
  if (count != 1) fail_node(node, fmt::format("needs exactly one value attribute, has {}", count));
  const std::string& n = found->name;
  if (n == "value_string" || n == "value_strings")
    fail_node(node, "string tensors are not supported");
  if (n == "sparse_value") fail_node(node, "sparse tensors are not supported");
  if (n == "value") {
    if (found->kind != Attribute::Kind::t || !found->t.defined())
      fail_node(node, "attribute 'value' must be a tensor");
    return found->t;
  }
  if (n == "value_float") return Tensor::scalar_f32(node.attr_float(n, 0));
  if (n == "value_int") return Tensor::scalar_i64(node.attr_int(n, 0));
  if (n == "value_floats") {
    std::vector<float> v = node.attr_floats(n);
    return vector_tensor(DType::f32, v);
  }
  std::vector<int64_t> v = node.attr_ints(n);
  return vector_tensor(DType::i64, v);
}

void run_constant(OpContext& ctx) {
  // The attribute tensor is shared, not copied: kernels never write to their inputs.
  ctx.outputs[0] = constant_value(ctx.node);
}

void infer_constant(InferContext& ctx) {
  Tensor t = constant_value(ctx.node);
  ctx.outputs[0] = TypeInfo::of(t.dtype(), t.shape());
}

// ---- ConstantOfShape ---------------------------------------------------------------------------

// The fill value: a one-element tensor (float 0 by default).
template <typename Ctx>
Tensor fill_value(const Ctx& ctx) {
  const Attribute* a = ctx.node.attr("value");
  if (a == nullptr) return Tensor::scalar_f32(0);
  if (a->kind != Attribute::Kind::t || !a->t.defined())
    ctx.fail("attribute 'value' must be a tensor");
  if (a->t.numel() != 1) ctx.fail("attribute 'value' must hold one element, has {}", a->t.numel());
  return a->t;
}

template <typename Ctx>
Shape shape_from_values(const Ctx& ctx, const Tensor& t, const char* what) {
  if (t.rank() > 1) ctx.fail("{} must be 1-D, has shape {}", what, shape_str(t.shape()));
  if (t.dtype() != DType::i64) ctx.fail("{} must be int64, got {}", what, dtype_name(t.dtype()));
  Shape s = int_values(ctx, t, what);
  int64_t n = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] < 0) ctx.fail("{} has a negative dimension {} at index {}", what, s[i], i);
    n = mul_size(ctx, n, s[i], what);
  }
  return s;
}

void run_constant_of_shape(OpContext& ctx) {
  Tensor value = fill_value(ctx);
  Shape shape = shape_from_values(ctx, ctx.input(0), "shape");
  Tensor out = new_tensor(ctx, value.dtype(), shape);
  size_t es = elem_bytes(ctx, value.dtype());
  bool zero = true;
  const auto* vb = static_cast<const uint8_t*>(value.raw());
  for (size_t b = 0; b < es; ++b) zero = zero && vb[b] == 0;
  if (!zero) {
    visit_by_size(value.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T v;
      std::memcpy(&v, value.raw(), sizeof(T));
      std::fill_n(out.data<T>(), out.numel(), v);
    });
  }
  ctx.outputs[0] = out;
}

void infer_constant_of_shape(InferContext& ctx) {
  DType dt = fill_value(ctx).dtype();
  if (const Tensor* s = ctx.value(0)) {
    ctx.outputs[0] = TypeInfo::of(dt, shape_from_values(ctx, *s, "shape"));
    return;
  }
  const TypeInfo& st = ctx.type(0);
  if (st.has_shape && st.dims.size() == 1 && st.dims[0].known())
    ctx.outputs[0] = with_rank(dt, rank_from_length(ctx, st.dims[0].value));
  else
    ctx.outputs[0] = unknown_rank(dt);
}

// ---- Shape and Size ----------------------------------------------------------------------------

// [start, end) of the dims Shape reports (opset 15 attributes, clamped as the spec says).
std::pair<int64_t, int64_t> shape_bounds(const Node& node, int64_t rank) {
  auto clamp = [&](int64_t v) {
    if (v < 0) v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  int64_t start = clamp(node.attr_int("start", 0));
  int64_t end = clamp(node.attr_int("end", rank));
  return {start, std::max(start, end)};
}

void run_shape(OpContext& ctx) {
  const Shape& s = ctx.input(0).shape();
  auto [start, end] = shape_bounds(ctx.node, static_cast<int64_t>(s.size()));
  ctx.outputs[0] = vector_tensor(DType::i64, Shape(s.begin() + start, s.begin() + end));
}

void infer_shape(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  if (!in.has_shape) {
    ctx.outputs[0] = with_rank(DType::i64, 1);
    return;
  }
  auto [start, end] = shape_bounds(ctx.node, static_cast<int64_t>(in.dims.size()));
  ctx.outputs[0] = with_dims(DType::i64, {known_dim(end - start)});
}

void run_size(OpContext& ctx) { ctx.outputs[0] = Tensor::scalar_i64(ctx.input(0).numel()); }

void infer_size(InferContext& ctx) { ctx.outputs[0] = with_dims(DType::i64, {}); }

// ---- Range -------------------------------------------------------------------------------------

bool range_dtype_ok(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::i16 || t == DType::i32 ||
         t == DType::i64;
}

template <typename Ctx>
void check_range_inputs(const Ctx& ctx, DType t0, DType t1, DType t2) {
  if (!range_dtype_ok(t0))
    ctx.fail("start must be float, double, int16, int32 or int64, got {}", dtype_name(t0));
  if (t1 != t0 || t2 != t0)
    ctx.fail("start, limit and delta must have one dtype, got {}, {} and {}", dtype_name(t0),
             dtype_name(t1), dtype_name(t2));
}

// Number of elements of Range(start, limit, delta): max(ceil((limit - start) / delta), 0).
template <typename Ctx>
int64_t range_count(const Ctx& ctx, const Tensor& start, const Tensor& limit, const Tensor& delta) {
  for (const Tensor* t : {&start, &limit, &delta})
    if (t->numel() != 1)
      ctx.fail("start, limit and delta must be scalars, got shape {}", shape_str(t->shape()));
  if (dtype_is_float(start.dtype())) {
    double s = start.at_f64(0), l = limit.at_f64(0), d = delta.at_f64(0);
    if (d == 0) ctx.fail("delta is zero");
    double n = std::ceil((l - s) / d);
    if (std::isnan(n)) ctx.fail("element count of Range({}, {}, {}) is not a number", s, l, d);
    if (n <= 0) return 0;
    if (n > 4.0e18) ctx.fail("Range({}, {}, {}) has too many elements", s, l, d);
    return static_cast<int64_t>(n);
  }
  __int128 s = start.at_i64(0), l = limit.at_i64(0), d = delta.at_i64(0);
  if (d == 0) ctx.fail("delta is zero");
  __int128 diff = l - s;
  if (d < 0) {
    diff = -diff;
    d = -d;
  }
  if (diff <= 0) return 0;
  const __int128 n = (diff + d - 1) / d;
  if (n > INT64_MAX)
    ctx.fail("Range({}, {}, {}) has too many elements", start.at_i64(0), limit.at_i64(0),
             delta.at_i64(0));
  return static_cast<int64_t>(n);
}

void run_range(OpContext& ctx) {
  const Tensor& start = ctx.input(0);
  const Tensor& limit = ctx.input(1);
  const Tensor& delta = ctx.input(2);
  check_range_inputs(ctx, start.dtype(), limit.dtype(), delta.dtype());
  int64_t n = range_count(ctx, start, limit, delta);
  Tensor out = new_tensor(ctx, start.dtype(), {n});
  visit_numeric(start.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = out.data<T>();
    if constexpr (std::is_floating_point_v<T>) {
      const double s = start.at_f64(0), d = delta.at_f64(0);
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(s + static_cast<double>(i) * d);
    } else {
      // Every value lies between start and limit, so it fits in T; compute wide to avoid overflow.
      const __int128 s = start.at_i64(0), d = delta.at_i64(0);
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(s + static_cast<__int128>(i) * d);
    }
  });
  ctx.outputs[0] = out;
}

void infer_range(InferContext& ctx) {
  DType t = ctx.type(0).dtype;
  check_range_inputs(ctx, t, ctx.type(1).dtype, ctx.type(2).dtype);
  if (ctx.value(0) && ctx.value(1) && ctx.value(2)) {
    int64_t n = range_count(ctx, *ctx.value(0), *ctx.value(1), *ctx.value(2));
    ctx.outputs[0] = with_dims(t, {known_dim(n)});
  } else {
    ctx.outputs[0] = with_rank(t, 1);
  }
}

// ---- EyeLike -----------------------------------------------------------------------------------

template <typename Ctx>
DType eyelike_dtype(const Ctx& ctx, DType input) {
  const Attribute* a = ctx.node.attr("dtype");
  if (a == nullptr) return input;
  int64_t v = ctx.node.attr_int("dtype", 0);
  if (v > INT32_MAX || !dtype_is_known(static_cast<int32_t>(v)))
    ctx.fail("attribute dtype {} is not a known element type", v);
  DType t = static_cast<DType>(v);
  if (t == DType::string || dtype_bits(t) % 8 != 0 || dtype_bits(t) == 0)
    ctx.fail("unsupported output dtype {}", dtype_name(t));
  return t;
}

void run_eyelike(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (in.rank() != 2) ctx.fail("input must be 2-D, has shape {}", shape_str(in.shape()));
  DType dt = eyelike_dtype(ctx, in.dtype());
  Tensor out = new_tensor(ctx, dt, in.shape());
  const int64_t rows = in.dim(0), cols = in.dim(1);
  const int64_t k = std::clamp<int64_t>(ctx.attr_int("k", 0), -rows - 1, cols + 1);
  Tensor one = cast_tensor(Tensor::scalar_f32(1), dt);
  visit_by_size(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v;
    std::memcpy(&v, one.raw(), sizeof(T));
    T* o = out.data<T>();
    for (int64_t i = 0; i < rows; ++i) {
      int64_t j = i + k;
      if (j >= 0 && j < cols) o[i * cols + j] = v;
    }
  });
  ctx.outputs[0] = out;
}

void infer_eyelike(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  if (in.has_shape && in.dims.size() != 2)
    ctx.fail("input must be 2-D, has rank {}", in.dims.size());
  TypeInfo t = in;
  t.dtype = eyelike_dtype(ctx, in.dtype);
  ctx.outputs[0] = t;
}

// ---- Trilu -------------------------------------------------------------------------------------

void run_trilu(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (in.rank() < 2) ctx.fail("input must have rank >= 2, has shape {}", shape_str(in.shape()));
  int64_t k = 0;
  if (ctx.has_input(1)) {
    const Tensor& kt = ctx.input(1);
    if (kt.numel() != 1) ctx.fail("k must be a scalar, has shape {}", shape_str(kt.shape()));
    if (kt.dtype() != DType::i64) ctx.fail("k must be int64, got {}", dtype_name(kt.dtype()));
    k = kt.data<int64_t>()[0];
  }
  const bool upper = ctx.attr_int("upper", 1) != 0;
  const int64_t rows = in.dim(in.rank() - 2), cols = in.dim(in.rank() - 1);
  k = std::clamp<int64_t>(k, -rows - 1, cols + 1);
  const size_t es = elem_bytes(ctx, in.dtype());
  Tensor out = in.clone();
  auto* o = static_cast<uint8_t*>(out.raw());
  const int64_t mats = rows * cols == 0 ? 0 : in.numel() / (rows * cols);
  for (int64_t m = 0; m < mats; ++m) {
    for (int64_t i = 0; i < rows; ++i) {
      // Upper keeps j >= i + k, lower keeps j <= i + k; zero the rest of the row.
      int64_t b, e;
      if (upper) {
        b = 0;
        e = std::clamp<int64_t>(i + k, 0, cols);
      } else {
        b = std::clamp<int64_t>(i + k + 1, 0, cols);
        e = cols;
      }
      if (e > b)
        std::memset(o + static_cast<size_t>((m * rows + i) * cols + b) * es, 0,
                    static_cast<size_t>(e - b) * es);
    }
  }
  ctx.outputs[0] = out;
}

void infer_trilu(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  if (in.has_shape && in.dims.size() < 2)
    ctx.fail("input must have rank >= 2, has rank {}", in.dims.size());
  ctx.outputs[0] = in;
}

}  // namespace

void register_shape_basic_ops(OpRegistry& r) {
  r.add({"Constant", "", infer_constant, run_constant});
  r.add({"ConstantOfShape", "", infer_constant_of_shape, run_constant_of_shape});
  r.add({"Shape", "", infer_shape, run_shape});
  r.add({"Size", "", infer_size, run_size});
  r.add({"Range", "", infer_range, run_range});
  r.add({"EyeLike", "", infer_eyelike, run_eyelike});
  r.add({"Trilu", "", infer_trilu, run_trilu});
}

}  // namespace nnaccel
