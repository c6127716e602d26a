// Shape-family ops that move data between layouts: Concat, Split, Slice, Transpose, Pad,
// DepthToSpace, SpaceToDepth.
#include <algorithm>
#include <cstring>

#include "ops/shape_util.hpp"

namespace nnaccel {

using namespace shape_util;

namespace {

// ---- Concat ------------------------------------------------------------------------------------

template <typename Ctx>
int64_t required_axis(const Ctx& ctx) {
  if (!ctx.node.has_attr("axis")) ctx.fail("attribute 'axis' is required");
  return ctx.node.attr_int("axis", 0);
}

void run_concat(OpContext& ctx) {
  if (ctx.num_inputs() == 0) ctx.fail("needs at least one input");
  const Tensor& first = ctx.input(0);
  const int64_t rank = first.rank();
  if (rank == 0) ctx.fail("cannot concatenate scalars");
  const size_t axis = static_cast<size_t>(norm_axis(ctx, required_axis(ctx), rank));
  Shape out_shape = first.shape();
  out_shape[axis] = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != first.dtype())
      ctx.fail("input {} is {} but input 0 is {}", i, dtype_name(t.dtype()),
               dtype_name(first.dtype()));
    if (t.rank() != rank)
      ctx.fail("input {} has shape {}, input 0 has shape {}: ranks differ", i, shape_str(t.shape()),
               shape_str(first.shape()));
    for (size_t d = 0; d < static_cast<size_t>(rank); ++d)
      if (d != axis && t.shape()[d] != first.shape()[d])
        ctx.fail("input {} has shape {}, input 0 has shape {}: dimension {} differs", i,
                 shape_str(t.shape()), shape_str(first.shape()), d);
    out_shape[axis] += t.shape()[axis];  // each fits in memory already, the sum cannot overflow
  }
  Tensor out = new_tensor(ctx, first.dtype(), out_shape);
  const size_t es = elem_bytes(ctx, first.dtype());
  const int64_t outer = prod(out_shape, 0, axis);
  const int64_t inner = prod(out_shape, axis + 1, out_shape.size());
  const size_t out_row = static_cast<size_t>(out_shape[axis] * inner) * es;
  size_t col = 0;  // byte offset of the current input inside an output row
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    const size_t row = static_cast<size_t>(t.shape()[axis] * inner) * es;
    if (row == 0) continue;
    const auto* src = static_cast<const uint8_t*>(t.raw());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + static_cast<size_t>(o) * out_row + col, src + static_cast<size_t>(o) * row,
                  row);
    col += row;
  }
  ctx.outputs[0] = out;
}

void infer_concat(InferContext& ctx) {
  if (ctx.num_inputs() == 0) ctx.fail("needs at least one input");
  const DType dt = ctx.type(0).dtype;
  const TypeInfo* ref = nullptr;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const TypeInfo& t = ctx.type(i);
    if (t.dtype != DType::undefined && dt != DType::undefined && t.dtype != dt)
      ctx.fail("input {} is {} but input 0 is {}", i, dtype_name(t.dtype), dtype_name(dt));
    if (t.has_shape && ref == nullptr) ref = &t;
  }
  if (ref == nullptr) {
    ctx.outputs[0] = unknown_rank(dt);
    return;
  }
  const int64_t rank = static_cast<int64_t>(ref->dims.size());
  if (rank == 0) ctx.fail("cannot concatenate scalars");
  const size_t axis = static_cast<size_t>(norm_axis(ctx, required_axis(ctx), rank));
  std::vector<Dim> out = ref->dims;
  Dim sum = known_dim(0);
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const TypeInfo& t = ctx.type(i);
    if (!t.has_shape) {
      sum = Dim{};
      continue;
    }
    if (static_cast<int64_t>(t.dims.size()) != rank)
      ctx.fail("input {} has rank {}, expected {}", i, t.dims.size(), rank);
    for (size_t d = 0; d < t.dims.size(); ++d) {
      if (d == axis) continue;
      if (t.dims[d].known() && out[d].known() && t.dims[d].value != out[d].value)
        ctx.fail("input {} has dimension {} = {}, expected {}", i, d, t.dims[d].value,
                 out[d].value);
      if (!out[d].known() && t.dims[d].known()) out[d] = t.dims[d];
    }
    if (sum.known() && t.dims[axis].known())
      sum = known_dim(checked_add(sum.value, t.dims[axis].value, "Concat output"));
    else
      sum = Dim{};
  }
  out[axis] = sum;
  ctx.outputs[0] = with_dims(dt, out);
}

