// Ops of the 'normalization' family (see ops.def): BatchNormalization, InstanceNormalization,
// LayerNormalization, MeanVarianceNormalization, LpNormalization and LRN here; the softmax
// family and Dropout in normalization_softmax.cpp. Statistics are computed in double.
#include <cmath>

#include "ops/nn_common.hpp"

namespace nnaccel {

void register_normalization_softmax_ops(OpRegistry& r);

namespace {

using namespace nn;

// Mean and population variance of n values read with a stride.
template <typename T>
std::pair<double, double> mean_var(const T* x, int64_t n, int64_t stride) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i * stride]);
  const double mean = n > 0 ? sum / static_cast<double>(n) : 0.0;
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i * stride]) - mean;
    sq += d * d;
  }
  return {mean, n > 0 ? sq / static_cast<double>(n) : 0.0};
}

// Checks that input `i` is a vector of `c` elements (one per channel) and returns it as doubles.
std::vector<double> channel_vector(const OpContext& ctx, int i, const char* what, int64_t c) {
  const Tensor& t = ctx.input(i);
  if (t.rank() != 1 || t.dim(0) != c)
    ctx.fail("{} has shape {}, expected [{}] (one value per channel)", what, shape_str(t.shape()),
             c);
  float_compute_dtype(ctx.node, t.dtype());
  std::vector<double> v(static_cast<size_t>(c));
  Tensor d = to_dtype(t, DType::f64);
  for (int64_t k = 0; k < c; ++k) v[static_cast<size_t>(k)] = d.data<double>()[k];
  return v;
}

void check_channel_input(const InferContext& ctx, int i, const char* what, const Dim& c) {
  if (!ctx.has_input(i)) return;
  const TypeInfo& t = ctx.type(i);
  if (!t.has_shape) return;
  if (t.dims.size() != 1 || (c.known() && t.dims[0].known() && t.dims[0].value != c.value))
    ctx.fail("{} must have shape [{}] (one value per channel)", what, c.value);
}

// ---------------------------------------------------------------------------------------------
// BatchNormalization (opset 15). Inference: y = (x - mean) / sqrt(var + eps) * scale + B with
// the given statistics. training_mode = 1: the statistics are the batch's (over every axis but
// 1, population variance) and outputs 1 and 2 are the updated running statistics
// input * momentum + batch * (1 - momentum).

// Checks X [N, C, ...] and the per-channel scale and B (inputs 1, 2); returns C.
Dim check_scale_and_bias(InferContext& ctx) {
  const TypeInfo& xt = ctx.type(0);
  Dim c;
  if (xt.has_shape) {
    if (xt.dims.size() < 2) ctx.fail("input X has rank {}, expected [N, C, ...]", xt.dims.size());
    c = xt.dims[1];
  }
  check_channel_input(ctx, 1, "scale", c);
  check_channel_input(ctx, 2, "B", c);
  return c;
}

void infer_batch_norm(InferContext& ctx) {
  const TypeInfo& xt = ctx.type(0);
  const Dim c = check_scale_and_bias(ctx);
  check_channel_input(ctx, 3, "input_mean", c);
  check_channel_input(ctx, 4, "input_var", c);
  ctx.outputs[0] = xt;
  for (int o = 1; o < ctx.num_outputs() && o < 3; ++o) {
    TypeInfo t = ctx.type(2 + o);
    t.has_shape = true;
    t.dims = {c};
    ctx.outputs[static_cast<size_t>(o)] = t;
  }
}

