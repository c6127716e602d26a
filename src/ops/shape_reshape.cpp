// Shape-family ops that change the shape only, or repeat data: Reshape, Flatten, Squeeze,
// Unsqueeze, Expand, Tile. Reshape-like ops share the input's buffer (kernels never write inputs).
#include <algorithm>

#include "ops/shape_util.hpp"

namespace nnaccel {

using namespace shape_util;

namespace {

bool all_known(const std::vector<Dim>& dims) {
  return std::all_of(dims.begin(), dims.end(), [](const Dim& d) { return d.known(); });
}

// Product of dims [b, e) or -1 when one of them is unknown.
template <typename Ctx>
int64_t known_prod(const Ctx& ctx, const std::vector<Dim>& dims, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t i = b; i < e; ++i) {
    if (!dims[i].known()) return -1;
    p = mul_size(ctx, p, dims[i].value, "shape");
  }
  return p;
}

// ---- Reshape -----------------------------------------------------------------------------------

// Output dims of Reshape for input dims `in` (some may be unknown) and the requested shape.
template <typename Ctx>
std::vector<Dim> reshape_dims(const Ctx& ctx, const std::vector<Dim>& in,
                              const std::vector<int64_t>& spec, bool allowzero) {
  std::vector<Dim> out(spec.size());
  int infer_at = -1;
  bool has_zero = false;
  int64_t known = 1;  // product of the known output dims other than -1
  bool all_out_known = true;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t v = spec[i];
    if (v < -1) ctx.fail("shape has invalid value {} at index {}", v, i);
    if (v == -1) {
      if (infer_at >= 0) ctx.fail("shape has more than one -1 (indices {} and {})", infer_at, i);
      infer_at = static_cast<int>(i);
      continue;
    }
    if (v == 0 && !allowzero) {
      if (i >= in.size())
        ctx.fail("shape has 0 at index {}, beyond the input's rank {}", i, in.size());
      out[i] = in[i];
    } else {
      has_zero = has_zero || v == 0;
      out[i] = known_dim(v);
    }
    if (out[i].known())
      known = mul_size(ctx, known, out[i].value, "reshape target");
    else
      all_out_known = false;
  }
  if (allowzero && has_zero && infer_at >= 0) ctx.fail("shape has both 0 and -1 with allowzero=1");
  int64_t total = all_known(in) ? known_prod(ctx, in, 0, in.size()) : -1;
  if (infer_at >= 0) {
    if (total >= 0 && all_out_known) {
      if (known == 0 || total % known != 0)
        ctx.fail("cannot reshape {} elements to shape [{}]", total, fmt::join(spec, ","));
      out[static_cast<size_t>(infer_at)] = known_dim(total / known);
    }
  } else if (total >= 0 && all_out_known && total != known) {
    ctx.fail("cannot reshape {} elements to shape [{}]", total, fmt::join(spec, ","));
  }
  return out;
}

template <typename Ctx>
std::vector<int64_t> shape_spec(const Ctx& ctx, const Tensor& t, const char* what) {
  if (t.rank() != 1) ctx.fail("{} must be 1-D, has shape {}", what, shape_str(t.shape()));
  if (t.dtype() != DType::i64) ctx.fail("{} must be int64, got {}", what, dtype_name(t.dtype()));
  return int_values(ctx, t, what);
}

void run_reshape(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  std::vector<Dim> d =
      reshape_dims(ctx, dims_of(in.shape()), shape_spec(ctx, ctx.input(1), "shape"),
                   ctx.attr_int("allowzero", 0) != 0);
  Shape s;
  for (const Dim& x : d) s.push_back(x.value);
  ctx.outputs[0] = in.reshaped(s);
}

