#include "train/autograd/dnnl_ops.hpp"

#include <atomic>
#include <dnnl.hpp>

namespace nnaccel::grad {

namespace {

using dnnl::memory;
using tag = memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One stream per thread: a stream is not meant to be shared by threads submitting work.
dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

memory::dims dims_of(const Shape& s) { return memory::dims(s.begin(), s.end()); }

memory::desc f32_desc(const memory::dims& d, tag t) {
  return memory::desc(d, memory::data_type::f32, t);
}

memory wrap(const memory::desc& d, const Tensor& t) {
  return memory(d, cpu_engine(), const_cast<void*>(t.raw()));
}

// The descriptors and geometry of one convolution; `ok` is false when oneDNN cannot express it.
struct ConvSetup {
  bool ok = false;
  memory::desc src, wei, dst, bias;
  memory::dims strides, dilates, pad_l, pad_r;
};

ConvSetup conv_setup(const Shape& x, const Shape& w, const Shape& y, int64_t group,
                     const nn::Window& win) {
  ConvSetup s;
  const size_t r = win.rank();
  if (r < 1 || r > 3 || x.size() != r + 2) return s;
  static const tag act_tags[] = {tag::ncw, tag::nchw, tag::ncdhw};
  static const tag wei_tags[] = {tag::oiw, tag::oihw, tag::oidhw};
  static const tag gwei_tags[] = {tag::goiw, tag::goihw, tag::goidhw};
  for (size_t i = 0; i < r; ++i) {
    const int64_t ext = (win.kernel[i] - 1) * win.dilations[i] + 1;
    const int64_t pr = (win.out[i] - 1) * win.strides[i] + ext - win.in[i] - win.pads_begin[i];
    // A negative right pad (input rows no window reaches) is left to the reference.
    if (pr < 0 || win.pads_begin[i] < 0) return s;
    s.strides.push_back(win.strides[i]);
    s.dilates.push_back(win.dilations[i] - 1);
    s.pad_l.push_back(win.pads_begin[i]);
    s.pad_r.push_back(pr);
  }
  s.src = f32_desc(dims_of(x), act_tags[r - 1]);
  s.dst = f32_desc(dims_of(y), act_tags[r - 1]);
  if (group == 1) {
    s.wei = f32_desc(dims_of(w), wei_tags[r - 1]);
  } else {
    memory::dims gw = {group, w[0] / group};
    gw.insert(gw.end(), w.begin() + 1, w.end());
    s.wei = f32_desc(gw, gwei_tags[r - 1]);
  }
  s.bias = f32_desc({w[0]}, tag::x);
  s.ok = true;
  return s;
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvSetup& s, bool with_bias) {
  using cf = dnnl::convolution_forward;
  const auto desc =
      with_bias ? cf::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                           s.src, s.wei, s.bias, s.dst, s.strides, s.dilates, s.pad_l, s.pad_r)
                : cf::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                           s.src, s.wei, s.dst, s.strides, s.dilates, s.pad_l, s.pad_r);
  return cf::primitive_desc(desc, cpu_engine());
}

std::atomic<bool> g_enabled{true};

}  // namespace

void set_dnnl_enabled(bool enabled) { g_enabled = enabled; }
bool dnnl_enabled() { return g_enabled; }

bool conv_forward_dnnl(const Tensor& x, const Tensor& w, const Tensor* b, int64_t group,
                       const nn::Window& win, Tensor& y) {
  if (!dnnl_enabled() || x.numel() == 0 || y.numel() == 0) return false;
  ConvSetup s = conv_setup(x.shape(), w.shape(), y.shape(), group, win);
  if (!s.ok) return false;
  const auto pd = forward_pd(s, b != nullptr);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, wrap(s.src, x)},
                                          {DNNL_ARG_WEIGHTS, wrap(s.wei, w)},
                                          {DNNL_ARG_DST, wrap(s.dst, y)}};
  if (b != nullptr) args[DNNL_ARG_BIAS] = wrap(s.bias, *b);
  dnnl::convolution_forward(pd).execute(cpu_stream(), args);
  cpu_stream().wait();
  return true;
}

bool conv_backward_dnnl(const Tensor& x, const Tensor& w, const Tensor& dy, int64_t group,
                        const nn::Window& win, Tensor* dx, Tensor* dw) {
  if (!dnnl_enabled() || x.numel() == 0 || dy.numel() == 0) return false;
  ConvSetup s = conv_setup(x.shape(), w.shape(), dy.shape(), group, win);
  if (!s.ok) return false;
  const auto fwd = forward_pd(s, false);
  if (dx != nullptr) {
    *dx = Tensor(DType::f32, x.shape());
    const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, s.src,
                                                     s.wei, s.dst, s.strides, s.dilates, s.pad_l,
                                                     s.pad_r);
    const dnnl::convolution_backward_data::primitive_desc pd(desc, cpu_engine(), fwd);
    dnnl::convolution_backward_data(pd).execute(cpu_stream(),
                                                {{DNNL_ARG_DIFF_DST, wrap(s.dst, dy)},
                                                 {DNNL_ARG_WEIGHTS, wrap(s.wei, w)},
                                                 {DNNL_ARG_DIFF_SRC, wrap(s.src, *dx)}});
  }
  if (dw != nullptr) {
    *dw = Tensor(DType::f32, w.shape());
    const dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, s.src,
                                                        s.wei, s.dst, s.strides, s.dilates, s.pad_l,
                                                        s.pad_r);
    const dnnl::convolution_backward_weights::primitive_desc pd(desc, cpu_engine(), fwd);
    dnnl::convolution_backward_weights(pd).execute(cpu_stream(),
                                                   {{DNNL_ARG_SRC, wrap(s.src, x)},
                                                    {DNNL_ARG_DIFF_DST, wrap(s.dst, dy)},
                                                    {DNNL_ARG_DIFF_WEIGHTS, wrap(s.wei, *dw)}});
  }
  cpu_stream().wait();
  return true;
}

void matmul_dnnl(const float* a, bool trans_a, const float* b, bool trans_b, float* y,
                 int64_t batch, int64_t m, int64_t k, int64_t n, float alpha) {
  // Transposed operands are the same memory with swapped strides.
  const memory::desc a_md({batch, m, k}, memory::data_type::f32,
                          trans_a ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1});
  const memory::desc b_md({batch, k, n}, memory::data_type::f32,
                          trans_b ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
  const memory::desc y_md({batch, m, n}, memory::data_type::f32, memory::dims{m * n, n, 1});
  dnnl::primitive_attr attr;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, y_md), attr, cpu_engine());
  dnnl::matmul(pd).execute(cpu_stream(),
                           {{DNNL_ARG_SRC, memory(a_md, cpu_engine(), const_cast<float*>(a))},
                            {DNNL_ARG_WEIGHTS, memory(b_md, cpu_engine(), const_cast<float*>(b))},
                            {DNNL_ARG_DST, memory(y_md, cpu_engine(), y)}});
  cpu_stream().wait();
}

}  // namespace nnaccel::grad
