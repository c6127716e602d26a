// Gradient rules of the pools. MaxPool sends each output gradient to the first maximum of its
// window (the element the forward picked); AveragePool spreads it evenly over the window's
// divisor (count_include_pad decides whether padding counts); the global pools over the plane.
#include <limits>

#include "core/parallel.hpp"
#include "train/autograd/grad_util.hpp"
#include "train/autograd/pool_plan.hpp"

namespace nnaccel {

namespace {

using namespace grad;

void pool_rule(GradContext& c, bool max) {
  if (!wants(c, 0)) return;
  const Tensor& x = input(c, 0);
  const Tensor dy = grad_output(c, 0);
  const PoolPlan plan = make_pool_plan(c.node, x.shape());
  Tensor dx(x.dtype(), x.shape());
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    const T* g = dy.data<T>();
    T* d = dx.data<T>();
    const int64_t* taps = plan.taps.data();
    parallel_for(plan.planes, 1, [&](int64_t p0, int64_t p1) {
      for (int64_t pc = p0; pc < p1; ++pc) {
        const T* plane = xd + pc * plan.in_size;
        const T* gp = g + pc * plan.out_size;
        T* dplane = d + pc * plan.in_size;
        for (int64_t o = 0; o < plan.out_size; ++o) {
          const int64_t b = plan.begin[static_cast<size_t>(o)];
          const int64_t e = plan.begin[static_cast<size_t>(o) + 1];
          if (b == e) continue;
          if (max) {
            // The first maximum, as the forward picks it.
            int64_t best = taps[b];
            for (int64_t t = b + 1; t < e; ++t)
              if (plane[taps[t]] > plane[best]) best = taps[t];
            dplane[best] += gp[o];
          } else {
            const T share =
                static_cast<T>(static_cast<double>(gp[o]) / plan.divisor[static_cast<size_t>(o)]);
            for (int64_t t = b; t < e; ++t) dplane[taps[t]] += share;
          }
        }
      }
    });
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
