// Gradient rules of ops that only move elements. Ops that keep the element order (Reshape,
// Flatten, Squeeze, Unsqueeze) pass the gradient through reshaped; the others route each output
// gradient element back to the input element it was read from (grad::route_gradient), which
// reuses the op's own reference kernel for the index arithmetic, duplicates summed (Gather,
// Expand, Tile).
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

}  // namespace

void register_shape_grads(GradRegistry& r) {
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze"})
    r.add("", op, grad_same_order);
  for (const char* op : {"Transpose", "Slice", "Gather", "Expand", "Tile", "Split",
                         "GatherElements", "DepthToSpace", "SpaceToDepth"})
    r.add("", op, grad_route_input0);
  r.add("", "Concat", grad_concat);
  r.add("", "Where", grad_where);
  r.add("", "Pad", grad_pad);
}

}  // namespace nnaccel
