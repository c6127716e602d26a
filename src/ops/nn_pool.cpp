// Pooling: AveragePool, MaxPool (with Indices), LpPool, their Global forms, MaxRoiPool and
// MaxUnpool. Windows are computed once per output position and applied to every (n, c) plane.
#include <cmath>
#include <limits>

#include "ops/nn_common.hpp"

namespace nnaccel {

namespace {

using namespace nn;

enum class PoolKind { average, max, lp };

void check_pool_input(const Node& node, size_t rank) {
  if (rank < 3)
    node_fail(node,
              "input X has rank {}; expected [N, C, spatial...] with at least one spatial "
              "dimension",
              rank);
}

int64_t lp_order(const Node& node) {
  const int64_t p = node.attr_int("p", 2);
  if (p < 1) node_fail(node, "p {} must be positive", p);
  return p;
}

// The window of a pool node for input dims `x` (-1 for unknown).
Window pool_window(const Node& node, const std::vector<int64_t>& x) {
  check_pool_input(node, x.size());
  std::vector<int64_t> kernel = required_kernel_shape(node, x.size() - 2);
  const int64_t ceil_mode = node.attr_int("ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1) node_fail(node, "ceil_mode {} must be 0 or 1", ceil_mode);
  return resolve_window(node, {x.begin() + 2, x.end()}, kernel, ceil_mode == 1);
}

void infer_pool(InferContext& ctx) {
  const TypeInfo& xt = ctx.type(0);
  if (!xt.has_shape) {
    ctx.outputs[0] = type_unknown_shape(xt.dtype);
    if (ctx.num_outputs() > 1) ctx.outputs[1] = type_unknown_shape(DType::i64);
    return;
  }
  std::vector<int64_t> x = known_dims(xt);
  Window w = pool_window(ctx.node, x);
  std::vector<int64_t> out = {x[0], x[1]};
  out.insert(out.end(), w.out.begin(), w.out.end());
  TypeInfo t = type_with_dims(xt.dtype, out);
  t.dims[0] = xt.dims[0];
  t.dims[1] = xt.dims[1];
  ctx.outputs[0] = t;
  if (ctx.num_outputs() > 1) {
    t.dtype = DType::i64;
    ctx.outputs[1] = t;
  }
}

template <typename T>
void pool_forward(const Tensor& x, const Window& win, PoolKind kind, bool count_include_pad,
                  int64_t p, bool column_major_indices, Tensor& y, Tensor* indices) {
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t in_size = product(win.in), out_size = product(win.out);
  const T* xd = x.data<T>();
  T* yd = y.data<T>();
  int64_t* id = indices != nullptr ? indices->data<int64_t>() : nullptr;
  TapBuilder taps(win);
  std::vector<int64_t> pos(win.rank(), 0);
  for (int64_t o = 0; o < out_size; ++o, next_index(pos, win.out)) {
    double padded = 0;
    const std::vector<Tap>& window = taps.build(pos, &padded);
    for (int64_t pc = 0; pc < planes; ++pc) {
      const T* plane = xd + pc * in_size;
      T result{};
      if (kind == PoolKind::max) {
        const Tap* best = nullptr;
        for (const Tap& t : window)
          if (best == nullptr || plane[t.x] > plane[best->x]) best = &t;
        // A window entirely in the padding has no maximum; it cannot happen with pads smaller
        // than the kernel, the only padding frameworks produce.
        result = best != nullptr ? plane[best->x] : std::numeric_limits<T>::lowest();
        if (id != nullptr)
          id[pc * out_size + o] =
              best == nullptr ? -1 : pc * in_size + (column_major_indices ? best->x_col : best->x);
      } else if (kind == PoolKind::average) {
        double sum = 0;
        for (const Tap& t : window) sum += static_cast<double>(plane[t.x]);
        const double count = count_include_pad ? padded : static_cast<double>(window.size());
        result = static_cast<T>(count > 0 ? sum / count : 0.0);
      } else {
        double sum = 0;
        for (const Tap& t : window)
          sum += std::pow(std::fabs(static_cast<double>(plane[t.x])), static_cast<double>(p));
        result = static_cast<T>(std::pow(sum, 1.0 / static_cast<double>(p)));
      }
      yd[pc * out_size + o] = result;
    }
  }
}

void run_pool(OpContext& ctx, PoolKind kind) {
  const Tensor& x0 = ctx.input(0);
  const DType io = x0.dtype();
  // MaxPool selects values, so it also runs on 8-bit integers; the others average.
  const bool int_ok = kind == PoolKind::max && (io == DType::i8 || io == DType::u8);
  const DType ct = int_ok ? io : float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(x0, ct);
  Window win = pool_window(ctx.node, x.shape());
  Shape out = {x.dim(0), x.dim(1)};
  out.insert(out.end(), win.out.begin(), win.out.end());
  const int64_t storage_order = ctx.attr_int("storage_order", 0);
  if (storage_order != 0 && storage_order != 1)
    ctx.fail("storage_order {} must be 0 (row major) or 1 (column major)", storage_order);
  const int64_t count_include_pad = ctx.attr_int("count_include_pad", 0);
  const int64_t p = kind == PoolKind::lp ? lp_order(ctx.node) : 2;
  Tensor y(ct, out);
  Tensor indices;
  if (kind == PoolKind::max && ctx.has_output(1)) indices = Tensor(DType::i64, out);
  visit_numeric(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                  std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>) {
      pool_forward<T>(x, win, kind, count_include_pad != 0, p, storage_order == 1, y,
                      indices.defined() ? &indices : nullptr);
    }
  });
  ctx.outputs[0] = to_dtype(y, io);
  if (indices.defined()) ctx.outputs[1] = indices;
}

void run_average_pool(OpContext& ctx) { run_pool(ctx, PoolKind::average); }
void run_max_pool(OpContext& ctx) { run_pool(ctx, PoolKind::max); }
void run_lp_pool(OpContext& ctx) { run_pool(ctx, PoolKind::lp); }

// ---------------------------------------------------------------------------------------------
// Global pools: one window covering all spatial dimensions.

void infer_global_pool(InferContext& ctx) {
  const TypeInfo& xt = ctx.type(0);
  TypeInfo t = xt;
  if (t.has_shape) {
    if (t.dims.size() < 2)
      ctx.fail("input X has rank {}; expected [N, C, spatial...]", t.dims.size());
    for (size_t i = 2; i < t.dims.size(); ++i) t.dims[i] = Dim{1, {}};
  }
  ctx.outputs[0] = t;
}

void run_global_pool(OpContext& ctx, PoolKind kind) {
  const Tensor& x0 = ctx.input(0);
  const DType io = x0.dtype();
  const DType ct = float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(x0, ct);
  if (x.rank() < 2) ctx.fail("input X has rank {}; expected [N, C, spatial...]", x.rank());
  const int64_t p = kind == PoolKind::lp ? lp_order(ctx.node) : 2;
  Shape out = x.shape();
  for (size_t i = 2; i < out.size(); ++i) out[i] = 1;
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t plane_size = planes > 0 ? x.numel() / planes : 0;
  if (plane_size == 0 && x.numel() == 0 && planes > 0)
    ctx.fail("input X has an empty spatial extent {}", shape_str(x.shape()));
  Tensor y(ct, out);
  visit_float(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    T* yd = y.data<T>();
    for (int64_t pc = 0; pc < planes; ++pc) {
      const T* plane = xd + pc * plane_size;
      if (kind == PoolKind::max) {
        T best = plane[0];
        for (int64_t i = 1; i < plane_size; ++i) best = plane[i] > best ? plane[i] : best;
        yd[pc] = best;
      } else if (kind == PoolKind::average) {
        double sum = 0;
        for (int64_t i = 0; i < plane_size; ++i) sum += static_cast<double>(plane[i]);
        yd[pc] = static_cast<T>(sum / static_cast<double>(plane_size));
      } else {
        double sum = 0;
        for (int64_t i = 0; i < plane_size; ++i)
          sum += std::pow(std::fabs(static_cast<double>(plane[i])), static_cast<double>(p));
        yd[pc] = static_cast<T>(std::pow(sum, 1.0 / static_cast<double>(p)));
      }
    }
  });
  ctx.outputs[0] = to_dtype(y, io);
}

