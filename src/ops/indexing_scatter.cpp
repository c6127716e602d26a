// Indexing ops that write data at indices: ScatterElements, ScatterND (reduction none, add, mul,
// and opset 18's max/min), OneHot, ReverseSequence.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/cast.hpp"
#include "ops/shape_util.hpp"

namespace nnaccel {

using namespace shape_util;

namespace {

enum class Reduction { none, add, mul, max, min };

template <typename Ctx>
Reduction reduction(const Ctx& ctx) {
  std::string r = ctx.node.attr_string("reduction", "none");
  if (r == "none") return Reduction::none;
  if (r == "add") return Reduction::add;
  if (r == "mul") return Reduction::mul;
  if (r == "max") return Reduction::max;
  if (r == "min") return Reduction::min;
  ctx.fail("reduction '{}' must be none, add, mul, max or min", r);
}

template <typename T>
T combine(Reduction r, T a, T b) {
  switch (r) {
    case Reduction::none:
      return b;
    // Integers wrap around (computed unsigned: signed overflow would be undefined behaviour).
    case Reduction::add:
      if constexpr (std::is_same_v<T, bool>)
        return a || b;
      else if constexpr (std::is_integral_v<T>)
        return static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
      else
        return a + b;
    case Reduction::mul:
      if constexpr (std::is_same_v<T, bool>)
        return a && b;
      else if constexpr (std::is_integral_v<T>)
        return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
      else
        return a * b;
    case Reduction::max:
      return std::max(a, b);
    case Reduction::min:
      return std::min(a, b);
  }
  return b;
}

// Runs `body(out, updates)` on copies in a dtype the reduction can compute in (f16/bf16 -> f32),
// then returns the result in the data's dtype. body dispatches on out's dtype itself.
template <typename Body>
Tensor scatter_with(const Tensor& data, const Tensor& updates, Reduction red, Body&& body) {
  const bool half = data.dtype() == DType::f16 || data.dtype() == DType::bf16;
  if (red != Reduction::none && half) {
    Tensor out = cast_tensor(data, DType::f32);  // a new tensor: data is 16-bit
    body(out, cast_tensor(updates, DType::f32));
    return cast_tensor(out, data.dtype());
  }
  Tensor out = data.clone();
  body(out, updates);
  return out;
}

// Calls f(tag) with the element type to compute in: by size for plain assignment.
template <typename F>
void visit_for(DType t, Reduction red, F&& f) {
  if (red == Reduction::none)
    visit_by_size(t, f);
  else
    visit_numeric(t, f);
}

// ---- ScatterElements ---------------------------------------------------------------------------

void run_scatter_elements(OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  check_index_dtype(ctx, idx, "indices");
  const Reduction red = reduction(ctx);
  const int r = data.rank();
  if (r == 0) ctx.fail("data must have rank >= 1");
  if (upd.dtype() != data.dtype())
    ctx.fail("updates is {} but data is {}", dtype_name(upd.dtype()), dtype_name(data.dtype()));
  if (idx.rank() != r) ctx.fail("indices has rank {}, data has rank {}", idx.rank(), r);
  if (upd.shape() != idx.shape())
    ctx.fail("updates shape {} differs from indices shape {}", shape_str(upd.shape()),
             shape_str(idx.shape()));
  const auto axis = static_cast<size_t>(norm_axis(ctx, ctx.attr_int("axis", 0), r));
  for (size_t d = 0; d < static_cast<size_t>(r); ++d)
    if (d != axis && idx.shape()[d] > data.shape()[d])
      ctx.fail("indices shape {} exceeds data shape {} at axis {}", shape_str(idx.shape()),
               shape_str(data.shape()), d);
  const int64_t n = data.shape()[axis];
  // Destination offset of every update, checked before anything is written.
  std::vector<int64_t> dst_off(static_cast<size_t>(idx.numel()));
  {
    const Shape ds = strides_of(data.shape());
    std::vector<int64_t> at(static_cast<size_t>(r), 0);
    int64_t base = 0;
    for (int64_t i = 0; i < idx.numel(); ++i) {
      dst_off[static_cast<size_t>(i)] = base + checked_index(ctx, idx, i, n, axis) * ds[axis];
      for (size_t d = static_cast<size_t>(r); d-- > 0;) {
        const int64_t step = d == axis ? 0 : ds[d];
        if (++at[d] < idx.shape()[d]) {
          base += step;
          break;
        }
        base -= step * (at[d] - 1);
        at[d] = 0;
      }
    }
  }
  ctx.outputs[0] = scatter_with(data, upd, red, [&](Tensor& out, const Tensor& u) {
    visit_for(out.dtype(), red, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* o = out.data<T>();
      const T* s = u.data<T>();
      for (size_t i = 0; i < dst_off.size(); ++i) o[dst_off[i]] = combine(red, o[dst_off[i]], s[i]);
    });
  });
}

void infer_scatter(InferContext& ctx) {
  reduction(ctx);
  const TypeInfo& data = ctx.type(0);
  const TypeInfo& upd = ctx.type(2);
  if (upd.dtype != DType::undefined && data.dtype != DType::undefined && upd.dtype != data.dtype)
    ctx.fail("updates is {} but data is {}", dtype_name(upd.dtype), dtype_name(data.dtype));
  ctx.outputs[0] = data;
}

// ---- ScatterND ---------------------------------------------------------------------------------

void run_scatter_nd(OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  if (idx.dtype() != DType::i64) ctx.fail("indices must be int64, got {}", dtype_name(idx.dtype()));
  if (upd.dtype() != data.dtype())
    ctx.fail("updates is {} but data is {}", dtype_name(upd.dtype()), dtype_name(data.dtype()));
  const Reduction red = reduction(ctx);
  if (idx.rank() < 1) ctx.fail("indices must have rank >= 1");
  const auto k = static_cast<size_t>(idx.shape().back());
  if (k > data.shape().size())
    ctx.fail("indices' last dimension {} exceeds the data's rank {}", k, data.rank());
  Shape want(idx.shape().begin(), idx.shape().end() - 1);
  want.insert(want.end(), data.shape().begin() + static_cast<std::ptrdiff_t>(k),
              data.shape().end());
  if (upd.shape() != want)
    ctx.fail("updates has shape {}, expected {}", shape_str(upd.shape()), shape_str(want));
  const Shape ds = strides_of(data.shape());
  const int64_t tuples = prod(idx.shape(), 0, idx.shape().size() - 1);
  const int64_t slice = prod(data.shape(), k, data.shape().size());
  std::vector<int64_t> dst_off(static_cast<size_t>(tuples));
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = 0;
    for (size_t j = 0; j < k; ++j)
      off += checked_index(ctx, idx, t * static_cast<int64_t>(k) + static_cast<int64_t>(j),
                           data.shape()[j], j) *
             ds[j];
    dst_off[static_cast<size_t>(t)] = off;
  }
  ctx.outputs[0] = scatter_with(data, upd, red, [&](Tensor& out, const Tensor& u) {
    visit_for(out.dtype(), red, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* o = out.data<T>();
      const T* s = u.data<T>();
      for (int64_t t = 0; t < tuples; ++t) {
        T* d = o + dst_off[static_cast<size_t>(t)];
        const T* src = s + t * slice;
        for (int64_t e = 0; e < slice; ++e) d[e] = combine(red, d[e], src[e]);
      }
    });
  });
}

