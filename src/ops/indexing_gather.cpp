// Indexing ops that read data at indices or by a mask: Gather, GatherElements, GatherND,
// Compress, NonZero.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/shape_util.hpp"

namespace nnaccel {

using namespace shape_util;

namespace {

// ---- Gather ------------------------------------------------------------------------------------

template <typename Ctx>
std::vector<Dim> gather_dims(const Ctx& ctx, const std::vector<Dim>& data,
                             const std::vector<Dim>& idx) {
  if (data.empty()) ctx.fail("data must have rank >= 1");
  const auto axis = static_cast<size_t>(
      norm_axis(ctx, ctx.node.attr_int("axis", 0), static_cast<int64_t>(data.size())));
  std::vector<Dim> out(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(axis));
  out.insert(out.end(), idx.begin(), idx.end());
  out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.end());
  return out;
}

void run_gather(OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  check_index_dtype(ctx, idx, "indices");
  std::vector<Dim> od = gather_dims(ctx, dims_of(data.shape()), dims_of(idx.shape()));
  const auto axis = static_cast<size_t>(norm_axis(ctx, ctx.attr_int("axis", 0), data.rank()));
  Shape out_shape;
  for (const Dim& d : od) out_shape.push_back(d.value);
  const int64_t n = data.shape()[axis];
  const int64_t count = idx.numel();
  std::vector<int64_t> pos(static_cast<size_t>(count));
  for (int64_t j = 0; j < count; ++j)
    pos[static_cast<size_t>(j)] = checked_index(ctx, idx, j, n, axis);
  Tensor out = new_tensor(ctx, data.dtype(), out_shape);
  const size_t es = elem_bytes(ctx, data.dtype());
  const int64_t outer = prod(data.shape(), 0, axis);
  const size_t block = static_cast<size_t>(prod(data.shape(), axis + 1, data.shape().size())) * es;
  const auto* src = static_cast<const uint8_t*>(data.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  if (block > 0)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < count; ++j, dst += block)
        std::memcpy(dst, src + (static_cast<size_t>(o * n + pos[static_cast<size_t>(j)])) * block,
                    block);
  ctx.outputs[0] = out;
}

void infer_gather(InferContext& ctx) {
  const TypeInfo& data = ctx.type(0);
  const TypeInfo& idx = ctx.type(1);
  if (idx.dtype != DType::undefined && !is_index_dtype(idx.dtype))
    ctx.fail("indices must be int32 or int64, got {}", dtype_name(idx.dtype));
  if (data.has_shape && idx.has_shape)
    ctx.outputs[0] = with_dims(data.dtype, gather_dims(ctx, data.dims, idx.dims));
  else
    ctx.outputs[0] = unknown_rank(data.dtype);
}

// ---- GatherElements ----------------------------------------------------------------------------

void run_gather_elements(OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  check_index_dtype(ctx, idx, "indices");
  const int r = data.rank();
  if (r == 0) ctx.fail("data must have rank >= 1");
  if (idx.rank() != r) ctx.fail("indices has rank {}, data has rank {}", idx.rank(), r);
  const auto axis = static_cast<size_t>(norm_axis(ctx, ctx.attr_int("axis", 0), r));
  for (size_t d = 0; d < static_cast<size_t>(r); ++d)
    if (d != axis && idx.shape()[d] > data.shape()[d])
      ctx.fail("indices shape {} exceeds data shape {} at axis {}", shape_str(idx.shape()),
               shape_str(data.shape()), d);
  Tensor out = new_tensor(ctx, data.dtype(), idx.shape());
  if (out.numel() == 0) {
    ctx.outputs[0] = out;
    return;
  }
  const Shape ds = strides_of(data.shape());
  const int64_t n = data.shape()[axis];
  visit_by_size(data.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = data.data<T>();
    T* dst = out.data<T>();
    std::vector<int64_t> at(static_cast<size_t>(r), 0);
    int64_t base = 0;  // data offset of `at` with the axis coordinate left out
    for (int64_t i = 0; i < out.numel(); ++i) {
      const int64_t k = checked_index(ctx, idx, i, n, axis);
      dst[i] = src[base + k * ds[axis]];
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
  });
  ctx.outputs[0] = out;
}

void infer_gather_elements(InferContext& ctx) {
  const TypeInfo& data = ctx.type(0);
  TypeInfo t = ctx.type(1);
  if (t.dtype != DType::undefined && !is_index_dtype(t.dtype))
    ctx.fail("indices must be int32 or int64, got {}", dtype_name(t.dtype));
  if (data.has_shape && t.has_shape && data.dims.size() != t.dims.size())
    ctx.fail("indices has rank {}, data has rank {}", t.dims.size(), data.dims.size());
  t.dtype = data.dtype;
  ctx.outputs[0] = t;
}

// ---- GatherND ----------------------------------------------------------------------------------

template <typename Ctx>
std::vector<Dim> gather_nd_dims(const Ctx& ctx, const std::vector<Dim>& data,
                                const std::vector<Dim>& idx, bool* unknown) {
  const int64_t b = ctx.node.attr_int("batch_dims", 0);
  const auto r = static_cast<int64_t>(data.size()), q = static_cast<int64_t>(idx.size());
  if (r < 1 || q < 1) ctx.fail("data and indices must have rank >= 1 (ranks {} and {})", r, q);
  if (b < 0 || b >= std::min(r, q))
    ctx.fail("batch_dims {} must be in [0, min(rank(data), rank(indices))) = [0, {})", b,
             std::min(r, q));
  *unknown = !idx.back().known();
  std::vector<Dim> out(idx.begin(), idx.end() - 1);
  if (*unknown) return out;
  const int64_t k = idx.back().value;
  if (k > r - b)
    ctx.fail("indices' last dimension {} exceeds rank(data) - batch_dims = {}", k, r - b);
  for (size_t i = 0; i < static_cast<size_t>(b); ++i)
    if (data[i].known() && idx[i].known() && data[i].value != idx[i].value)
      ctx.fail("batch dimension {} differs: data has {}, indices has {}", i, data[i].value,
               idx[i].value);
  out.insert(out.end(), data.begin() + b + k, data.end());
  return out;
}

void run_gather_nd(OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  if (idx.dtype() != DType::i64) ctx.fail("indices must be int64, got {}", dtype_name(idx.dtype()));
  bool unknown = false;
  std::vector<Dim> od = gather_nd_dims(ctx, dims_of(data.shape()), dims_of(idx.shape()), &unknown);
  Shape out_shape;
  for (const Dim& d : od) out_shape.push_back(d.value);
  const auto b = static_cast<size_t>(ctx.attr_int("batch_dims", 0));
  const auto k = static_cast<size_t>(idx.shape().back());
  Tensor out = new_tensor(ctx, data.dtype(), out_shape);
  const size_t es = elem_bytes(ctx, data.dtype());
  const Shape ds = strides_of(data.shape());
  const int64_t batches = prod(data.shape(), 0, b);
  const int64_t batch_stride = b == 0 ? data.numel() : ds[b - 1];
  const int64_t tuples = prod(idx.shape(), b, idx.shape().size() - 1);
  const int64_t slice = prod(data.shape(), b + k, data.shape().size());
  const auto* src = static_cast<const uint8_t*>(data.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t bi = 0; bi < batches; ++bi) {
    for (int64_t t = 0; t < tuples; ++t) {
      const int64_t tuple = bi * tuples + t;
      int64_t off = bi * batch_stride;
      for (size_t j = 0; j < k; ++j) {
        off += checked_index(ctx, idx, tuple * static_cast<int64_t>(k) + static_cast<int64_t>(j),
                             data.shape()[b + j], b + j) *
               ds[b + j];
      }
      if (slice > 0)
        std::memcpy(dst + static_cast<size_t>(tuple * slice) * es,
                    src + static_cast<size_t>(off) * es, static_cast<size_t>(slice) * es);
    }
  }
  ctx.outputs[0] = out;
}

void infer_gather_nd(InferContext& ctx) {
  const TypeInfo& data = ctx.type(0);
  const TypeInfo& idx = ctx.type(1);
  if (idx.dtype != DType::undefined && idx.dtype != DType::i64)
    ctx.fail("indices must be int64, got {}", dtype_name(idx.dtype));
  ctx.outputs[0] = unknown_rank(data.dtype);
  if (!data.has_shape || !idx.has_shape) return;
  bool unknown = false;
  std::vector<Dim> out = gather_nd_dims(ctx, data.dims, idx.dims, &unknown);
  if (!unknown) ctx.outputs[0] = with_dims(data.dtype, out);
}

// ---- Compress ----------------------------------------------------------------------------------

void run_compress(OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& cond = ctx.input(1);
  if (cond.dtype() != DType::boolean)
    ctx.fail("condition must be bool, got {}", dtype_name(cond.dtype()));
  if (cond.rank() != 1) ctx.fail("condition must be 1-D, has shape {}", shape_str(cond.shape()));
  const bool has_axis = ctx.attr("axis") != nullptr;
  Shape view = has_axis ? data.shape() : Shape{data.numel()};
  const auto axis =
      has_axis ? static_cast<size_t>(norm_axis(ctx, ctx.attr_int("axis", 0), data.rank())) : 0;
  if (view.empty()) ctx.fail("data must have rank >= 1 when axis is given");
  const int64_t n = view[axis];
  // Condition entries past the axis are allowed only when false (nothing to select there).
  const auto* c = cond.data<uint8_t>();
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < cond.numel(); ++i) {
    if (!c[i]) continue;
    if (i >= n) ctx.fail("condition selects index {} but the axis has size {}", i, n);
    keep.push_back(i);
  }
  Shape out_shape = view;
  out_shape[axis] = static_cast<int64_t>(keep.size());
  Tensor out = new_tensor(ctx, data.dtype(), out_shape);
  const size_t es = elem_bytes(ctx, data.dtype());
  const int64_t outer = prod(view, 0, axis);
  const size_t block = static_cast<size_t>(prod(view, axis + 1, view.size())) * es;
  const auto* src = static_cast<const uint8_t*>(data.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  if (block > 0)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k : keep) {
        std::memcpy(dst, src + static_cast<size_t>(o * n + k) * block, block);
        dst += block;
      }
  ctx.outputs[0] = out;
}