void run_batch_norm(OpContext& ctx) {
  const DType io = ctx.input(0).dtype();
  const DType ct = float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(ctx.input(0), ct);
  if (x.rank() < 2) ctx.fail("input X has rank {}, expected [N, C, ...]", x.rank());
  const int64_t n = x.dim(0), c = x.dim(1), spatial = product(x.shape(), 2);
  const std::vector<double> scale = channel_vector(ctx, 1, "scale", c);
  const std::vector<double> bias = channel_vector(ctx, 2, "B", c);
  std::vector<double> mean = channel_vector(ctx, 3, "input_mean", c);
  std::vector<double> var = channel_vector(ctx, 4, "input_var", c);
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  const double momentum = ctx.attr_float("momentum", 0.9f);
  const int64_t training = ctx.attr_int("training_mode", 0);
  if (training != 0 && training != 1) ctx.fail("training_mode {} must be 0 or 1", training);
  std::vector<double> running_mean = mean, running_var = var;
  Tensor y(ct, x.shape());
  visit_float(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    T* yd = y.data<T>();
    if (training == 1) {
      for (int64_t ch = 0; ch < c; ++ch) {
        double sum = 0, sq = 0;
        for (int64_t b = 0; b < n; ++b)
          for (int64_t s = 0; s < spatial; ++s)
            sum += static_cast<double>(xd[(b * c + ch) * spatial + s]);
        const double count = static_cast<double>(n * spatial);
        const double m = count > 0 ? sum / count : 0.0;
        for (int64_t b = 0; b < n; ++b)
          for (int64_t s = 0; s < spatial; ++s) {
            const double d = static_cast<double>(xd[(b * c + ch) * spatial + s]) - m;
            sq += d * d;
          }
        const double v = count > 0 ? sq / count : 0.0;
        const size_t k = static_cast<size_t>(ch);
        running_mean[k] = mean[k] * momentum + m * (1 - momentum);
        running_var[k] = var[k] * momentum + v * (1 - momentum);
        mean[k] = m;
        var[k] = v;
      }
    }
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch) {
        const size_t k = static_cast<size_t>(ch);
        const double mul = scale[k] / std::sqrt(var[k] + eps);
        const double add = bias[k] - mean[k] * mul;
        const T* xs = xd + (b * c + ch) * spatial;
        T* ys = yd + (b * c + ch) * spatial;
        for (int64_t s = 0; s < spatial; ++s)
          ys[s] = static_cast<T>(static_cast<double>(xs[s]) * mul + add);
      }
  });
  ctx.outputs[0] = to_dtype(y, io);
  // Outside training the running statistics are unchanged; they are passed through when asked.
  auto stat_output = [&](int o, const std::vector<double>& v) {
    if (!ctx.has_output(o)) return;
    Tensor t(DType::f64, {c});
    std::copy(v.begin(), v.end(), t.data<double>());
    ctx.outputs[static_cast<size_t>(o)] = to_dtype(t, ctx.input(2 + o).dtype());
  };
  stat_output(1, running_mean);
  stat_output(2, running_var);
}

// ---------------------------------------------------------------------------------------------
// InstanceNormalization: per (n, c) plane, y = scale * (x - mean) / sqrt(var + eps) + B.

void infer_instance_norm(InferContext& ctx) {
  const TypeInfo& xt = ctx.type(0);
  check_scale_and_bias(ctx);
  ctx.outputs[0] = xt;
}

void run_instance_norm(OpContext& ctx) {
  const DType io = ctx.input(0).dtype();
  const DType ct = float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(ctx.input(0), ct);
  if (x.rank() < 2) ctx.fail("input X has rank {}, expected [N, C, ...]", x.rank());
  const int64_t n = x.dim(0), c = x.dim(1), spatial = product(x.shape(), 2);
  const std::vector<double> scale = channel_vector(ctx, 1, "scale", c);
  const std::vector<double> bias = channel_vector(ctx, 2, "B", c);
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  Tensor y(ct, x.shape());
  visit_float(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t p = 0; p < n * c; ++p) {
      const T* xs = x.data<T>() + p * spatial;
      T* ys = y.data<T>() + p * spatial;
      const auto [mean, var] = mean_var(xs, spatial, 1);
      const size_t k = static_cast<size_t>(p % c);
      const double mul = scale[k] / std::sqrt(var + eps);
      for (int64_t s = 0; s < spatial; ++s)
        ys[s] = static_cast<T>((static_cast<double>(xs[s]) - mean) * mul + bias[k]);
    }
  });
  ctx.outputs[0] = to_dtype(y, io);
}

// ---------------------------------------------------------------------------------------------
// LayerNormalization (opset 17): normalizes over axes [axis, rank); Scale and B broadcast to
// those dims. Mean and InvStdDev have X's leading dims and 1s after, in stash_type (statistics
// are computed in double and rounded to it).