void infer_reshape(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  if (const Tensor* v = ctx.value(1)) {
    std::vector<int64_t> spec = shape_spec(ctx, *v, "shape");
    const bool allowzero = ctx.node.attr_int("allowzero", 0) != 0;
    if (in.has_shape) {
      ctx.outputs[0] = with_dims(in.dtype, reshape_dims(ctx, in.dims, spec, allowzero));
      return;
    }
    // Unknown input rank: only the explicitly given sizes are known.
    std::vector<Dim> out(spec.size());
    for (size_t i = 0; i < spec.size(); ++i) {
      if (spec[i] < -1) ctx.fail("shape has invalid value {} at index {}", spec[i], i);
      if (spec[i] > 0 || (spec[i] == 0 && allowzero)) out[i] = known_dim(spec[i]);
    }
    ctx.outputs[0] = with_dims(in.dtype, out);
    return;
  }
  const TypeInfo& st = ctx.type(1);
  if (st.has_shape && st.dims.size() == 1 && st.dims[0].known())
    ctx.outputs[0] = with_rank(in.dtype, rank_from_length(ctx, st.dims[0].value));
  else
    ctx.outputs[0] = unknown_rank(in.dtype);
}

// ---- Flatten -----------------------------------------------------------------------------------

template <typename Ctx>
size_t flatten_axis(const Ctx& ctx, size_t rank) {
  int64_t r = static_cast<int64_t>(rank);
  int64_t axis = ctx.node.attr_int("axis", 1);
  if (axis < -r || axis > r)
    ctx.fail("axis {} is out of range for rank {} (valid: [{}, {}])", axis, r, -r, r);
  return static_cast<size_t>(axis < 0 ? axis + r : axis);
}

void run_flatten(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  size_t axis = flatten_axis(ctx, in.shape().size());
  ctx.outputs[0] =
      in.reshaped({prod(in.shape(), 0, axis), prod(in.shape(), axis, in.shape().size())});
}

void infer_flatten(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  if (!in.has_shape) {
    ctx.outputs[0] = with_rank(in.dtype, 2);
    return;
  }
  size_t axis = flatten_axis(ctx, in.dims.size());
  int64_t a = known_prod(ctx, in.dims, 0, axis), b = known_prod(ctx, in.dims, axis, in.dims.size());
  ctx.outputs[0] =
      with_dims(in.dtype, {a >= 0 ? known_dim(a) : Dim{}, b >= 0 ? known_dim(b) : Dim{}});
}

// ---- Squeeze / Unsqueeze -----------------------------------------------------------------------

// Normalized, duplicate-free axes for a tensor of the given rank.
template <typename Ctx>
std::vector<bool> axis_mask(const Ctx& ctx, const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    auto n = static_cast<size_t>(norm_axis(ctx, a, rank));
    if (mask[n]) ctx.fail("axis {} is repeated in axes [{}]", a, fmt::join(axes, ","));
    mask[n] = true;
  }
  return mask;
}

template <typename Ctx>
std::vector<int64_t> axes_values(const Ctx& ctx, const Tensor& t) {
  if (t.rank() > 1) ctx.fail("axes must be 1-D, has shape {}", shape_str(t.shape()));
  if (t.dtype() != DType::i64) ctx.fail("axes must be int64, got {}", dtype_name(t.dtype()));
  return int_values(ctx, t, "axes");
}

void run_squeeze(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  Shape out;
  // An empty axes tensor squeezes every 1, as an absent one does (onnxruntime agrees).
  if (ctx.has_input(1) && ctx.input(1).numel() > 0) {
    std::vector<bool> m = axis_mask(ctx, axes_values(ctx, ctx.input(1)), in.rank());
    for (int i = 0; i < in.rank(); ++i) {
      if (!m[static_cast<size_t>(i)]) {
        out.push_back(in.dim(i));
      } else if (in.dim(i) != 1) {
        ctx.fail("cannot squeeze axis {} of size {} (input shape {})", i, in.dim(i),
                 shape_str(in.shape()));
      }
    }
  } else {
    for (int64_t d : in.shape())
      if (d != 1) out.push_back(d);
  }
  ctx.outputs[0] = in.reshaped(out);
}