void infer_compress(InferContext& ctx) {
  const TypeInfo& data = ctx.type(0);
  if (ctx.node.attr("axis") == nullptr) {
    ctx.outputs[0] = with_rank(data.dtype, 1);
    return;
  }
  if (!data.has_shape) {
    ctx.outputs[0] = unknown_rank(data.dtype);
    return;
  }
  std::vector<Dim> out = data.dims;
  if (out.empty()) ctx.fail("data must have rank >= 1 when axis is given");
  out[static_cast<size_t>(
      norm_axis(ctx, ctx.node.attr_int("axis", 0), static_cast<int64_t>(out.size())))] = Dim{};
  ctx.outputs[0] = with_dims(data.dtype, out);
}

// ---- NonZero -----------------------------------------------------------------------------------

// 1 where element i is non-zero: -0.0 is zero, NaN is not.
template <typename Ctx>
std::vector<uint8_t> nonzero_flags(const Ctx& ctx, const Tensor& t) {
  std::vector<uint8_t> f(static_cast<size_t>(t.numel()));
  const DType dt = t.dtype();
  if (dt == DType::f16 || dt == DType::bf16) {
    const auto* p = t.data<uint16_t>();
    for (size_t i = 0; i < f.size(); ++i) f[i] = (p[i] & 0x7FFF) != 0;
    return f;
  }
  if (dtype_bits(dt) == 0) ctx.fail("unsupported element type {}", dtype_name(dt));
  visit_numeric(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    for (size_t i = 0; i < f.size(); ++i) f[i] = p[i] != T(0);
  });
  return f;
}