// ---- OneHot ------------------------------------------------------------------------------------

// Index value i as an integer; false when it is not finite or does not fit in int64.
bool one_hot_index(const Tensor& t, int64_t i, int64_t* out) {
  if (dtype_is_float(t.dtype())) {
    double v = std::trunc(t.at_f64(i));
    if (!(v > -9.2e18 && v < 9.2e18)) return false;
    *out = static_cast<int64_t>(v);
    return true;
  }
  *out = t.at_i64(i);
  return true;
}

template <typename Ctx>
int64_t one_hot_depth(const Ctx& ctx, const Tensor& depth) {
  if (depth.numel() != 1)
    ctx.fail("depth must hold one element, has shape {}", shape_str(depth.shape()));
  if (depth.dtype() == DType::string || depth.dtype() == DType::boolean)
    ctx.fail("depth must be numeric, got {}", dtype_name(depth.dtype()));
  int64_t d = 0;
  if (!one_hot_index(depth, 0, &d) || d < 1)
    ctx.fail("depth {} must be a positive integer", depth.at_f64(0));
  return d;
}

void run_one_hot(OpContext& ctx) {
  const Tensor& idx = ctx.input(0);
  const Tensor& values = ctx.input(2);
  const int64_t depth = one_hot_depth(ctx, ctx.input(1));
  if (values.numel() != 2)
    ctx.fail("values must hold [off_value, on_value], has shape {}", shape_str(values.shape()));
  if (idx.dtype() == DType::string || idx.dtype() == DType::boolean)
    ctx.fail("indices must be numeric, got {}", dtype_name(idx.dtype()));
  const int64_t r = idx.rank();
  const auto axis = static_cast<size_t>(norm_axis(ctx, ctx.attr_int("axis", -1), r + 1));
  Shape out_shape = idx.shape();
  out_shape.insert(out_shape.begin() + static_cast<std::ptrdiff_t>(axis), depth);
  numel_checked(ctx, out_shape, "OneHot output");
  Tensor out = new_tensor(ctx, values.dtype(), out_shape);
  const int64_t outer = prod(idx.shape(), 0, axis);
  const int64_t inner = prod(idx.shape(), axis, idx.shape().size());
  visit_by_size(values.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T off = values.data<T>()[0], on = values.data<T>()[1];
    T* o = out.data<T>();
    std::fill_n(o, out.numel(), off);
    for (int64_t a = 0; a < outer; ++a)
      for (int64_t b = 0; b < inner; ++b) {
        int64_t v = 0;
        // Indices outside [-depth, depth) give an all-off row, as the spec says.
        if (!one_hot_index(idx, a * inner + b, &v) || v < -depth || v >= depth) continue;
        if (v < 0) v += depth;
        o[(a * depth + v) * inner + b] = on;
      }
  });
  ctx.outputs[0] = out;
}

