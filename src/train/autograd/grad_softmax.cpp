// Gradient rules of Softmax and LogSoftmax (one axis, opset 13 form), from their outputs:
//   Softmax:    dx = y * (dy - sum_axis(dy * y))
//   LogSoftmax: dx = dy - exp(y) * sum_axis(dy)
#include <cmath>

#include "train/autograd/grad_util.hpp"

namespace nnaccel {

namespace {

using namespace grad;

void softmax_rule(GradContext& c, bool log) {
  if (!wants(c, 0)) return;
  const Tensor& y = output(c, 0);
  const Tensor dy = grad_output(c, 0);
  const int64_t rank = y.rank();
  int64_t axis = c.node.attr_int("axis", -1);
  if (rank == 0 || axis < -rank || axis >= rank)
    rule_fail(c.node, "axis {} is out of range for rank {}", axis, rank);
  if (axis < 0) axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= y.dim(static_cast<int>(i));
  for (int64_t i = axis + 1; i < rank; ++i) inner *= y.dim(static_cast<int>(i));
  const int64_t n = y.dim(static_cast<int>(axis));
  Tensor dx(y.dtype(), y.shape());
  visit_grad_float(c.node, y.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* yd = y.data<T>();
    const T* g = dy.data<T>();
    T* d = dx.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * n * inner + i;
        double sum = 0;
        for (int64_t j = 0; j < n; ++j) {
          const int64_t e = base + j * inner;
          sum += log ? static_cast<double>(g[e]) : static_cast<double>(g[e]) * yd[e];
        }
        for (int64_t j = 0; j < n; ++j) {
          const int64_t e = base + j * inner;
          const double yv = yd[e], gv = g[e];
          d[e] = static_cast<T>(log ? gv - std::exp(yv) * sum : yv * (gv - sum));
        }
      }
  });
  c.grad_inputs[0] = dx;
}

void grad_softmax(GradContext& c) { softmax_rule(c, false); }
void grad_log_softmax(GradContext& c) { softmax_rule(c, true); }

}  // namespace

void register_softmax_grads(GradRegistry& r) {
  r.add("", "Softmax", grad_softmax);
  r.add("", "LogSoftmax", grad_log_softmax);
}

}  // namespace nnaccel
