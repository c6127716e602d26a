// Reduction-family ops that work along one axis: ArgMax, ArgMin, CumSum, TopK. Each views the
// input as [outer, axis_len, inner] and handles one (outer, inner) line at a time.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/cast.hpp"
#include "core/dtype_dispatch.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

namespace {

template <typename Ctx>
int normalize_axis(const Ctx& ctx, int64_t axis, int rank) {
  if (axis < -rank || axis >= rank) ctx.fail("axis {} is out of range for rank {}", axis, rank);
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// The input seen as [outer, len, inner] around `axis`.
struct AxisView {
  int64_t outer = 1, len = 1, inner = 1;
};

AxisView view_around(const Shape& s, int axis) {
  AxisView v;
  for (int i = 0; i < axis; ++i) v.outer *= s[static_cast<size_t>(i)];
  v.len = s[static_cast<size_t>(axis)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < s.size(); ++i) v.inner *= s[i];
  return v;
}

bool is_half(DType t) { return t == DType::f16 || t == DType::bf16; }

// ---- ArgMax / ArgMin ----

// NaN counts as the extreme value for both (the first NaN wins, like numpy).
template <typename T, bool kMax>
bool better(T v, T best, bool last) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(best)) return false;
    if (std::isnan(v)) return true;
  }
  if (last) return kMax ? v >= best : v <= best;
  return kMax ? v > best : v < best;
}

template <bool kMax>
void run_arg(OpContext& ctx) {
  const Tensor& x_in = ctx.input(0);
  if (x_in.dtype() == DType::boolean) ctx.fail("bool input is not supported");
  const Tensor x = is_half(x_in.dtype()) ? cast_tensor(x_in, DType::f32) : x_in;
  const int rank = x.rank();
  if (rank == 0) ctx.fail("input must have rank >= 1");
  const int axis = normalize_axis(ctx, ctx.attr_int("axis", 0), rank);
  const bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  const bool last = ctx.attr_int("select_last_index", 0) != 0;
  const AxisView v = view_around(x.shape(), axis);
  if (v.len == 0 && v.outer * v.inner > 0)
    ctx.fail("cannot take the arg{} of an empty axis {} (shape {})", kMax ? "max" : "min", axis,
             shape_str(x.shape()));
  Shape out_shape = x.shape();
  if (keepdims)
    out_shape[static_cast<size_t>(axis)] = 1;
  else
    out_shape.erase(out_shape.begin() + axis);
  Tensor y(DType::i64, out_shape);
  int64_t* dst = y.data<int64_t>();
  visit_numeric(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = x.data<T>();
    for (int64_t o = 0; o < v.outer; ++o) {
      for (int64_t i = 0; i < v.inner; ++i) {
        const T* line = src + o * v.len * v.inner + i;
        int64_t best = 0;
        for (int64_t k = 1; k < v.len; ++k)
          if (better<T, kMax>(line[k * v.inner], line[best * v.inner], last)) best = k;
        dst[o * v.inner + i] = best;
      }
    }
  });
  ctx.outputs[0] = y;
}

void infer_arg(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  TypeInfo out;
  out.dtype = DType::i64;
  if (in.has_shape) {
    const int rank = static_cast<int>(in.dims.size());
    if (rank == 0) ctx.fail("input must have rank >= 1");
    const int axis = normalize_axis(ctx, ctx.node.attr_int("axis", 0), rank);
    out.has_shape = true;
    out.dims = in.dims;
    if (ctx.node.attr_int("keepdims", 1) != 0)
      out.dims[static_cast<size_t>(axis)] = Dim{1, {}};
    else
      out.dims.erase(out.dims.begin() + axis);
  }
  ctx.outputs[0] = out;
}

// ---- CumSum ----

int64_t scalar_axis(const OpContext& ctx, const Tensor& a) {
  if (a.dtype() != DType::i32 && a.dtype() != DType::i64)
    ctx.fail("axis must be int32 or int64, got {}", dtype_name(a.dtype()));
  if (a.numel() != 1 || a.rank() > 1)
    ctx.fail("axis must be a scalar, got shape {}", shape_str(a.shape()));
  return a.at_i64(0);
}

void run_cumsum(OpContext& ctx) {
  const Tensor& x_in = ctx.input(0);
  if (x_in.dtype() == DType::boolean) ctx.fail("bool input is not supported");
  const Tensor x = is_half(x_in.dtype()) ? cast_tensor(x_in, DType::f32) : x_in;
  if (x.rank() == 0) ctx.fail("input must have rank >= 1");
  const int axis = normalize_axis(ctx, scalar_axis(ctx, ctx.input(1)), x.rank());
  const bool exclusive = ctx.attr_int("exclusive", 0) != 0;
  const bool reverse = ctx.attr_int("reverse", 0) != 0;
  const AxisView v = view_around(x.shape(), axis);
  Tensor y(x.dtype(), x.shape());
  visit_numeric(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    // Floats accumulate in double; integers wrap modulo 2^64 (no UB), then modulo T.
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;
    const T* src = x.data<T>();
    T* dst = y.data<T>();
    for (int64_t o = 0; o < v.outer; ++o) {
      for (int64_t i = 0; i < v.inner; ++i) {
        const int64_t base = o * v.len * v.inner + i;
        Acc acc{0};
        for (int64_t step = 0; step < v.len; ++step) {
          const int64_t k = reverse ? v.len - 1 - step : step;
          const int64_t at = base + k * v.inner;
          if (exclusive) {
            dst[at] = static_cast<T>(acc);
            acc += static_cast<Acc>(src[at]);
          } else {
            acc += static_cast<Acc>(src[at]);
            dst[at] = static_cast<T>(acc);
          }
        }
      }
    }
  });
  ctx.outputs[0] = is_half(x_in.dtype()) ? cast_tensor(y, x_in.dtype()) : y;
}

