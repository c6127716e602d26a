// Gradient rules of the pools. MaxPool sends each output gradient to the first maximum of its
// window (the element the forward picked); AveragePool spreads it evenly over the window's
// divisor (count_include_pad decides whether padding counts); the global pools over the plane.
#include <limits>

#include "ops/nn_common.hpp"
#include "train/autograd/grad_util.hpp"

namespace nnaccel {

namespace {

using namespace grad;
using nn::Tap;

nn::Window pool_window(const GradContext& c, const Tensor& x) {
  if (x.rank() < 3) rule_fail(c.node, "input has rank {}, expected [N, C, spatial...]", x.rank());
  const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  const std::vector<int64_t> kernel = nn::required_kernel_shape(c.node, in.size());
  return nn::resolve_window(c.node, in, kernel, c.node.attr_int("ceil_mode", 0) == 1);
}

void pool_rule(GradContext& c, bool max) {
  if (!wants(c, 0)) return;
  const Tensor& x = input(c, 0);
  const Tensor dy = grad_output(c, 0);
  const nn::Window win = pool_window(c, x);
  const bool include_pad = c.node.attr_int("count_include_pad", 0) != 0;
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t in_size = nn::product(win.in), out_size = nn::product(win.out);
  Tensor dx(x.dtype(), x.shape());
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    const T* g = dy.data<T>();
    T* d = dx.data<T>();
    nn::TapBuilder taps(win);
    std::vector<int64_t> pos(win.rank(), 0);
    for (int64_t o = 0; o < out_size; ++o, nn::next_index(pos, win.out)) {
      double padded = 0;
      const std::vector<Tap>& window = taps.build(pos, &padded);
      if (window.empty()) continue;
      const double count = include_pad ? padded : static_cast<double>(window.size());
      for (int64_t pc = 0; pc < planes; ++pc) {
        const T* plane = xd + pc * in_size;
        T* dplane = d + pc * in_size;
        const T gy = g[pc * out_size + o];
        if (max) {
          const Tap* best = &window[0];
          for (const Tap& t : window)
            if (plane[t.x] > plane[best->x]) best = &t;
          dplane[best->x] += gy;
        } else {
          const T share = static_cast<T>(static_cast<double>(gy) / count);
          for (const Tap& t : window) dplane[t.x] += share;
        }
      }
    }
  });
  c.grad_inputs[0] = dx;
}

void global_pool_rule(GradContext& c, bool max) {
  if (!wants(c, 0)) return;
  const Tensor& x = input(c, 0);
  const Tensor dy = grad_output(c, 0);
  if (x.rank() < 2) rule_fail(c.node, "input has rank {}, expected [N, C, ...]", x.rank());
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t size = planes > 0 ? x.numel() / planes : 0;
  Tensor dx(x.dtype(), x.shape());
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    const T* g = dy.data<T>();
    T* d = dx.data<T>();
    for (int64_t pc = 0; pc < planes; ++pc) {
      if (max) {
        int64_t best = 0;
        for (int64_t i = 1; i < size; ++i)
          if (xd[pc * size + i] > xd[pc * size + best]) best = i;
        d[pc * size + best] = g[pc];
      } else {
        const T share = static_cast<T>(static_cast<double>(g[pc]) / static_cast<double>(size));
        for (int64_t i = 0; i < size; ++i) d[pc * size + i] = share;
      }
    }
  });
  c.grad_inputs[0] = dx;
}

void grad_max_pool(GradContext& c) { pool_rule(c, true); }
void grad_average_pool(GradContext& c) { pool_rule(c, false); }
void grad_global_max_pool(GradContext& c) { global_pool_rule(c, true); }
void grad_global_average_pool(GradContext& c) { global_pool_rule(c, false); }

}  // namespace

void register_pool_grads(GradRegistry& r) {
  r.add("", "MaxPool", grad_max_pool);
  r.add("", "AveragePool", grad_average_pool);
  r.add("", "GlobalMaxPool", grad_global_max_pool);
  r.add("", "GlobalAveragePool", grad_global_average_pool);
}

}  // namespace nnaccel