void infer_squeeze(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  ctx.outputs[0] = unknown_rank(in.dtype);
  if (!in.has_shape) return;
  std::vector<Dim> out;
  const Tensor* v = ctx.has_input(1) ? ctx.value(1) : nullptr;
  if (ctx.has_input(1) && v == nullptr) return;
  if (v != nullptr && v->numel() > 0) {
    std::vector<bool> m =
        axis_mask(ctx, axes_values(ctx, *v), static_cast<int64_t>(in.dims.size()));
    for (size_t i = 0; i < in.dims.size(); ++i) {
      if (!m[i])
        out.push_back(in.dims[i]);
      else if (in.dims[i].known() && in.dims[i].value != 1)
        ctx.fail("cannot squeeze axis {} of size {}", i, in.dims[i].value);
    }
  } else {
    for (const Dim& d : in.dims) {
      if (!d.known()) return;  // might be 1: the rank is unknown
      if (d.value != 1) out.push_back(d);
    }
  }
  ctx.outputs[0] = with_dims(in.dtype, out);
}

template <typename Ctx>
std::vector<Dim> unsqueeze_dims(const Ctx& ctx, const std::vector<Dim>& in,
                                const std::vector<int64_t>& axes) {
  const int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
  std::vector<bool> m = axis_mask(ctx, axes, out_rank);
  std::vector<Dim> out;
  size_t j = 0;
  for (size_t i = 0; i < m.size(); ++i) out.push_back(m[i] ? known_dim(1) : in[j++]);
  return out;
}

void run_unsqueeze(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  std::vector<Dim> d = unsqueeze_dims(ctx, dims_of(in.shape()), axes_values(ctx, ctx.input(1)));
  Shape s;
  for (const Dim& x : d) s.push_back(x.value);
  ctx.outputs[0] = in.reshaped(s);
}

void infer_unsqueeze(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  const Tensor* v = ctx.value(1);
  if (!in.has_shape || v == nullptr) {
    const TypeInfo& at = ctx.type(1);
    if (in.has_shape && at.has_shape && at.dims.size() == 1 && at.dims[0].known())
      ctx.outputs[0] = with_rank(in.dtype, in.dims.size() + rank_from_length(ctx, at.dims[0].value));
    else
      ctx.outputs[0] = unknown_rank(in.dtype);
    return;
  }
  ctx.outputs[0] = with_dims(in.dtype, unsqueeze_dims(ctx, in.dims, axes_values(ctx, *v)));
}

// ---- Expand ------------------------------------------------------------------------------------

template <typename Ctx>
Shape expand_shape(const Ctx& ctx, const Shape& in, const std::vector<int64_t>& spec) {
  size_t r = std::max(in.size(), spec.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t a = i < r - in.size() ? 1 : in[i - (r - in.size())];
    int64_t b = i < r - spec.size() ? 1 : spec[i - (r - spec.size())];
    if (b < 0) ctx.fail("shape has a negative value {}", b);
    if (a != b && a != 1 && b != 1)
      ctx.fail("cannot expand shape {} to [{}]: dimension {} vs {}", shape_str(in),
               fmt::join(spec, ","), a, b);
    out[i] = a == 1 ? b : a;
  }
  numel_checked(ctx, out, "expanded shape");
  return out;
}

void run_expand(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  Shape out_shape = expand_shape(ctx, in.shape(), shape_spec(ctx, ctx.input(1), "shape"));
  const size_t r = out_shape.size(), off = r - in.shape().size();
  Shape in_strides = strides_of(in.shape());
  Shape src_strides(r, 0);
  for (size_t i = off; i < r; ++i)
    src_strides[i] = in.shape()[i - off] == 1 ? 0 : in_strides[i - off];
  ctx.outputs[0] = gather_strided(ctx, in, out_shape, 0, src_strides);
}

