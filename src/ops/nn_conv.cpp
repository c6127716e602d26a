// Conv and ConvTranspose: any number of spatial dimensions, groups, strides, dilations, explicit
// or automatic padding. These are the reference every fast convolution is tested against, so
// they are written as the definition reads: each output value is a bias plus a sum over the
// input channels of its group and the kernel window, accumulated in double for floats.
#include "ops/nn_common.hpp"

namespace nnaccel {

namespace {

using namespace nn;

// ---------------------------------------------------------------------------------------------
// Conv

// Checks the channel counts of X [N, C, D1..Dn], W [M, C/group, k1..kn] and B [M]; dims may be
// -1 (unknown) in shape functions. Returns the group count.
int64_t check_conv_dims(const Node& node, const std::vector<int64_t>& x,
                        const std::vector<int64_t>& w, const std::vector<int64_t>* b) {
  if (x.size() < 3)
    node_fail(node,
              "input X has rank {}; expected [N, C, spatial...] with at least one spatial "
              "dimension",
              x.size());
  if (w.size() != x.size())
    node_fail(node, "weight W has rank {}, the input X has rank {}", w.size(), x.size());
  const int64_t group = node.attr_int("group", 1);
  if (group < 1) node_fail(node, "group {} must be positive", group);
  const int64_t c = x[1], m = w[0];
  if (m >= 0 && m % group != 0)
    node_fail(node, "the weight's {} output channels are not divisible by group {}", m, group);
  if (c >= 0 && w[1] >= 0 && (c % group != 0 || c / group != w[1]))
    node_fail(node, "input X has {} channels but the weight expects W.shape[1] {} x group {}", c,
              w[1], group);
  if (b != nullptr) {
    if (b->size() != 1 || (m >= 0 && (*b)[0] >= 0 && (*b)[0] != m))
      node_fail(node, "bias B has shape [{}], expected [{}] (one per output channel)",
                fmt::join(*b, ","), m);
  }
  return group;
}

std::vector<int64_t> spatial(const std::vector<int64_t>& dims) {
  return {dims.begin() + 2, dims.end()};
}

bool all_known(const std::vector<int64_t>& v) {
  for (int64_t x : v)
    if (x < 0) return false;
  return true;
}

void infer_conv(InferContext& ctx) {
  const TypeInfo& xt = ctx.type(0);
  const TypeInfo& wt = ctx.type(1);
  if (!xt.has_shape || !wt.has_shape) {
    ctx.outputs[0] = type_unknown_shape(xt.dtype);
    return;
  }
  std::vector<int64_t> x = known_dims(xt), w = known_dims(wt), b;
  const bool has_b = ctx.has_input(2) && ctx.type(2).has_shape;
  if (has_b) b = known_dims(ctx.type(2));
  check_conv_dims(ctx.node, x, w, has_b ? &b : nullptr);
  std::vector<int64_t> kernel = kernel_from_weight(ctx.node, spatial(w));
  std::vector<int64_t> out = {x[0], w[0]};
  if (all_known(kernel)) {
    Window win = resolve_window(ctx.node, spatial(x), kernel, false);
    out.insert(out.end(), win.out.begin(), win.out.end());
  } else {
    out.resize(x.size(), -1);
  }
  TypeInfo t = type_with_dims(xt.dtype, out);
  t.dims[0] = xt.dims[0];  // keeps a symbolic batch name
  ctx.outputs[0] = t;
}

template <typename T>
void conv_forward(const Tensor& x, const Tensor& w, const Tensor* b, int64_t group,
                  const Window& win, Tensor& y) {
  const int64_t n_batch = x.dim(0), c_in = x.dim(1), m_out = w.dim(0);
  const int64_t c_group = c_in / group, m_group = m_out / group;
  const int64_t in_size = product(win.in), out_size = product(win.out);
  const int64_t k_size = product(win.kernel);
  const T* xd = x.data<T>();
  const T* wd = w.data<T>();
  const T* bd = b != nullptr ? b->data<T>() : nullptr;
  T* yd = y.data<T>();
  TapBuilder taps(win);
  std::vector<int64_t> pos(win.rank(), 0);
  for (int64_t n = 0; n < n_batch; ++n) {
    std::fill(pos.begin(), pos.end(), 0);
    for (int64_t o = 0; o < out_size; ++o, next_index(pos, win.out)) {
      const std::vector<Tap>& window = taps.build(pos);
      for (int64_t g = 0; g < group; ++g) {
        const T* x_group = xd + (n * c_in + g * c_group) * in_size;
        for (int64_t mg = 0; mg < m_group; ++mg) {
          const int64_t m = g * m_group + mg;
          const T* w_m = wd + m * c_group * k_size;
          double acc = bd != nullptr ? static_cast<double>(bd[m]) : 0.0;
          for (int64_t c = 0; c < c_group; ++c) {
            const T* x_c = x_group + c * in_size;
            const T* w_c = w_m + c * k_size;
            for (const Tap& t : window)
              acc += static_cast<double>(x_c[t.x]) * static_cast<double>(w_c[t.k]);
          }
          yd[(n * m_out + m) * out_size + o] = static_cast<T>(acc);
        }
      }
    }
  }
}

// X, W and the optional B of a Conv or ConvTranspose, in the dtype the kernel computes in.
struct ConvOperands {
  DType io, ct;
  Tensor x, w, b;
  const Tensor* bias() const { return b.defined() ? &b : nullptr; }
  const std::vector<int64_t>* bias_shape() const { return b.defined() ? &b.shape() : nullptr; }
};

ConvOperands conv_operands(const OpContext& ctx) {
  ConvOperands o;
  o.io = ctx.input(0).dtype();
  o.ct = float_compute_dtype(ctx.node, o.io);
  float_compute_dtype(ctx.node, ctx.input(1).dtype());
  o.x = to_dtype(ctx.input(0), o.ct);
  o.w = to_dtype(ctx.input(1), o.ct);
  if (ctx.has_input(2)) o.b = to_dtype(ctx.input(2), o.ct);
  return o;
}

void run_conv(OpContext& ctx) {
  const ConvOperands op = conv_operands(ctx);
  const int64_t group = check_conv_dims(ctx.node, op.x.shape(), op.w.shape(), op.bias_shape());
  std::vector<int64_t> kernel = kernel_from_weight(ctx.node, spatial(op.w.shape()));
  Window win = resolve_window(ctx.node, spatial(op.x.shape()), kernel, false);
  Shape out = {op.x.dim(0), op.w.dim(0)};
  out.insert(out.end(), win.out.begin(), win.out.end());
  Tensor y(op.ct, out);
  visit_float(op.ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    conv_forward<T>(op.x, op.w, op.bias(), group, win, y);
  });
  ctx.outputs[0] = to_dtype(y, op.io);
}

// ---------------------------------------------------------------------------------------------
// ConvTranspose: the gradient of Conv with respect to its input. Output position o receives
// input position i through kernel position k when o = i * stride + k * dilation - pad_begin.

// Checks X [N, C, D1..Dn], W [C, M/group, k1..kn], B [M]. Returns the group count.
int64_t check_conv_transpose_dims(const Node& node, const std::vector<int64_t>& x,
                                  const std::vector<int64_t>& w, const std::vector<int64_t>* b) {
  if (x.size() < 3)
    node_fail(node,
              "input X has rank {}; expected [N, C, spatial...] with at least one spatial "
              "dimension",
              x.size());
  if (w.size() != x.size())
    node_fail(node, "weight W has rank {}, the input X has rank {}", w.size(), x.size());
  const int64_t group = node.attr_int("group", 1);
  if (group < 1) node_fail(node, "group {} must be positive", group);
  if (x[1] >= 0 && w[0] >= 0 && x[1] != w[0])
    node_fail(node, "input X has {} channels but the weight has {} (W.shape[0])", x[1], w[0]);
  if (w[0] >= 0 && w[0] % group != 0)
    node_fail(node, "the weight's {} input channels are not divisible by group {}", w[0], group);
  const int64_t m = w[1] >= 0 ? mul_checked(node, w[1], group) : -1;
  if (b != nullptr && (b->size() != 1 || (m >= 0 && (*b)[0] >= 0 && (*b)[0] != m)))
    node_fail(node, "bias B has shape [{}], expected [{}] (one per output channel)",
              fmt::join(*b, ","), m);
  return group;
}

// Output sizes and begin pads of a ConvTranspose. Unknown input sizes give unknown outputs.
Window resolve_transpose_window(const Node& node, const std::vector<int64_t>& in,
                                const std::vector<int64_t>& kernel) {
  const size_t r = in.size();
  for (int64_t k : kernel)
    if (k < 1) node_fail(node, "kernel shape {} must be positive", fmt::join(kernel, ","));
  Window w = read_window_attrs(node, r);
  w.in = in;
  w.kernel = kernel;
  std::vector<int64_t> out_pad = node.attr_ints("output_padding");
  if (out_pad.empty()) out_pad.assign(r, 0);
  if (out_pad.size() != r)
    node_fail(node, "output_padding has {} values, expected {}", out_pad.size(), r);
  for (size_t i = 0; i < r; ++i)
    if (out_pad[i] < 0 || out_pad[i] >= std::max(w.strides[i], w.dilations[i]))
      node_fail(node, "output_padding {} must be in [0, max(stride, dilation)) per axis",
                fmt::join(out_pad, ","));
  std::vector<int64_t> out_shape = node.attr_ints("output_shape");
  if (!out_shape.empty()) {
    if (out_shape.size() == r + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
    if (out_shape.size() != r)
      node_fail(node, "output_shape has {} values, expected {}", out_shape.size(), r);
    for (int64_t v : out_shape)
      if (v < 1) node_fail(node, "output_shape {} must be positive", fmt::join(out_shape, ","));
  }
  const AutoPad ap = parse_auto_pad(node);
  w.out.assign(r, -1);
  for (size_t i = 0; i < r; ++i) {
    const int64_t ek = add_checked(node, mul_checked(node, kernel[i] - 1, w.dilations[i]), 1);
    if (ap == AutoPad::valid) w.pads_begin[i] = w.pads_end[i] = 0;
    if (in[i] < 0) {
      if (!out_shape.empty()) w.out[i] = out_shape[i];
      continue;
    }
    const int64_t full = add_checked(
        node, add_checked(node, mul_checked(node, w.strides[i], in[i] - 1), out_pad[i]), ek);
    if (!out_shape.empty() || ap == AutoPad::same_upper || ap == AutoPad::same_lower) {
      w.out[i] = !out_shape.empty() ? out_shape[i] : mul_checked(node, in[i], w.strides[i]);
      // Total padding may be negative (an output larger than the full result): the extra
      // positions then receive no input, only the bias.
      const int64_t total = full - w.out[i];
      w.pads_begin[i] =
          ap == AutoPad::same_upper ? floor_div(total, 2) : total - floor_div(total, 2);
      w.pads_end[i] = total - w.pads_begin[i];
    } else {
      w.out[i] = full - add_checked(node, w.pads_begin[i], w.pads_end[i]);
      if (w.out[i] < 1)
        node_fail(node, "pads {} leave no output along spatial axis {}",
                  fmt::join(node.attr_ints("pads"), ","), i);
    }
  }
  return w;
}

void infer_conv_transpose(InferContext& ctx) {
  const TypeInfo& xt = ctx.type(0);
  const TypeInfo& wt = ctx.type(1);
  if (!xt.has_shape || !wt.has_shape) {
    ctx.outputs[0] = type_unknown_shape(xt.dtype);
    return;
  }
  std::vector<int64_t> x = known_dims(xt), w = known_dims(wt), b;
  const bool has_b = ctx.has_input(2) && ctx.type(2).has_shape;
  if (has_b) b = known_dims(ctx.type(2));
  const int64_t group = check_conv_transpose_dims(ctx.node, x, w, has_b ? &b : nullptr);
  std::vector<int64_t> kernel = kernel_from_weight(ctx.node, spatial(w));
  std::vector<int64_t> out = {x[0], w[1] >= 0 ? mul_checked(ctx.node, w[1], group) : -1};
  if (all_known(kernel)) {
    Window win = resolve_transpose_window(ctx.node, spatial(x), kernel);
    out.insert(out.end(), win.out.begin(), win.out.end());
  } else {
    out.resize(x.size(), -1);
  }
  TypeInfo t = type_with_dims(xt.dtype, out);
  t.dims[0] = xt.dims[0];
  ctx.outputs[0] = t;
}

// The (kernel, input) pairs that reach one output position of a ConvTranspose.
class TransposeTaps {
 public:
  explicit TransposeTaps(const Window& w) : w_(w), per_dim_(w.rank()), sizes_(w.rank()) {
    const size_t r = w.rank();
    k_stride_.assign(r, 1);
    x_stride_.assign(r, 1);
    for (size_t i = r; i-- > 1;) {
      k_stride_[i - 1] = k_stride_[i] * w.kernel[i];
      x_stride_[i - 1] = x_stride_[i] * w.in[i];
    }
  }

  const std::vector<Tap>& build(const std::vector<int64_t>& out_pos) {
    const size_t r = w_.rank();
    taps_.clear();
    for (size_t i = 0; i < r; ++i) {
      per_dim_[i].clear();
      for (int64_t k = 0; k < w_.kernel[i]; ++k) {
        const int64_t t = out_pos[i] + w_.pads_begin[i] - k * w_.dilations[i];
        if (t < 0 || t % w_.strides[i] != 0) continue;
        const int64_t src = t / w_.strides[i];
        if (src < w_.in[i]) per_dim_[i].emplace_back(k, src);
      }
      sizes_[i] = static_cast<int64_t>(per_dim_[i].size());
      if (sizes_[i] == 0) return taps_;
    }
    std::vector<int64_t>& idx = idx_;
    idx.assign(r, 0);
    do {
      Tap tap{0, 0, 0};
      for (size_t i = 0; i < r; ++i) {
        const auto& [k, p] = per_dim_[i][static_cast<size_t>(idx[i])];
        tap.k += k * k_stride_[i];
        tap.x += p * x_stride_[i];
      }
      taps_.push_back(tap);
    } while (next_index(idx, sizes_));
    return taps_;
  }

 private:
  const Window& w_;
  std::vector<int64_t> k_stride_, x_stride_;
  std::vector<std::vector<std::pair<int64_t, int64_t>>> per_dim_;
  std::vector<int64_t> sizes_, idx_;
  std::vector<Tap> taps_;
};

template <typename T>
void conv_transpose_forward(const Tensor& x, const Tensor& w, const Tensor* b, int64_t group,
                            const Window& win, Tensor& y) {
  const int64_t n_batch = x.dim(0), c_in = x.dim(1);
  const int64_t c_group = c_in / group, m_group = w.dim(1), m_out = m_group * group;
  const int64_t in_size = product(win.in), out_size = product(win.out);
  const int64_t k_size = product(win.kernel);
  const T* xd = x.data<T>();
  const T* wd = w.data<T>();
  const T* bd = b != nullptr ? b->data<T>() : nullptr;
  T* yd = y.data<T>();
  TransposeTaps taps(win);
  std::vector<int64_t> pos(win.rank(), 0);
  for (int64_t n = 0; n < n_batch; ++n) {
    std::fill(pos.begin(), pos.end(), 0);
    for (int64_t o = 0; o < out_size; ++o, next_index(pos, win.out)) {
      const std::vector<Tap>& window = taps.build(pos);
      for (int64_t g = 0; g < group; ++g) {
        for (int64_t mg = 0; mg < m_group; ++mg) {
          const int64_t m = g * m_group + mg;
          double acc = bd != nullptr ? static_cast<double>(bd[m]) : 0.0;
          for (int64_t cg = 0; cg < c_group; ++cg) {
            const int64_t c = g * c_group + cg;
            const T* x_c = xd + (n * c_in + c) * in_size;
            const T* w_cm = wd + (c * m_group + mg) * k_size;
            for (const Tap& t : window)
              acc += static_cast<double>(x_c[t.x]) * static_cast<double>(w_cm[t.k]);
          }
          yd[(n * m_out + m) * out_size + o] = static_cast<T>(acc);
        }
      }
    }
  }
}

void run_conv_transpose(OpContext& ctx) {
  const ConvOperands op = conv_operands(ctx);
  const int64_t group =
      check_conv_transpose_dims(ctx.node, op.x.shape(), op.w.shape(), op.bias_shape());
  std::vector<int64_t> kernel = kernel_from_weight(ctx.node, spatial(op.w.shape()));
  Window win = resolve_transpose_window(ctx.node, spatial(op.x.shape()), kernel);
  Shape out = {op.x.dim(0), mul_checked(ctx.node, op.w.dim(1), group)};
  out.insert(out.end(), win.out.begin(), win.out.end());
  Tensor y(op.ct, out);
  visit_float(op.ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    conv_transpose_forward<T>(op.x, op.w, op.bias(), group, win, y);
  });
  ctx.outputs[0] = to_dtype(y, op.io);
}

}  // namespace

void register_nn_conv_ops(OpRegistry& r) {
  r.add({"Conv", "", infer_conv, run_conv});
  r.add({"ConvTranspose", "", infer_conv_transpose, run_conv_transpose});
}

}  // namespace nnaccel