void run_global_average_pool(OpContext& ctx) { run_global_pool(ctx, PoolKind::average); }
void run_global_max_pool(OpContext& ctx) { run_global_pool(ctx, PoolKind::max); }
void run_global_lp_pool(OpContext& ctx) { run_global_pool(ctx, PoolKind::lp); }

// ---------------------------------------------------------------------------------------------
// MaxRoiPool: max over a grid of bins inside each region of interest (Fast R-CNN).

std::vector<int64_t> pooled_shape(const Node& node) {
  if (!node.has_attr("pooled_shape")) node_fail(node, "attribute pooled_shape is required");
  std::vector<int64_t> s = node.attr_ints("pooled_shape");
  if (s.size() != 2 || s[0] < 1 || s[1] < 1)
    node_fail(node, "pooled_shape {} must be two positive values", fmt::join(s, ","));
  return s;
}

void infer_max_roi_pool(InferContext& ctx) {
  const TypeInfo& xt = ctx.type(0);
  const TypeInfo& rt = ctx.type(1);
  std::vector<int64_t> ps = pooled_shape(ctx.node);
  if (xt.has_shape && xt.dims.size() != 4)
    ctx.fail("input X has rank {}, expected 4 (N, C, H, W)", xt.dims.size());
  if (rt.has_shape && (rt.dims.size() != 2 || (rt.dims[1].known() && rt.dims[1].value != 5)))
    ctx.fail("rois must have shape [num_rois, 5]");
  TypeInfo t;
  t.dtype = xt.dtype;
  t.has_shape = true;
  t.dims = {rt.has_shape ? rt.dims[0] : Dim{}, xt.has_shape ? xt.dims[1] : Dim{}, Dim{ps[0], {}},
            Dim{ps[1], {}}};
  ctx.outputs[0] = t;
}

