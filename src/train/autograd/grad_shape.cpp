// Gradient rules of ops that only move elements. Ops that keep the element order (Reshape,
// Flatten, Squeeze, Unsqueeze) pass the gradient through reshaped; the others route each output
// gradient element back to the input element it was read from (grad::route_gradient), which
// reuses the op's own reference kernel for the index arithmetic, duplicates summed (Expand,
// Tile). Transpose and Gather have direct rules.
#include "train/autograd/grad_util.hpp"

namespace nnaccel {

namespace {

using namespace grad;

void grad_same_order(GradContext& c) {
  if (wants(c, 0)) c.grad_inputs[0] = grad_output(c, 0).reshaped(input(c, 0).shape());
}

// Element-moving ops whose only differentiable input is input 0.
void grad_route_input0(GradContext& c) {
  if (wants(c, 0)) c.grad_inputs[0] = route_gradient(c, 0, {0});
}

// Concat: every input is data.
void grad_concat(GradContext& c) {
  std::vector<size_t> data;
  for (size_t k = 0; k < c.inputs.size(); ++k) data.push_back(k);
  for (size_t k = 0; k < c.inputs.size(); ++k)
    if (wants(c, k)) c.grad_inputs[k] = route_gradient(c, k, data);
}

// Where, by its two value inputs (1, 2): each output element comes from one of them.
void grad_where(GradContext& c) {
  for (size_t k = 1; k < 3; ++k)
    if (wants(c, k)) c.grad_inputs[k] = route_gradient(c, k, {1, 2});
}

// Pad: data is input 0; the constant pad value (input 2) becomes -1, a position read from no
// input element.
void grad_pad(GradContext& c) {
  if (wants(c, 0)) c.grad_inputs[0] = route_gradient(c, 0, {0, 2});
}

// Transpose: dy transposed back by the inverse permutation (no index tensor needed).
void grad_transpose(GradContext& c) {
  if (!wants(c, 0)) return;
  const Tensor& x = input(c, 0);
  std::vector<int64_t> perm = c.node.attr_ints("perm");
  if (perm.empty())
    for (int64_t i = x.rank(); i-- > 0;) perm.push_back(i);
  if (static_cast<int64_t>(perm.size()) != x.rank())
    rule_fail(c.node, "perm has {} entries for rank {}", perm.size(), x.rank());
  std::vector<int64_t> inverse(perm.size(), -1);
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] < 0 || perm[i] >= x.rank() || inverse[static_cast<size_t>(perm[i])] >= 0)
      rule_fail(c.node, "perm [{}] is not a permutation", fmt::join(perm, ","));
    inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  }
  c.grad_inputs[0] = run_reference(c.node, "Transpose", {grad_output(c, 0)},
                                   {Attribute::of_ints("perm", inverse)})[0];
}

// Gather (embeddings): rows of dy added into the rows of dx they were read from. Direct rather
// than routed: an index tensor the size of a vocabulary table would cost more than the table.
void grad_gather(GradContext& c) {
  if (!wants(c, 0)) return;
  const Tensor& x = input(c, 0);
  const Tensor& idx = input(c, 1);
  const Tensor dy = grad_output(c, 0);
  const int64_t rank = x.rank();
  int64_t axis = c.node.attr_int("axis", 0);
  if (axis < -rank || axis >= rank) rule_fail(c.node, "axis {} is out of range", axis);
  if (axis < 0) axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(static_cast<int>(i));
  for (int64_t i = axis + 1; i < rank; ++i) inner *= x.dim(static_cast<int>(i));
  const int64_t n = x.dim(static_cast<int>(axis)), m = idx.numel();
  if (dy.numel() != outer * m * inner)
    rule_fail(c.node, "output gradient {} does not match", shape_str(dy.shape()));
  const std::vector<int64_t> rows = idx.to_i64_vector();
  Tensor dx(x.dtype(), x.shape());
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* g = dy.data<T>();
    T* d = dx.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < m; ++j) {
        int64_t r = rows[static_cast<size_t>(j)];
        if (r < 0) r += n;
        if (r < 0 || r >= n)
          rule_fail(c.node, "index {} is out of range", rows[static_cast<size_t>(j)]);
        const T* src = g + (o * m + j) * inner;
        T* dst = d + (o * n + r) * inner;
        for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
      }
  });
  c.grad_inputs[0] = dx;
}

}  // namespace

void register_shape_grads(GradRegistry& r) {
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze"})
    r.add("", op, grad_same_order);
  for (const char* op :
       {"Slice", "Expand", "Tile", "Split", "GatherElements", "DepthToSpace", "SpaceToDepth"})
    r.add("", op, grad_route_input0);
  r.add("", "Concat", grad_concat);
  r.add("", "Transpose", grad_transpose);
  r.add("", "Gather", grad_gather);
  r.add("", "Where", grad_where);
  r.add("", "Pad", grad_pad);
}

}  // namespace nnaccel