DType stash_dtype(const Node& node) {
  const int64_t s = node.attr_int("stash_type", 1);
  if (s != static_cast<int64_t>(DType::f32) && s != static_cast<int64_t>(DType::f64) &&
      s != static_cast<int64_t>(DType::f16) && s != static_cast<int64_t>(DType::bf16))
    node_fail(node, "stash_type {} is not a float type", s);
  return static_cast<DType>(s);
}

// Strides that map a normalized-dims index to an element of a broadcast operand of shape `s`.
std::vector<int64_t> broadcast_strides(const Node& node, const char* what, const Shape& s,
                                       const Shape& norm) {
  if (s.size() > norm.size())
    node_fail(node, "{} has shape {}, which does not broadcast to the normalized shape {}", what,
              shape_str(s), shape_str(norm));
  std::vector<int64_t> strides(norm.size(), 0);
  int64_t st = 1;
  for (size_t i = s.size(); i-- > 0;) {
    const size_t j = norm.size() - s.size() + i;
    if (s[i] != 1 && s[i] != norm[j])
      node_fail(node, "{} has shape {}, which does not broadcast to the normalized shape {}", what,
                shape_str(s), shape_str(norm));
    strides[j] = s[i] == 1 ? 0 : st;
    st *= s[i];
  }
  return strides;
}

void infer_layer_norm(InferContext& ctx) {
  const TypeInfo& xt = ctx.type(0);
  ctx.outputs[0] = xt;
  const DType stash = stash_dtype(ctx.node);
  for (int o = 1; o < ctx.num_outputs() && o < 3; ++o) {
    TypeInfo t = type_unknown_shape(stash);
    if (xt.has_shape) {
      const int64_t rank = static_cast<int64_t>(xt.dims.size());
      const int64_t axis = normalize_axis(ctx.node, ctx.node.attr_int("axis", -1), rank);
      t.has_shape = true;
      t.dims = xt.dims;
      for (int64_t i = axis; i < rank; ++i) t.dims[static_cast<size_t>(i)] = Dim{1, {}};
    }
    ctx.outputs[static_cast<size_t>(o)] = t;
  }
}

void run_layer_norm(OpContext& ctx) {
  const DType io = ctx.input(0).dtype();
  const DType ct = float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(ctx.input(0), ct);
  const int64_t rank = x.rank();
  if (rank == 0) ctx.fail("input X must have rank >= 1");
  const int64_t axis = normalize_axis(ctx.node, ctx.attr_int("axis", -1), rank);
  const Shape norm(x.shape().begin() + axis, x.shape().end());
  const int64_t outer = product(x.shape(), 0, static_cast<size_t>(axis)), inner = product(norm);
  Tensor scale = to_dtype(ctx.input(1), DType::f64);
  float_compute_dtype(ctx.node, ctx.input(1).dtype());
  std::vector<int64_t> s_strides = broadcast_strides(ctx.node, "Scale", scale.shape(), norm);
  Tensor bias;
  std::vector<int64_t> b_strides;
  if (ctx.has_input(2)) {
    float_compute_dtype(ctx.node, ctx.input(2).dtype());
    bias = to_dtype(ctx.input(2), DType::f64);
    b_strides = broadcast_strides(ctx.node, "B", bias.shape(), norm);
  }
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  const DType stash = stash_dtype(ctx.node);
  Shape stat_shape = x.shape();
  for (int64_t i = axis; i < rank; ++i) stat_shape[static_cast<size_t>(i)] = 1;
  Tensor mean_out(DType::f64, stat_shape), inv_out(DType::f64, stat_shape);
  // Offsets of each normalized element in Scale and B, computed once.
  std::vector<int64_t> s_off(static_cast<size_t>(inner)), b_off(static_cast<size_t>(inner));
  {
    std::vector<int64_t> idx(norm.size(), 0);
    for (int64_t j = 0; j < inner; ++j, next_index(idx, norm)) {
      int64_t so = 0, bo = 0;
      for (size_t d = 0; d < norm.size(); ++d) {
        so += idx[d] * s_strides[d];
        if (bias.defined()) bo += idx[d] * b_strides[d];
      }
      s_off[static_cast<size_t>(j)] = so;
      b_off[static_cast<size_t>(j)] = bo;
    }
  }
  Tensor y(ct, x.shape());
  visit_float(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const double* sd = scale.data<double>();
    const double* bd = bias.defined() ? bias.data<double>() : nullptr;
    for (int64_t o = 0; o < outer; ++o) {
      const T* xs = x.data<T>() + o * inner;
      T* ys = y.data<T>() + o * inner;
      const auto [mean, var] = mean_var(xs, inner, 1);
      const double inv = 1.0 / std::sqrt(var + eps);
      mean_out.data<double>()[o] = mean;
      inv_out.data<double>()[o] = inv;
      for (int64_t j = 0; j < inner; ++j) {
        double v = (static_cast<double>(xs[j]) - mean) * inv * sd[s_off[static_cast<size_t>(j)]];
        if (bd != nullptr) v += bd[b_off[static_cast<size_t>(j)]];
        ys[j] = static_cast<T>(v);
      }
    }
  });
  ctx.outputs[0] = to_dtype(y, io);
  if (ctx.has_output(1)) ctx.outputs[1] = cast_tensor(mean_out, stash);
  if (ctx.has_output(2)) ctx.outputs[2] = cast_tensor(inv_out, stash);
}

