// Pad: constant, reflect, edge (and wrap) modes; negative pads crop.
#include <algorithm>
#include <cstring>

#include "ops/shape_util.hpp"

namespace nnaccel {

using namespace shape_util;

namespace {

enum class PadMode { constant, reflect, edge, wrap };

template <typename Ctx>
PadMode pad_mode(const Ctx& ctx) {
  std::string m = ctx.node.attr_string("mode", "constant");
  if (m == "constant") return PadMode::constant;
  if (m == "reflect") return PadMode::reflect;
  if (m == "edge") return PadMode::edge;
  if (m == "wrap") return PadMode::wrap;
  ctx.fail("mode '{}' must be constant, reflect, edge or wrap", m);
}

// Per-axis (begin, end) pads for every axis of a rank-`rank` tensor, from the pads input and the
// optional axes input (opset 18).
template <typename Ctx>
std::vector<std::pair<int64_t, int64_t>> pad_amounts(const Ctx& ctx, const Tensor& pads,
                                                     const Tensor* axes, int64_t rank) {
  if (pads.rank() != 1) ctx.fail("pads must be 1-D, has shape {}", shape_str(pads.shape()));
  if (pads.dtype() != DType::i64) ctx.fail("pads must be int64, got {}", dtype_name(pads.dtype()));
  std::vector<int64_t> p = int_values(ctx, pads, "pads");
  std::vector<int64_t> ax;
  if (axes != nullptr) {
    check_index_dtype(ctx, *axes, "axes");
    ax = axes->to_i64_vector();
  } else {
    for (int64_t i = 0; i < rank; ++i) ax.push_back(i);
  }
  if (p.size() != 2 * ax.size())
    ctx.fail("pads has {} values, expected {} (2 per axis)", p.size(), 2 * ax.size());
  std::vector<std::pair<int64_t, int64_t>> r(static_cast<size_t>(rank), {0, 0});
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < ax.size(); ++i) {
    auto a = static_cast<size_t>(norm_axis(ctx, ax[i], rank));
    if (seen[a]) ctx.fail("axis {} appears twice in axes", ax[i]);
    seen[a] = true;
    r[a] = {p[i], p[i + ax.size()]};
  }
  return r;
}

template <typename Ctx>
int64_t padded_dim(const Ctx& ctx, size_t axis, int64_t dim, std::pair<int64_t, int64_t> pad) {
  __int128 d = static_cast<__int128>(dim) + pad.first + pad.second;
  if (d < 0)
    ctx.fail("pads ({}, {}) on axis {} of size {} leave a negative size", pad.first, pad.second,
             axis, dim);
  if (d > INT64_MAX) ctx.fail("padded size of axis {} overflows", axis);
  return static_cast<int64_t>(d);
}

// Source index along one axis for output index o (-1: the constant value).
int64_t source_index(PadMode mode, int64_t o, int64_t begin, int64_t dim) {
  int64_t i = o - begin;
  if (i >= 0 && i < dim) return i;
  switch (mode) {
    case PadMode::constant:
      return -1;
    case PadMode::edge:
      return i < 0 ? 0 : dim - 1;
    case PadMode::wrap:
      return ((i % dim) + dim) % dim;
    case PadMode::reflect: {
      if (dim == 1) return 0;
      const int64_t period = 2 * (dim - 1);
      int64_t m = ((i % period) + period) % period;
      return m < dim ? m : period - m;
    }
  }
  return -1;
}

void run_pad(OpContext& ctx) {
  const Tensor& in = ctx.input(0);
  const PadMode mode = pad_mode(ctx);
  const size_t r = in.shape().size();
  auto pads = pad_amounts(ctx, ctx.input(1), ctx.has_input(3) ? &ctx.input(3) : nullptr,
                          static_cast<int64_t>(r));
  Shape out_shape(r);
  for (size_t i = 0; i < r; ++i) {
    out_shape[i] = padded_dim(ctx, i, in.shape()[i], pads[i]);
    if (mode != PadMode::constant && in.shape()[i] == 0 && out_shape[i] > 0)
      ctx.fail("cannot pad axis {} of size 0 in {} mode", i, ctx.attr_string("mode", ""));
  }
  Tensor out = new_tensor(ctx, in.dtype(), out_shape);
  const size_t es = elem_bytes(ctx, in.dtype());
  std::vector<uint8_t> fill(es, 0);
  if (mode == PadMode::constant && ctx.has_input(2)) {
    const Tensor& cv = ctx.input(2);
    if (cv.dtype() != in.dtype())
      ctx.fail("constant_value is {} but data is {}", dtype_name(cv.dtype()),
               dtype_name(in.dtype()));
    if (cv.numel() != 1)
      ctx.fail("constant_value must be a scalar, has shape {}", shape_str(cv.shape()));
    std::memcpy(fill.data(), cv.raw(), es);
  }
  if (out.numel() == 0) {
    ctx.outputs[0] = out;
    return;
  }
  if (r == 0) {
    ctx.outputs[0] = in;
    return;
  }
  // Source index per axis and output position; each table is no longer than the output.
  std::vector<std::vector<int64_t>> map(r);
  for (size_t a = 0; a < r; ++a) {
    map[a].resize(static_cast<size_t>(out_shape[a]));
    for (int64_t o = 0; o < out_shape[a]; ++o)
      map[a][static_cast<size_t>(o)] = source_index(mode, o, pads[a].first, in.shape()[a]);
  }
  const Shape in_strides = strides_of(in.shape());
  const int64_t inner = out_shape[r - 1];
  const int64_t rows = out.numel() / inner;
  const std::vector<int64_t>& last = map[r - 1];
  visit_by_size(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v;
    std::memcpy(&v, fill.data(), sizeof(T));
    const T* src = in.data<T>();
    T* dst = out.data<T>();
    std::vector<int64_t> idx(r, 0);
    for (int64_t row = 0; row < rows; ++row) {
      int64_t base = 0;
      bool outside = false;
      for (size_t a = 0; a + 1 < r; ++a) {
        int64_t s = map[a][static_cast<size_t>(idx[a])];
        if (s < 0) outside = true;
        base += s * in_strides[a];
      }
      T* d = dst + row * inner;
      if (outside) {
        std::fill_n(d, inner, v);
      } else {
        for (int64_t o = 0; o < inner; ++o) {
          int64_t s = last[static_cast<size_t>(o)];
          d[o] = s < 0 ? v : src[base + s];
        }
      }
      for (size_t a = r - 1; a-- > 0;) {  // next row: odometer over all axes but the last
        if (++idx[a] < out_shape[a]) break;
        idx[a] = 0;
      }
    }
  });
  ctx.outputs[0] = out;
}