void infer_expand(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  const Tensor* v = ctx.value(1);
  if (v != nullptr && in.has_shape) {
    std::vector<int64_t> spec = shape_spec(ctx, *v, "shape");
    const size_t r = std::max(in.dims.size(), spec.size());
    std::vector<Dim> out(r);
    for (size_t i = 0; i < r; ++i) {
      Dim a = i < r - in.dims.size() ? known_dim(1) : in.dims[i - (r - in.dims.size())];
      int64_t b = i < r - spec.size() ? 1 : spec[i - (r - spec.size())];
      if (b < 0) ctx.fail("shape has a negative value {}", b);
      if (a.known()) {
        if (a.value != b && a.value != 1 && b != 1)
          ctx.fail("cannot expand dimension {} of size {} to {}", i, a.value, b);
        out[i] = a.value == 1 ? known_dim(b) : a;
      } else {
        out[i] = b == 1 ? a : known_dim(b);
      }
    }
    ctx.outputs[0] = with_dims(in.dtype, out);
    return;
  }
  const TypeInfo& st = ctx.type(1);
  if (in.has_shape && st.has_shape && st.dims.size() == 1 && st.dims[0].known()) {
    const size_t r = std::max(in.dims.size(), rank_from_length(ctx, st.dims[0].value));
    std::vector<Dim> out(r);
    for (size_t i = r - in.dims.size(); i < r; ++i) {
      const Dim& a = in.dims[i - (r - in.dims.size())];
      if (a.known() && a.value != 1) out[i] = a;  // the shape must say 1 or a
    }
    ctx.outputs[0] = with_dims(in.dtype, out);
    return;
  }
  ctx.outputs[0] = unknown_rank(in.dtype);
}

// ---- Tile --------------------------------------------------------------------------------------

template <typename Ctx>
std::vector<int64_t> repeats_values(const Ctx& ctx, const Tensor& t, size_t rank) {
  std::vector<int64_t> rep = shape_spec(ctx, t, "repeats");
  if (rep.size() != rank)
    ctx.fail("repeats has {} values, the input has rank {}", rep.size(), rank);
  for (size_t i = 0; i < rep.size(); ++i)
    if (rep[i] < 0) ctx.fail("repeats has a negative value {} at index {}", rep[i], i);
  return rep;
}

void run_tile(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  const size_t r = in.shape().size();
  std::vector<int64_t> rep = repeats_values(ctx, ctx.input(1), r);
  Shape out_shape(r);
  for (size_t i = 0; i < r; ++i) out_shape[i] = mul_size(ctx, in.shape()[i], rep[i], "Tile output");
  numel_checked(ctx, out_shape, "Tile output");
  Tensor out =
      new_tensor(ctx, in.dtype(), out_shape);  // checks the total size before anything is written
  // A 2r-dim view: [rep0, d0, rep1, d1, ...], reading the input with stride 0 along each rep.
  Shape in_strides = strides_of(in.shape()), out_strides = strides_of(out_shape);
  Shape view(2 * r), src(2 * r), dst(2 * r);
  for (size_t i = 0; i < r; ++i) {
    view[2 * i] = rep[i];
    view[2 * i + 1] = in.shape()[i];
    src[2 * i] = 0;
    src[2 * i + 1] = in_strides[i];
    dst[2 * i] = in.shape()[i] * out_strides[i];
    dst[2 * i + 1] = out_strides[i];
  }
  strided_copy(in.dtype(), view, in.raw(), 0, src, out.raw(), 0, dst);
  ctx.outputs[0] = out;
}

void infer_tile(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  if (!in.has_shape) {
    ctx.outputs[0] = unknown_rank(in.dtype);
    return;
  }
  std::vector<Dim> out(in.dims.size());
  if (const Tensor* v = ctx.value(1)) {
    std::vector<int64_t> rep = repeats_values(ctx, *v, in.dims.size());
    for (size_t i = 0; i < out.size(); ++i)
      if (in.dims[i].known())
        out[i] = known_dim(mul_size(ctx, in.dims[i].value, rep[i], "Tile output"));
  }
  ctx.outputs[0] = with_dims(in.dtype, out);
}

}  // namespace

void register_shape_reshape_ops(OpRegistry& r) {
  r.add({"Reshape", "", infer_reshape, run_reshape});
  r.add({"Flatten", "", infer_flatten, run_flatten});
  r.add({"Squeeze", "", infer_squeeze, run_squeeze});
  r.add({"Unsqueeze", "", infer_unsqueeze, run_unsqueeze});
  r.add({"Expand", "", infer_expand, run_expand});
  r.add({"Tile", "", infer_tile, run_tile});
}

}  // namespace nnaccel