// ---- Split -------------------------------------------------------------------------------------

// Sizes of the parts along the axis, or empty when they depend on unknown values.
template <typename Ctx>
std::vector<int64_t> split_sizes(const Ctx& ctx, const Tensor* split, Dim dim, int outputs) {
  // An empty split tensor means "not given" (exporters write one; onnxruntime accepts it).
  if (split != nullptr && split->numel() > 0) {
    if (split->rank() != 1) ctx.fail("split must be 1-D, has shape {}", shape_str(split->shape()));
    if (split->dtype() != DType::i64)
      ctx.fail("split must be int64, got {}", dtype_name(split->dtype()));
    std::vector<int64_t> s = int_values(ctx, *split, "split");
    if (static_cast<int>(s.size()) != outputs)
      ctx.fail("split has {} values for {} outputs", s.size(), outputs);
    int64_t total = 0;
    for (int64_t v : s) {
      if (v < 0) ctx.fail("split has a negative size {}", v);
      total = checked_add(total, v, "split sizes");
    }
    if (dim.known() && total != dim.value)
      ctx.fail("split sizes [{}] add up to {}, the axis has {}", fmt::join(s, ","), total,
               dim.value);
    return s;
  }
  if (!dim.known()) return {};
  const int64_t n = dim.value;
  if (ctx.node.has_attr("num_outputs")) {  // opset-18 form: the last part may be smaller
    int64_t k = ctx.node.attr_int("num_outputs", 0);
    if (k != outputs) ctx.fail("num_outputs is {} but the node has {} outputs", k, outputs);
    int64_t chunk = (n + k - 1) / k;
    std::vector<int64_t> s;
    for (int64_t i = 0, left = n; i < k; ++i, left -= std::min(chunk, left))
      s.push_back(std::min(chunk, left));
    return s;
  }
  if (n % outputs != 0) ctx.fail("axis of size {} cannot be split into {} equal parts", n, outputs);
  return std::vector<int64_t>(static_cast<size_t>(outputs), n / outputs);
}

void run_split(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (in.rank() == 0) ctx.fail("cannot split a scalar");
  const size_t axis = static_cast<size_t>(norm_axis(ctx, ctx.attr_int("axis", 0), in.rank()));
  const int outputs = ctx.num_outputs();
  if (outputs < 1) ctx.fail("needs at least one output");
  std::vector<int64_t> sizes = split_sizes(ctx, ctx.has_input(1) ? &ctx.input(1) : nullptr,
                                           known_dim(in.shape()[axis]), outputs);
  const size_t es = elem_bytes(ctx, in.dtype());
  const int64_t outer = prod(in.shape(), 0, axis);
  const int64_t inner = prod(in.shape(), axis + 1, in.shape().size());
  const size_t in_row = static_cast<size_t>(in.shape()[axis] * inner) * es;
  const auto* src = static_cast<const uint8_t*>(in.raw());
  size_t col = 0;
  for (int k = 0; k < outputs; ++k) {
    Shape s = in.shape();
    s[axis] = sizes[static_cast<size_t>(k)];
    Tensor out = new_tensor(ctx, in.dtype(), s);
    const size_t row = static_cast<size_t>(s[axis] * inner) * es;
    auto* dst = static_cast<uint8_t*>(out.raw());
    if (row > 0)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + static_cast<size_t>(o) * row, src + static_cast<size_t>(o) * in_row + col,
                    row);
    col += row;
    ctx.outputs[static_cast<size_t>(k)] = out;
  }
}