// ---------------------------------------------------------------------------------------------
// MeanVarianceNormalization: y = (x - mean) / (sqrt(var) + 1e-9) over `axes` (default 0, 2, 3),
// var the population variance.

std::vector<bool> reduced_axes(const Node& node, int64_t rank) {
  std::vector<int64_t> axes = node.attr_ints("axes", {0, 2, 3});
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    const int64_t n = normalize_axis(node, a, rank, "axes value");
    if (reduced[static_cast<size_t>(n)])
      node_fail(node, "axes {} repeats an axis", fmt::join(axes, ","));
    reduced[static_cast<size_t>(n)] = true;
  }
  return reduced;
}

void infer_mvn(InferContext& ctx) {
  const TypeInfo& t = ctx.type(0);
  if (t.has_shape) reduced_axes(ctx.node, static_cast<int64_t>(t.dims.size()));
  ctx.outputs[0] = t;
}

void run_mvn(OpContext& ctx) {
  const DType io = ctx.input(0).dtype();
  const DType ct = float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(ctx.input(0), ct);
  const Shape& shape = x.shape();
  const std::vector<bool> reduced = reduced_axes(ctx.node, x.rank());
  // Group index of an element: its index over the kept axes.
  std::vector<int64_t> group_stride(shape.size(), 0);
  int64_t groups = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    if (reduced[d]) continue;
    group_stride[d] = groups;
    groups *= shape[d];
  }
  std::vector<int64_t> group_of(static_cast<size_t>(x.numel()));
  {
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t e = 0; e < x.numel(); ++e, next_index(idx, shape)) {
      int64_t g = 0;
      for (size_t d = 0; d < shape.size(); ++d) g += idx[d] * group_stride[d];
      group_of[static_cast<size_t>(e)] = g;
    }
  }
  const double per_group = groups > 0 ? static_cast<double>(x.numel()) / groups : 0;
  Tensor y(ct, shape);
  visit_float(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    std::vector<double> mean(static_cast<size_t>(groups), 0.0),
        var(static_cast<size_t>(groups), 0.0);
    for (int64_t e = 0; e < x.numel(); ++e)
      mean[static_cast<size_t>(group_of[static_cast<size_t>(e)])] += static_cast<double>(xd[e]);
    for (double& m : mean) m /= per_group;
    for (int64_t e = 0; e < x.numel(); ++e) {
      const size_t g = static_cast<size_t>(group_of[static_cast<size_t>(e)]);
      const double d = static_cast<double>(xd[e]) - mean[g];
      var[g] += d * d;
    }
    T* yd = y.data<T>();
    for (int64_t e = 0; e < x.numel(); ++e) {
      const size_t g = static_cast<size_t>(group_of[static_cast<size_t>(e)]);
      yd[e] = static_cast<T>((static_cast<double>(xd[e]) - mean[g]) /
                             (std::sqrt(var[g] / per_group) + 1e-9));
    }
  });
  ctx.outputs[0] = to_dtype(y, io);
}

// ---------------------------------------------------------------------------------------------
// LpNormalization: x / ||x||_p along `axis`, p 1 or 2. A zero vector stays zero.

