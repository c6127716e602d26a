// Gradient rules of the reductions training uses: ReduceSum, ReduceMean, ReduceSumSquare.
// The output gradient, seen with the reduced dims kept as 1, is broadcast back over the input.
#include <set>

#include "train/autograd/grad_util.hpp"

namespace nnaccel {

namespace {

using namespace grad;

// The input shape with reduced dims set to 1 (keepdims form); empty optional means the op
// passed its input through (noop_with_empty_axes).
bool kept_shape(const GradContext& c, Shape& kept) {
  const Tensor& x = input(c, 0);
  std::vector<int64_t> axes;
  if (c.node.op_type == "ReduceSum") {
    if (c.inputs.size() > 1 && c.inputs[1] != nullptr) axes = c.inputs[1]->to_i64_vector();
  } else {
    axes = c.node.attr_ints("axes", {});
  }
  if (axes.empty() && c.node.attr_int("noop_with_empty_axes", 0) != 0) return false;
  kept = x.shape();
  const int64_t r = x.rank();
  if (axes.empty()) {
    for (int64_t& d : kept) d = 1;
    return true;
  }
  for (int64_t a : axes) {
    if (a < -r || a >= r) rule_fail(c.node, "axis {} is out of range for rank {}", a, r);
    kept[static_cast<size_t>(a < 0 ? a + r : a)] = 1;
  }
  return true;
}

// dx = broadcast(dy) * scale * (square ? 2x : 1).
void reduce_rule(GradContext& c, bool mean, bool square) {
  if (!wants(c, 0)) return;
  const Tensor& x = input(c, 0);
  Shape kept;
  const Tensor dy = grad_output(c, 0);
  if (!kept_shape(c, kept)) {
    c.grad_inputs[0] = square ? Tensor() : dy;
    if (!square) return;
    kept = x.shape();
  }
  Tensor dx = broadcast_to(dy.reshaped(kept), x.shape());
  const double count =
      static_cast<double>(x.numel()) / static_cast<double>(std::max<int64_t>(1, shape_numel(kept)));
  Tensor r(x.dtype(), x.shape());
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* g = dx.data<T>();
    const T* xd = x.data<T>();
    T* d = r.data<T>();
    const double s = mean ? 1.0 / count : 1.0;
    for (int64_t i = 0; i < x.numel(); ++i)
      d[i] = static_cast<T>(static_cast<double>(g[i]) * s * (square ? 2.0 * xd[i] : 1.0));
  });
  c.grad_inputs[0] = r;
}

void grad_reduce_sum(GradContext& c) { reduce_rule(c, false, false); }
void grad_reduce_mean(GradContext& c) { reduce_rule(c, true, false); }
void grad_reduce_sum_square(GradContext& c) { reduce_rule(c, false, true); }

}  // namespace

void register_reduce_grads(GradRegistry& r) {
  r.add("", "ReduceSum", grad_reduce_sum);
  r.add("", "ReduceMean", grad_reduce_mean);
  r.add("", "ReduceSumSquare", grad_reduce_sum_square);
}

}  // namespace nnaccel