void infer_split(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  const int outputs = ctx.num_outputs();
  for (auto& o : ctx.outputs) o = unknown_rank(in.dtype);
  if (!in.has_shape) return;
  if (in.dims.empty()) ctx.fail("cannot split a scalar");
  const size_t axis = static_cast<size_t>(
      norm_axis(ctx, ctx.node.attr_int("axis", 0), static_cast<int64_t>(in.dims.size())));
  std::vector<int64_t> sizes;
  if (!ctx.has_input(1) || ctx.value(1) != nullptr)
    sizes = split_sizes(ctx, ctx.has_input(1) ? ctx.value(1) : nullptr, in.dims[axis], outputs);
  for (int k = 0; k < outputs; ++k) {
    std::vector<Dim> d = in.dims;
    d[axis] = sizes.empty() ? Dim{} : known_dim(sizes[static_cast<size_t>(k)]);
    ctx.outputs[static_cast<size_t>(k)] = with_dims(in.dtype, d);
  }
}

// ---- Slice -------------------------------------------------------------------------------------

struct SliceAxis {
  size_t axis;
  int64_t start, step, count;
};

struct SliceSpec {
  std::vector<int64_t> starts, ends, steps;
  std::vector<size_t> axes;
};

template <typename Ctx>
std::vector<int64_t> slice_param(const Ctx& ctx, const Tensor& t, const char* what) {
  if (t.rank() != 1) ctx.fail("{} must be 1-D, has shape {}", what, shape_str(t.shape()));
  check_index_dtype(ctx, t, what);
  return t.to_i64_vector();
}

// Reads starts/ends/axes/steps (inputs 1..4), normalizing axes. Null tensors mean "absent".
template <typename Ctx>
SliceSpec slice_spec(const Ctx& ctx, const Tensor& starts, const Tensor& ends, const Tensor* axes,
                     const Tensor* steps, int64_t rank) {
  SliceSpec s;
  s.starts = slice_param(ctx, starts, "starts");
  s.ends = slice_param(ctx, ends, "ends");
  const size_t n = s.starts.size();
  if (s.ends.size() != n) ctx.fail("starts has {} values but ends has {}", n, s.ends.size());
  std::vector<int64_t> ax;
  if (axes != nullptr) {
    ax = slice_param(ctx, *axes, "axes");
    if (ax.size() != n) ctx.fail("axes has {} values, starts has {}", ax.size(), n);
  } else {
    if (static_cast<int64_t>(n) > rank) ctx.fail("starts has {} values for rank {}", n, rank);
    for (size_t i = 0; i < n; ++i) ax.push_back(static_cast<int64_t>(i));
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t a : ax) {
    auto k = static_cast<size_t>(norm_axis(ctx, a, rank));
    if (seen[k]) ctx.fail("axis {} appears twice in axes", a);
    seen[k] = true;
    s.axes.push_back(k);
  }
  if (steps != nullptr) {
    s.steps = slice_param(ctx, *steps, "steps");
    if (s.steps.size() != n) ctx.fail("steps has {} values, starts has {}", s.steps.size(), n);
    for (int64_t v : s.steps)
      if (v == 0) ctx.fail("steps must not be 0");
  } else {
    s.steps.assign(n, 1);
  }
  return s;
}

// Start and element count along one axis of size dim, clamped as the ONNX spec says.
SliceAxis slice_axis(size_t axis, int64_t dim, int64_t start, int64_t end, int64_t step) {
  SliceAxis r{axis, 0, step, 0};
  if (dim == 0) return r;
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    if (end > start) r.count = (end - start - 1) / step + 1;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    if (start > end)
      r.count = static_cast<int64_t>(
          static_cast<uint64_t>(start - end - 1) / (0 - static_cast<uint64_t>(step)) + 1);
  }
  r.start = start;
  return r;
}