void infer_pad(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  pad_mode(ctx);
  if (ctx.has_input(2) && ctx.type(2).dtype != DType::undefined && ctx.type(2).dtype != in.dtype)
    ctx.fail("constant_value is {} but data is {}", dtype_name(ctx.type(2).dtype),
             dtype_name(in.dtype));
  if (!in.has_shape) {
    ctx.outputs[0] = unknown_rank(in.dtype);
    return;
  }
  const size_t r = in.dims.size();
  const Tensor* pads = ctx.value(1);
  const Tensor* axes = ctx.has_input(3) ? ctx.value(3) : nullptr;
  if (pads == nullptr || (ctx.has_input(3) && axes == nullptr)) {
    ctx.outputs[0] = with_rank(in.dtype, r);
    return;
  }
  auto p = pad_amounts(ctx, *pads, axes, static_cast<int64_t>(r));
  std::vector<Dim> out(r);
  for (size_t i = 0; i < r; ++i)
    if (in.dims[i].known())
      out[i] = known_dim(padded_dim(ctx, i, in.dims[i].value, p[i]));
    else if (p[i].first == 0 && p[i].second == 0)
      out[i] = in.dims[i];
  ctx.outputs[0] = with_dims(in.dtype, out);
}

}  // namespace

void register_shape_pad_ops(OpRegistry& r) { r.add({"Pad", "", infer_pad, run_pad}); }

}  // namespace nnaccel