void run_max_roi_pool(OpContext& ctx) {
  const DType io = ctx.input(0).dtype();
  const DType ct = float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(ctx.input(0), ct);
  Tensor rois = to_dtype(ctx.input(1), ct);
  if (x.rank() != 4) ctx.fail("input X has rank {}, expected 4 (N, C, H, W)", x.rank());
  if (rois.rank() != 2 || rois.dim(1) != 5)
    ctx.fail("rois has shape {}, expected [num_rois, 5]", shape_str(rois.shape()));
  std::vector<int64_t> ps = pooled_shape(ctx.node);
  const double scale = ctx.attr_float("spatial_scale", 1.0f);
  const int64_t n_batch = x.dim(0), channels = x.dim(1), height = x.dim(2), width = x.dim(3);
  const int64_t n_rois = rois.dim(0);
  Tensor y(ct, {n_rois, channels, ps[0], ps[1]});
  visit_float(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    const T* rd = rois.data<T>();
    T* yd = y.data<T>();
    for (int64_t r = 0; r < n_rois; ++r) {
      const T* roi = rd + r * 5;
      const double bd = static_cast<double>(roi[0]);
      if (!(bd >= 0 && bd < static_cast<double>(n_batch)))
        ctx.fail("roi {} has batch index {}, out of range [0, {})", r, bd, n_batch);
      const int64_t b = static_cast<int64_t>(bd);
      auto scaled = [&](int i) {
        const double v = std::round(static_cast<double>(roi[i]) * scale);
        if (!std::isfinite(v)) ctx.fail("roi {} has a non-finite coordinate", r);
        // Coordinates far outside the image behave like coordinates just outside it.
        return static_cast<int64_t>(std::clamp(v, -1e15, 1e15));
      };
      const int64_t x1 = scaled(1), y1 = scaled(2), x2 = scaled(3), y2 = scaled(4);
      const double bin_h =
          static_cast<double>(std::max<int64_t>(y2 - y1 + 1, 1)) / static_cast<double>(ps[0]);
      const double bin_w =
          static_cast<double>(std::max<int64_t>(x2 - x1 + 1, 1)) / static_cast<double>(ps[1]);
      for (int64_t c = 0; c < channels; ++c) {
        const T* plane = xd + (b * channels + c) * height * width;
        T* out = yd + (r * channels + c) * ps[0] * ps[1];
        for (int64_t ph = 0; ph < ps[0]; ++ph) {
          auto clamp_h = [&](double v) {
            return std::clamp<int64_t>(static_cast<int64_t>(v) + y1, 0, height);
          };
          const int64_t h0 = clamp_h(std::floor(static_cast<double>(ph) * bin_h));
          const int64_t h1 = clamp_h(std::ceil(static_cast<double>(ph + 1) * bin_h));
          for (int64_t pw = 0; pw < ps[1]; ++pw) {
            auto clamp_w = [&](double v) {
              return std::clamp<int64_t>(static_cast<int64_t>(v) + x1, 0, width);
            };
            const int64_t w0 = clamp_w(std::floor(static_cast<double>(pw) * bin_w));
            const int64_t w1 = clamp_w(std::ceil(static_cast<double>(pw + 1) * bin_w));
            T best = 0;  // an empty bin is 0
            bool any = false;
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) {
                const T v = plane[h * width + w];
                if (!any || v > best) best = v;
                any = true;
              }
            out[ph * ps[1] + pw] = best;
          }
        }
      }
    }
  });
  ctx.outputs[0] = to_dtype(y, io);
}

// ---------------------------------------------------------------------------------------------
// MaxUnpool: scatters X to the positions in I (flat indices into the unpooled tensor, as
// MaxPool's Indices output). As in ONNX's reference, the indices address the shape inferred
// from kernel, strides and pads; an explicit larger output_shape pads that result at the end.