void run_slice(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  SliceSpec s =
      slice_spec(ctx, ctx.input(1), ctx.input(2), ctx.has_input(3) ? &ctx.input(3) : nullptr,
                 ctx.has_input(4) ? &ctx.input(4) : nullptr, in.rank());
  Shape out_shape = in.shape();
  const Shape in_strides = strides_of(in.shape());
  Shape src_strides = in_strides;
  int64_t offset = 0;
  for (size_t i = 0; i < s.axes.size(); ++i) {
    const size_t a = s.axes[i];
    SliceAxis sa = slice_axis(a, in.shape()[a], s.starts[i], s.ends[i], s.steps[i]);
    out_shape[a] = sa.count;
    offset += sa.start * in_strides[a];
    // With a single element the step is never taken; avoid overflowing stride * step.
    src_strides[a] = sa.count > 1 ? in_strides[a] * sa.step : 0;
  }
  ctx.outputs[0] = gather_strided(ctx, in, out_shape, offset, src_strides);
}

void infer_slice(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  if (!in.has_shape) {
    ctx.outputs[0] = unknown_rank(in.dtype);
    return;
  }
  const int64_t rank = static_cast<int64_t>(in.dims.size());
  const Tensor* starts = ctx.value(1);
  const Tensor* ends = ctx.value(2);
  const Tensor* axes = ctx.has_input(3) ? ctx.value(3) : nullptr;
  const Tensor* steps = ctx.has_input(4) ? ctx.value(4) : nullptr;
  const bool known = starts && ends && (!ctx.has_input(3) || axes) && (!ctx.has_input(4) || steps);
  std::vector<Dim> out = in.dims;
  if (!known) {
    if (ctx.has_input(3) && axes != nullptr) {
      for (int64_t a : slice_param(ctx, *axes, "axes"))
        out[static_cast<size_t>(norm_axis(ctx, a, rank))] = Dim{};
    } else {
      out.assign(in.dims.size(), Dim{});
    }
    ctx.outputs[0] = with_dims(in.dtype, out);
    return;
  }
  SliceSpec s = slice_spec(ctx, *starts, *ends, axes, steps, rank);
  for (size_t i = 0; i < s.axes.size(); ++i) {
    const size_t a = s.axes[i];
    if (in.dims[a].known())
      out[a] = known_dim(slice_axis(a, in.dims[a].value, s.starts[i], s.ends[i], s.steps[i]).count);
    else
      out[a] = Dim{};
  }
  ctx.outputs[0] = with_dims(in.dtype, out);
}

// ---- Transpose ---------------------------------------------------------------------------------

template <typename Ctx>
std::vector<int64_t> transpose_perm(const Ctx& ctx, size_t rank) {
  std::vector<int64_t> perm;
  if (ctx.node.has_attr("perm")) {
    perm = ctx.node.attr_ints("perm");
    if (perm.size() != rank) ctx.fail("perm has {} entries for rank {}", perm.size(), rank);
    std::vector<bool> seen(rank, false);
    for (int64_t& p : perm) {
      p = norm_axis(ctx, p, static_cast<int64_t>(rank), "perm entry");
      if (seen[static_cast<size_t>(p)])
        ctx.fail("perm [{}] is not a permutation", fmt::join(ctx.node.attr_ints("perm"), ","));
      seen[static_cast<size_t>(p)] = true;
    }
  } else {
    for (size_t i = rank; i-- > 0;) perm.push_back(static_cast<int64_t>(i));
  }
  return perm;
}

void run_transpose(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  ctx.outputs[0] = transpose_tensor(ctx, in, transpose_perm(ctx, in.shape().size()));
}

void infer_transpose(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  if (!in.has_shape) {
    ctx.outputs[0] = unknown_rank(in.dtype);
    return;
  }
  std::vector<int64_t> perm = transpose_perm(ctx, in.dims.size());
  std::vector<Dim> out;
  for (int64_t p : perm) out.push_back(in.dims[static_cast<size_t>(p)]);
  ctx.outputs[0] = with_dims(in.dtype, out);
}

// ---- DepthToSpace / SpaceToDepth ---------------------------------------------------------------

template <typename Ctx>
int64_t blocksize(const Ctx& ctx) {
  if (!ctx.node.has_attr("blocksize")) ctx.fail("attribute 'blocksize' is required");
  int64_t b = ctx.node.attr_int("blocksize", 0);
  if (b <= 0 || b > (int64_t{1} << 31)) ctx.fail("blocksize {} must be positive", b);
  return b;
}