void infer_lp_norm(InferContext& ctx) {
  const TypeInfo& t = ctx.type(0);
  if (t.has_shape)
    normalize_axis(ctx.node, ctx.node.attr_int("axis", -1), static_cast<int64_t>(t.dims.size()));
  ctx.outputs[0] = t;
}

void run_lp_norm(OpContext& ctx) {
  const DType io = ctx.input(0).dtype();
  const DType ct = float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(ctx.input(0), ct);
  if (x.rank() == 0) ctx.fail("input must have rank >= 1");
  const int64_t axis = normalize_axis(ctx.node, ctx.attr_int("axis", -1), x.rank());
  const int64_t p = ctx.attr_int("p", 2);
  if (p != 1 && p != 2) ctx.fail("p {} must be 1 or 2", p);
  const int64_t outer = product(x.shape(), 0, static_cast<size_t>(axis)),
                n = x.dim(static_cast<int>(axis));
  const int64_t inner = product(x.shape(), static_cast<size_t>(axis) + 1);
  Tensor y(ct, x.shape());
  visit_float(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const T* xs = x.data<T>() + o * n * inner + i;
        T* ys = y.data<T>() + o * n * inner + i;
        double norm = 0;
        for (int64_t j = 0; j < n; ++j) {
          const double v = static_cast<double>(xs[j * inner]);
          norm += p == 1 ? std::fabs(v) : v * v;
        }
        if (p == 2) norm = std::sqrt(norm);
        for (int64_t j = 0; j < n; ++j)
          ys[j * inner] =
              norm == 0 ? T(0) : static_cast<T>(static_cast<double>(xs[j * inner]) / norm);
      }
  });
  ctx.outputs[0] = to_dtype(y, io);
}

// ---------------------------------------------------------------------------------------------
// LRN: y = x / (bias + alpha / size * sum of x^2 over channels [c - (size-1)/2, c + size/2])^beta

void infer_lrn(InferContext& ctx) {
  const TypeInfo& t = ctx.type(0);
  if (t.has_shape && t.dims.size() < 2)
    ctx.fail("input X has rank {}, expected [N, C, ...]", t.dims.size());
  ctx.outputs[0] = t;
}

void run_lrn(OpContext& ctx) {
  const DType io = ctx.input(0).dtype();
  const DType ct = float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(ctx.input(0), ct);
  if (x.rank() < 2) ctx.fail("input X has rank {}, expected [N, C, ...]", x.rank());
  if (!ctx.attr("size")) ctx.fail("attribute size is required");
  const int64_t size = ctx.attr_int("size", 1);
  if (size < 1) ctx.fail("size {} must be positive", size);
  const double alpha = ctx.attr_float("alpha", 1e-4f), beta = ctx.attr_float("beta", 0.75f);
  const double bias = ctx.attr_float("bias", 1.0f);
  const int64_t n = x.dim(0), c = x.dim(1), spatial = product(x.shape(), 2);
  const int64_t before = (size - 1) / 2, after = size / 2;  // floor and ceil of (size - 1) / 2
  Tensor y(ct, x.shape());
  visit_float(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    T* yd = y.data<T>();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t s = 0; s < spatial; ++s) {
          double sq = 0;
          for (int64_t k = std::max<int64_t>(0, ch - before); k <= std::min(c - 1, ch + after);
               ++k) {
            const double v = static_cast<double>(xd[(b * c + k) * spatial + s]);
            sq += v * v;
          }
          const int64_t e = (b * c + ch) * spatial + s;
          yd[e] = static_cast<T>(static_cast<double>(xd[e]) /
                                 std::pow(bias + alpha / static_cast<double>(size) * sq, beta));
        }
  });
  ctx.outputs[0] = to_dtype(y, io);
}

}  // namespace

void register_normalization_ops(OpRegistry& r) {
  r.add({"BatchNormalization", "", infer_batch_norm, run_batch_norm});
  r.add({"InstanceNormalization", "", infer_instance_norm, run_instance_norm});
  r.add({"LayerNormalization", "", infer_layer_norm, run_layer_norm});
  r.add({"MeanVarianceNormalization", "", infer_mvn, run_mvn});
  r.add({"LpNormalization", "", infer_lp_norm, run_lp_norm});
  r.add({"LRN", "", infer_lrn, run_lrn});
  register_normalization_softmax_ops(r);
}

}  // namespace nnaccel