void infer_cumsum(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  if (in.has_shape && in.dims.empty()) ctx.fail("input must have rank >= 1");
  ctx.outputs[0] = in;
}

// ---- TopK ----

// Orders for TopK: NaN ranks above every number (numpy's sort puts it last), equal keys keep
// the lower index first. Both are strict weak orders, so sorting is well defined with NaNs.
template <typename T>
bool greater_key(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return a > b;
}

int64_t read_k(const OpContext& ctx, const Tensor& k) {
  if (k.dtype() != DType::i64) ctx.fail("K must be int64, got {}", dtype_name(k.dtype()));
  if (k.numel() != 1 || k.rank() > 1)
    ctx.fail("K must be a 1-D tensor of one element, got shape {}", shape_str(k.shape()));
  return k.at_i64(0);
}

void run_topk(OpContext& ctx) {
  const Tensor& x_in = ctx.input(0);
  if (x_in.dtype() == DType::boolean) ctx.fail("bool input is not supported");
  const Tensor x = is_half(x_in.dtype()) ? cast_tensor(x_in, DType::f32) : x_in;
  if (x.rank() == 0) ctx.fail("input must have rank >= 1");
  const int axis = normalize_axis(ctx, ctx.attr_int("axis", -1), x.rank());
  const bool largest = ctx.attr_int("largest", 1) != 0;
  const int64_t k = read_k(ctx, ctx.input(1));
  const AxisView v = view_around(x.shape(), axis);
  if (k < 0 || k > v.len)
    ctx.fail("K = {} is out of range [0, {}] for axis {} of shape {}", k, v.len, axis,
             shape_str(x.shape()));
  Shape out_shape = x.shape();
  out_shape[static_cast<size_t>(axis)] = k;
  Tensor values(x.dtype(), out_shape);
  Tensor indices(DType::i64, out_shape);
  int64_t* idx_dst = indices.data<int64_t>();
  visit_numeric(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = x.data<T>();
    T* val_dst = values.data<T>();
    std::vector<int64_t> order(static_cast<size_t>(v.len));
    for (int64_t o = 0; o < v.outer; ++o) {
      for (int64_t i = 0; i < v.inner; ++i) {
        const T* line = src + o * v.len * v.inner + i;
        auto before = [&](int64_t a, int64_t b) {
          const T va = line[a * v.inner], vb = line[b * v.inner];
          if (largest ? greater_key(va, vb) : greater_key(vb, va)) return true;
          if (largest ? greater_key(vb, va) : greater_key(va, vb)) return false;
          return a < b;
        };
        for (int64_t j = 0; j < v.len; ++j) order[static_cast<size_t>(j)] = j;
        // Always sorted: with sorted=0 the order is unspecified, so sorted is a valid answer.
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        const int64_t out_base = o * k * v.inner + i;
        for (int64_t j = 0; j < k; ++j) {
          const int64_t src_j = order[static_cast<size_t>(j)];
          val_dst[out_base + j * v.inner] = line[src_j * v.inner];
          idx_dst[out_base + j * v.inner] = src_j;
        }
      }
    }
  });
  ctx.outputs[0] = is_half(x_in.dtype()) ? cast_tensor(values, x_in.dtype()) : values;
  if (ctx.num_outputs() > 1) ctx.outputs[1] = indices;
}

void infer_topk(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  TypeInfo values;
  values.dtype = in.dtype;
  if (in.has_shape) {
    const int rank = static_cast<int>(in.dims.size());
    if (rank == 0) ctx.fail("input must have rank >= 1");
    const int axis = normalize_axis(ctx, ctx.node.attr_int("axis", -1), rank);
    values.has_shape = true;
    values.dims = in.dims;
    Dim kdim;
    if (const Tensor* k = ctx.value(1)) {
      if (k->numel() != 1) ctx.fail("K must have one element, got shape {}", shape_str(k->shape()));
      const int64_t kv = k->at_i64(0);
      const Dim& len = in.dims[static_cast<size_t>(axis)];
      if (kv < 0 || (len.known() && kv > len.value))
        ctx.fail("K = {} is out of range for axis {} of length {}", kv, axis, len.value);
      kdim = Dim{kv, {}};
    }
    values.dims[static_cast<size_t>(axis)] = kdim;
  }
  TypeInfo indices = values;
  indices.dtype = DType::i64;
  ctx.outputs[0] = values;
  if (ctx.num_outputs() > 1) ctx.outputs[1] = indices;
}

}  // namespace

void register_reduction_along_axis_ops(OpRegistry& r) {
  r.add({"ArgMax", "", infer_arg, run_arg<true>});
  r.add({"ArgMin", "", infer_arg, run_arg<false>});
  r.add({"CumSum", "", infer_cumsum, run_cumsum});
  r.add({"TopK", "", infer_topk, run_topk});
}

}  // namespace nnaccel
