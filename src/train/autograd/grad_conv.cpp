// Gradient rules of Conv and ConvTranspose (any spatial rank, groups, strides, pads, dilations,
// auto_pad). Both are sums of x[input position] * w[kernel position] over the (kernel, input)
// pairs of a window, so the backward pass walks the same windows as the forward: each pair
// sends dy * w to dx and dy * x to dw. For ConvTranspose the roles of input and output swap:
// its input positions are the "output" positions of a Conv window over its output.
// f32 Conv goes through oneDNN (dnnl_ops.cpp) when it applies.
#include "ops/nn_common.hpp"
#include "train/autograd/dnnl_ops.hpp"
#include "train/autograd/grad_util.hpp"

namespace nnaccel {

namespace {

using namespace grad;
using nn::Tap;
using nn::TapBuilder;
using nn::Window;

std::vector<int64_t> spatial(const Shape& s) { return {s.begin() + 2, s.end()}; }

// Accumulates d(window input) and d(weight) for one conv-like op. `x` is [N, C, in...] and
// `dy` [N, M, out...]; weight element (m, c, k) lives at w_offset(m, c) + k.
template <typename T, typename WOffset>
void window_backward(const Tensor& x, const Tensor& w, const Tensor& dy, int64_t group,
                     const Window& win, WOffset w_offset, std::vector<double>* dx,
                     std::vector<double>* dw) {
  const int64_t n_batch = x.dim(0), c_in = x.dim(1), m_out = dy.dim(1);
  const int64_t c_group = c_in / group, m_group = m_out / group;
  const int64_t in_size = nn::product(win.in), out_size = nn::product(win.out);
  const T* xd = x.data<T>();
  const T* wd = w.data<T>();
  const T* g = dy.data<T>();
  TapBuilder taps(win);
  std::vector<int64_t> pos(win.rank(), 0);
  for (int64_t o = 0; o < out_size; ++o, nn::next_index(pos, win.out)) {
    const std::vector<Tap>& window = taps.build(pos);
    for (int64_t n = 0; n < n_batch; ++n)
      for (int64_t grp = 0; grp < group; ++grp)
        for (int64_t mg = 0; mg < m_group; ++mg) {
          const int64_t m = grp * m_group + mg;
          const double gy = g[(n * m_out + m) * out_size + o];
          if (gy == 0) continue;
          for (int64_t cg = 0; cg < c_group; ++cg) {
            const int64_t c = grp * c_group + cg;
            const int64_t x_base = (n * c_in + c) * in_size;
            const int64_t w_base = w_offset(m, c, cg, mg);
            if (dx != nullptr)
              for (const Tap& t : window)
                (*dx)[static_cast<size_t>(x_base + t.x)] +=
                    gy * static_cast<double>(wd[w_base + t.k]);
            if (dw != nullptr)
              for (const Tap& t : window)
                (*dw)[static_cast<size_t>(w_base + t.k)] +=
                    gy * static_cast<double>(xd[x_base + t.x]);
          }
        }
  }
}

Tensor from_doubles(const std::vector<double>& v, DType dtype, const Shape& shape) {
  Tensor t(dtype, shape);
  visit_numeric(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (size_t i = 0; i < v.size(); ++i) t.data<T>()[i] = static_cast<T>(v[i]);
  });
  return t;
}

// d bias: dy summed over every axis but 1.
Tensor bias_grad(const Tensor& dy, const Tensor& b) {
  const int64_t n = dy.dim(0), m = dy.dim(1), size = dy.numel() / std::max<int64_t>(1, n * m);
  std::vector<double> acc(static_cast<size_t>(m), 0.0);
  visit_numeric(dy.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* g = dy.data<T>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < m; ++c)
        for (int64_t s = 0; s < size; ++s)
          acc[static_cast<size_t>(c)] += static_cast<double>(g[(i * m + c) * size + s]);
  });
  return from_doubles(acc, b.dtype(), b.shape());
}

void check_float_operands(const GradContext& c) {
  const DType t = input(c, 0).dtype();
  if (t != DType::f32 && t != DType::f64)
    rule_fail(c.node, "gradients are computed for f32 and f64 only, got {}", dtype_name(t));
  for (size_t k = 1; k < c.inputs.size(); ++k)
    if (c.inputs[k] != nullptr && c.inputs[k]->dtype() != t)
      rule_fail(c.node, "input {} has element type {}, input 0 {}", k,
                dtype_name(c.inputs[k]->dtype()), dtype_name(t));
}

void grad_conv(GradContext& c) {
  check_float_operands(c);
  const Tensor& x = input(c, 0);
  const Tensor& w = input(c, 1);
  const Tensor dy = grad_output(c, 0);
  const int64_t group = c.node.attr_int("group", 1);
  if (x.rank() < 3 || w.rank() != x.rank() || group < 1 || x.dim(1) != w.dim(1) * group)
    rule_fail(c.node, "input {} and weight {} do not match (group {})", shape_str(x.shape()),
              shape_str(w.shape()), group);
  const Window win = nn::resolve_window(c.node, spatial(x.shape()),
                                        nn::kernel_from_weight(c.node, spatial(w.shape())), false);
  if (wants(c, 2)) c.grad_inputs[2] = bias_grad(dy, input(c, 2));
  if (!wants(c, 0) && !wants(c, 1)) return;
  if (x.dtype() == DType::f32 &&
      conv_backward_dnnl(x, w, dy, group, win, wants(c, 0) ? &c.grad_inputs[0] : nullptr,
                         wants(c, 1) ? &c.grad_inputs[1] : nullptr))
    return;
  std::vector<double> dx, dw;
  if (wants(c, 0)) dx.assign(static_cast<size_t>(x.numel()), 0.0);
  if (wants(c, 1)) dw.assign(static_cast<size_t>(w.numel()), 0.0);
  const int64_t c_group = w.dim(1), k_size = nn::product(win.kernel);
  auto w_offset = [&](int64_t m, int64_t, int64_t cg, int64_t) {
    return (m * c_group + cg) * k_size;
  };
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    window_backward<T>(x, w, dy, group, win, w_offset, wants(c, 0) ? &dx : nullptr,
                       wants(c, 1) ? &dw : nullptr);
  });
  if (wants(c, 0)) c.grad_inputs[0] = from_doubles(dx, x.dtype(), x.shape());
  if (wants(c, 1)) c.grad_inputs[1] = from_doubles(dw, w.dtype(), w.shape());
}