void run_nonzero(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  std::vector<uint8_t> f = nonzero_flags(ctx, in);
  const int64_t nnz = std::count(f.begin(), f.end(), uint8_t{1});
  // A scalar is treated as a 1-element vector (as numpy does).
  const Shape shape = in.rank() == 0 ? Shape{1} : in.shape();
  const auto r = static_cast<int64_t>(shape.size());
  Tensor out = new_tensor(ctx, DType::i64, {r, nnz});
  int64_t* o = out.data<int64_t>();
  std::vector<int64_t> at(shape.size(), 0);
  int64_t col = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i]) {
      for (int64_t d = 0; d < r; ++d) o[d * nnz + col] = at[static_cast<size_t>(d)];
      ++col;
    }
    for (size_t d = shape.size(); d-- > 0;) {
      if (++at[d] < shape[d]) break;
      at[d] = 0;
    }
  }
  ctx.outputs[0] = out;
}

void infer_nonzero(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  Dim r =
      in.has_shape ? known_dim(std::max<int64_t>(1, static_cast<int64_t>(in.dims.size()))) : Dim{};
  ctx.outputs[0] = with_dims(DType::i64, {r, Dim{}});
}

}  // namespace

void register_indexing_gather_ops(OpRegistry& r) {
  r.add({"Gather", "", infer_gather, run_gather});
  r.add({"GatherElements", "", infer_gather_elements, run_gather_elements});
  r.add({"GatherND", "", infer_gather_nd, run_gather_nd});
  r.add({"Compress", "", infer_compress, run_compress});
  r.add({"NonZero", "", infer_nonzero, run_nonzero});
}

}  // namespace nnaccel