template <typename Ctx>
bool depth_to_space_crd(const Ctx& ctx) {
  std::string mode = ctx.node.attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") ctx.fail("mode '{}' must be DCR or CRD", mode);
  return mode == "CRD";
}

void run_depth_to_space(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (in.rank() != 4) ctx.fail("input must be 4-D (NCHW), has shape {}", shape_str(in.shape()));
  const int64_t b = blocksize(ctx), n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
  if (c % (b * b) != 0) ctx.fail("channels {} are not divisible by blocksize^2 = {}", c, b * b);
  const int64_t oc = c / (b * b), hw = h * w;
  // Strides of the input viewed as [N, C', H, b1, W, b2] (the output order).
  Shape view{n, oc, h, b, w, b};
  Shape src;
  if (depth_to_space_crd(ctx))  // channel = c' * b * b + b1 * b + b2
    src = {c * hw, b * b * hw, w, b * hw, 1, hw};
  else  // DCR: channel = b1 * b * C' + b2 * C' + c'
    src = {c * hw, hw, w, b * oc * hw, 1, oc * hw};
  Tensor out = gather_strided(ctx, in, view, 0, src);
  ctx.outputs[0] = out.reshaped({n, oc, h * b, w * b});
}

void run_space_to_depth(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (in.rank() != 4) ctx.fail("input must be 4-D (NCHW), has shape {}", shape_str(in.shape()));
  const int64_t b = blocksize(ctx), n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
  if (h % b != 0 || w % b != 0)
    ctx.fail("spatial size {}x{} is not divisible by blocksize {}", h, w, b);
  const int64_t oh = h / b, ow = w / b;
  // Output [N, b1, b2, C, H', W'] reads input element (n, c, h' * b + b1, w' * b + b2).
  Shape view{n, b, b, c, oh, ow};
  Shape src{c * h * w, w, 1, h * w, b * w, b};
  Tensor out = gather_strided(ctx, in, view, 0, src);
  ctx.outputs[0] = out.reshaped({n, c * b * b, oh, ow});
}

template <bool kToSpace>
void infer_depth_space(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  const int64_t b = blocksize(ctx);
  if (kToSpace) depth_to_space_crd(ctx);
  if (!in.has_shape) {
    ctx.outputs[0] = with_rank(in.dtype, 4);
    return;
  }
  if (in.dims.size() != 4) ctx.fail("input must be 4-D (NCHW), has rank {}", in.dims.size());
  std::vector<Dim> out = in.dims;
  const Dim &c = in.dims[1], &h = in.dims[2], &w = in.dims[3];
  if (kToSpace) {
    if (c.known() && c.value % (b * b) != 0)
      ctx.fail("channels {} are not divisible by blocksize^2 = {}", c.value, b * b);
    out[1] = c.known() ? known_dim(c.value / (b * b)) : Dim{};
    out[2] = h.known() ? known_dim(mul_size(ctx, h.value, b, "output height")) : Dim{};
    out[3] = w.known() ? known_dim(mul_size(ctx, w.value, b, "output width")) : Dim{};
  } else {
    if ((h.known() && h.value % b != 0) || (w.known() && w.value % b != 0))
      ctx.fail("spatial size is not divisible by blocksize {}", b);
    out[1] = c.known() ? known_dim(mul_size(ctx, c.value, b * b, "output channels")) : Dim{};
    out[2] = h.known() ? known_dim(h.value / b) : Dim{};
    out[3] = w.known() ? known_dim(w.value / b) : Dim{};
  }
  ctx.outputs[0] = with_dims(in.dtype, out);
}

}  // namespace

void register_shape_pad_ops(OpRegistry& r);

void register_shape_layout_ops(OpRegistry& r) {
  r.add({"Concat", "", infer_concat, run_concat});
  r.add({"Split", "", infer_split, run_split});
  r.add({"Slice", "", infer_slice, run_slice});
  r.add({"Transpose", "", infer_transpose, run_transpose});
  r.add({"DepthToSpace", "", infer_depth_space<true>, run_depth_to_space});
  r.add({"SpaceToDepth", "", infer_depth_space<false>, run_space_to_depth});
  register_shape_pad_ops(r);
}

}  // namespace nnaccel