std::vector<int64_t> unpool_inferred_shape(const Node& node, const std::vector<int64_t>& x) {
  check_pool_input(node, x.size());
  const size_t r = x.size() - 2;
  std::vector<int64_t> kernel = required_kernel_shape(node, r);
  Window w = read_window_attrs(node, r);
  std::vector<int64_t> out = {x[0], x[1]};
  for (size_t i = 0; i < r; ++i) {
    const int64_t in = x[i + 2];
    int64_t o = -1;
    if (in >= 0) {
      o = add_checked(node, mul_checked(node, in - 1, w.strides[i]), kernel[i]) - w.pads_begin[i] -
          w.pads_end[i];
      if (o < 1) node_fail(node, "the unpooled size along spatial axis {} would be {}", i, o);
    }
    out.push_back(o);
  }
  return out;
}

std::vector<int64_t> unpool_output_shape(const Node& node, const std::vector<int64_t>& inferred,
                                         const Tensor& requested) {
  std::vector<int64_t> s = requested.to_i64_vector();
  if (s.size() != inferred.size())
    node_fail(node, "output_shape has {} values, expected {}", s.size(), inferred.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (inferred[i] < 0) continue;
    if ((i < 2 && s[i] != inferred[i]) || s[i] < inferred[i])
      node_fail(node,
                "output_shape {} is smaller than, or differs in N/C from, the unpooled "
                "shape {}",
                fmt::join(s, ","), fmt::join(inferred, ","));
  }
  return s;
}

void infer_max_unpool(InferContext& ctx) {
  const TypeInfo& xt = ctx.type(0);
  if (!xt.has_shape) {
    ctx.outputs[0] = type_unknown_shape(xt.dtype);
    return;
  }
  std::vector<int64_t> inferred = unpool_inferred_shape(ctx.node, known_dims(xt));
  if (ctx.has_input(2)) {
    if (const Tensor* v = ctx.value(2)) {
      ctx.outputs[0] = type_with_dims(xt.dtype, unpool_output_shape(ctx.node, inferred, *v));
    } else {
      ctx.outputs[0] = type_with_dims(xt.dtype, std::vector<int64_t>(inferred.size(), -1));
    }
    return;
  }
  TypeInfo t = type_with_dims(xt.dtype, inferred);
  t.dims[0] = xt.dims[0];
  t.dims[1] = xt.dims[1];
  ctx.outputs[0] = t;
}

void run_max_unpool(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  if (ind.dtype() != DType::i64)
    ctx.fail("indices I must be int64, got {}", dtype_name(ind.dtype()));
  if (ind.shape() != x.shape())
    ctx.fail("indices I have shape {}, X has shape {}", shape_str(ind.shape()),
             shape_str(x.shape()));
  std::vector<int64_t> inferred = unpool_inferred_shape(ctx.node, x.shape());
  std::vector<int64_t> out = inferred;
  if (ctx.has_input(2)) out = unpool_output_shape(ctx.node, inferred, ctx.input(2));
  Tensor y(x.dtype(), out);
  const int64_t inferred_numel = shape_numel(inferred);
  const int64_t* id = ind.data<int64_t>();
  // Position of flat index f of the inferred shape inside the (possibly larger) output.
  std::vector<int64_t> in_strides(inferred.size(), 1), out_strides(out.size(), 1);
  for (size_t i = inferred.size(); i-- > 1;) {
    in_strides[i - 1] = in_strides[i] * inferred[i];
    out_strides[i - 1] = out_strides[i] * out[i];
  }
  auto out_offset = [&](int64_t f) {
    int64_t off = 0;
    for (size_t i = 0; i < inferred.size(); ++i) {
      off += (f / in_strides[i]) * out_strides[i];
      f %= in_strides[i];
    }
    return off;
  };
  visit_by_size(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    T* yd = y.data<T>();
    for (int64_t e = 0; e < x.numel(); ++e) {
      if (id[e] < 0 || id[e] >= inferred_numel)
        ctx.fail("index {} at position {} is out of range [0, {})", id[e], e, inferred_numel);
      yd[out_offset(id[e])] = xd[e];
    }
  });
  ctx.outputs[0] = y;
}

}  // namespace

void register_nn_pool_ops(OpRegistry& r) {
  r.add({"AveragePool", "", infer_pool, run_average_pool});
  r.add({"MaxPool", "", infer_pool, run_max_pool});
  r.add({"LpPool", "", infer_pool, run_lp_pool});
  r.add({"GlobalAveragePool", "", infer_global_pool, run_global_average_pool});
  r.add({"GlobalMaxPool", "", infer_global_pool, run_global_max_pool});
  r.add({"GlobalLpPool", "", infer_global_pool, run_global_lp_pool});
  r.add({"MaxRoiPool", "", infer_max_roi_pool, run_max_roi_pool});
  r.add({"MaxUnpool", "", infer_max_unpool, run_max_unpool});
}

}  // namespace nnaccel