void infer_one_hot(InferContext& ctx) {
  const TypeInfo& idx = ctx.type(0);
  const DType dt = ctx.type(2).dtype;
  if (!idx.has_shape) {
    ctx.outputs[0] = unknown_rank(dt);
    return;
  }
  const int64_t r = static_cast<int64_t>(idx.dims.size());
  const auto axis = static_cast<size_t>(norm_axis(ctx, ctx.node.attr_int("axis", -1), r + 1));
  std::vector<Dim> out = idx.dims;
  Dim depth;
  if (const Tensor* d = ctx.value(1)) depth = known_dim(one_hot_depth(ctx, *d));
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(axis), depth);
  ctx.outputs[0] = with_dims(dt, out);
}

// ---- ReverseSequence ---------------------------------------------------------------------------

template <typename Ctx>
std::pair<size_t, size_t> reverse_axes(const Ctx& ctx) {
  int64_t b = ctx.node.attr_int("batch_axis", 1), t = ctx.node.attr_int("time_axis", 0);
  if ((b != 0 && b != 1) || (t != 0 && t != 1) || b == t)
    ctx.fail("batch_axis {} and time_axis {} must be 0 and 1 in some order", b, t);
  return {static_cast<size_t>(b), static_cast<size_t>(t)};
}

void run_reverse_sequence(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  const Tensor& lens = ctx.input(1);
  auto [ba, ta] = reverse_axes(ctx);
  if (in.rank() < 2) ctx.fail("input must have rank >= 2, has shape {}", shape_str(in.shape()));
  if (lens.dtype() != DType::i64)
    ctx.fail("sequence_lens must be int64, got {}", dtype_name(lens.dtype()));
  const int64_t batch = in.shape()[ba], time = in.shape()[ta];
  if (lens.rank() != 1 || lens.dim(0) != batch)
    ctx.fail("sequence_lens has shape {}, expected [{}]", shape_str(lens.shape()), batch);
  const int64_t* len = lens.data<int64_t>();
  for (int64_t b = 0; b < batch; ++b)
    if (len[b] < 0 || len[b] > time)
      ctx.fail("sequence_lens[{}] = {} is out of range [0, {}]", b, len[b], time);
  Tensor out = in.clone();
  const size_t es = elem_bytes(ctx, in.dtype());
  const Shape st = strides_of(in.shape());
  const size_t block = static_cast<size_t>(st[1]) * es;  // everything after axes 0 and 1
  const auto* src = static_cast<const uint8_t*>(in.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < len[b]; ++t) {
      const int64_t from = b * st[ba] + (len[b] - 1 - t) * st[ta];
      const int64_t to = b * st[ba] + t * st[ta];
      std::memcpy(dst + static_cast<size_t>(to) * es, src + static_cast<size_t>(from) * es, block);
    }
  ctx.outputs[0] = out;
}

void infer_reverse_sequence(InferContext& ctx) {
  reverse_axes(ctx);
  const TypeInfo& in = ctx.type(0);
  if (in.has_shape && in.dims.size() < 2)
    ctx.fail("input must have rank >= 2, has rank {}", in.dims.size());
  ctx.outputs[0] = in;
}

}  // namespace

void register_indexing_scatter_ops(OpRegistry& r) {
  r.add({"ScatterElements", "", infer_scatter, run_scatter_elements});
  r.add({"ScatterND", "", infer_scatter, run_scatter_nd});
  r.add({"OneHot", "", infer_one_hot, run_one_hot});
  r.add({"ReverseSequence", "", infer_reverse_sequence, run_reverse_sequence});
}

}  // namespace nnaccel