// Begin pads of a ConvTranspose, as its reference kernel resolves them (output_shape and
// auto_pad SAME_* distribute the total padding; VALID has none).
std::vector<int64_t> transpose_pads_begin(const Node& node, const Window& attrs,
                                          const std::vector<int64_t>& in,
                                          const std::vector<int64_t>& kernel,
                                          const std::vector<int64_t>& out) {
  const nn::AutoPad ap = nn::parse_auto_pad(node);
  std::vector<int64_t> out_pad = node.attr_ints("output_padding");
  if (out_pad.empty()) out_pad.assign(in.size(), 0);
  const bool computed = node.has_attr("output_shape") || ap == nn::AutoPad::same_upper ||
                        ap == nn::AutoPad::same_lower;
  std::vector<int64_t> pads = attrs.pads_begin;
  for (size_t i = 0; i < in.size(); ++i) {
    if (ap == nn::AutoPad::valid) pads[i] = 0;
    if (!computed) continue;
    const int64_t full =
        attrs.strides[i] * (in[i] - 1) + out_pad[i] + (kernel[i] - 1) * attrs.dilations[i] + 1;
    const int64_t total = full - out[i];
    pads[i] =
        ap == nn::AutoPad::same_upper ? nn::floor_div(total, 2) : total - nn::floor_div(total, 2);
  }
  return pads;
}

void grad_conv_transpose(GradContext& c) {
  check_float_operands(c);
  const Tensor& x = input(c, 0);
  const Tensor& w = input(c, 1);
  const Tensor& y = output(c, 0);
  const Tensor dy = grad_output(c, 0);
  const int64_t group = c.node.attr_int("group", 1);
  if (x.rank() < 3 || w.rank() != x.rank() || group < 1 || x.dim(1) != w.dim(0))
    rule_fail(c.node, "input {} and weight {} do not match", shape_str(x.shape()),
              shape_str(w.shape()));
  const std::vector<int64_t> kernel = nn::kernel_from_weight(c.node, spatial(w.shape()));
  // The window of a Conv from the ConvTranspose output (its "input") to its input.
  Window win = nn::read_window_attrs(c.node, kernel.size());
  win.pads_begin =
      transpose_pads_begin(c.node, win, spatial(x.shape()), kernel, spatial(y.shape()));
  win.in = spatial(y.shape());
  win.out = spatial(x.shape());
  win.kernel = kernel;
  win.pads_end.assign(kernel.size(), 0);
  if (wants(c, 2)) c.grad_inputs[2] = bias_grad(dy, input(c, 2));
  if (!wants(c, 0) && !wants(c, 1)) return;
  // Each ConvTranspose input position i is an output position of the window: it gathers dy
  // over its taps for dx, and spreads x[i] * dy over the weight.
  const int64_t m_group = w.dim(1), k_size = nn::product(kernel);
  const int64_t c_group = x.dim(1) / group;
  std::vector<double> dx(static_cast<size_t>(x.numel()), 0.0);
  std::vector<double> dw(static_cast<size_t>(w.numel()), 0.0);
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t n_batch = x.dim(0), m_out = dy.dim(1), c_in = x.dim(1);
    const int64_t in_size = nn::product(win.out), out_size = nn::product(win.in);
    const T* xd = x.data<T>();
    const T* wd = w.data<T>();
    const T* g = dy.data<T>();
    TapBuilder taps(win);
    std::vector<int64_t> pos(win.rank(), 0);
    for (int64_t i = 0; i < in_size; ++i, nn::next_index(pos, win.out)) {
      const std::vector<Tap>& window = taps.build(pos);
      for (int64_t n = 0; n < n_batch; ++n)
        for (int64_t grp = 0; grp < group; ++grp)
          for (int64_t cg = 0; cg < c_group; ++cg) {
            const int64_t ch = grp * c_group + cg;
            const double xv = xd[(n * c_in + ch) * in_size + i];
            double acc = 0;
            for (int64_t mg = 0; mg < m_group; ++mg) {
              const int64_t m = grp * m_group + mg;
              const T* gm = g + (n * m_out + m) * out_size;
              const int64_t w_base = (ch * m_group + mg) * k_size;
              for (const Tap& t : window) {
                const double gv = gm[t.x];
                acc += gv * static_cast<double>(wd[w_base + t.k]);
                dw[static_cast<size_t>(w_base + t.k)] += gv * xv;
              }
            }
            dx[static_cast<size_t>((n * c_in + ch) * in_size + i)] = acc;
          }
    }
  });
  if (wants(c, 0)) c.grad_inputs[0] = from_doubles(dx, x.dtype(), x.shape());
  if (wants(c, 1)) c.grad_inputs[1] = from_doubles(dw, w.dtype(), w.shape());
}

}  // namespace

void register_conv_grads(GradRegistry& r) {
  r.add("", "Conv", grad_conv);
  r.add("", "ConvTranspose", grad_conv_transpose);
}

}  // namespace nnaccel
