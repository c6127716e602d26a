// The training-only ops of domain ai.nnaccel.training (block_activations.hpp writes them): the
// convolutional layers of a network on channel-blocked activations (blocked_layout.hpp), each
// with its forward and its gradient. They never leave the trainer: the exported model keeps the
// standard ops they stand for.
#include <cmath>

#include "train/autograd/blocked_layout.hpp"
#include "train/autograd/blocked_ops.hpp"
#include "train/autograd/dnnl_ops.hpp"
#include "train/autograd/grad_util.hpp"

namespace nnaccel {

namespace {

using grad::blocked_layout::block_of;
using grad::blocked_layout::blocked_shape;
using grad::blocked_layout::is_blocked;
using grad::blocked_layout::logical_shape;

// The window of a blocked Conv from its input's logical shape and its weight.
nn::Window conv_window(const Node& node, const Tensor& x, const Tensor& w) {
  const Shape xs = is_blocked(x, 2) ? logical_shape(x) : x.shape();
  if (xs.size() != 4 || w.rank() != 4 || xs[1] != w.dim(1))
    grad::rule_fail(node, "input {} and weight {} do not make a 2-D convolution",
                    shape_str(x.shape()), shape_str(w.shape()));
  return nn::resolve_window(node, {xs[2], xs[3]},
                            nn::kernel_from_weight(node, {w.dim(2), w.dim(3)}), false);
}

// Conv(x, w) with x plain f32 [N, C, H, W] or blocked, the output blocked in `dtype` by `block`.
void conv_forward(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const nn::Window win = conv_window(ctx.node, x, w);
  const int64_t block = ctx.attr_int("block", 16);
  const auto dtype = static_cast<DType>(ctx.attr_int("dtype", static_cast<int64_t>(DType::f32)));
  if (w.dim(0) % block != 0)
    ctx.fail("{} output channels do not split into blocks of {}", w.dim(0), block);
  Tensor y = grad::uninitialized(
      dtype, blocked_shape({x.dim(0), w.dim(0), win.out[0], win.out[1]}, block));
  if (!grad::conv_forward_dnnl(x, w, nullptr, 1, win, y))
    ctx.fail("oneDNN takes no convolution of input {} and weight {}", shape_str(x.shape()),
             shape_str(w.shape()));
  ctx.outputs[0] = y;
}

void conv_grad(GradContext& c) {
  const Tensor& x = grad::input(c, 0);
  const Tensor& w = grad::input(c, 1);
  const Tensor dy = grad::grad_output(c, 0);
  const nn::Window win = conv_window(c.node, x, w);
  if (!grad::wants(c, 0) && !grad::wants(c, 1)) return;
  if (!grad::conv_backward_dnnl(x, w, dy, 1, win, grad::wants(c, 0) ? &c.grad_inputs[0] : nullptr,
                                grad::wants(c, 1) ? &c.grad_inputs[1] : nullptr))
    grad::rule_fail(c.node, "oneDNN takes no gradient of this convolution");
}

// BatchNormalization(x, scale, shift, mean, var) in training mode, ReLU fused when `relu` is 1.
// Outputs: y, the running mean and variance updated with `momentum` (as ONNX defines them), then
// this batch's mean and variance and oneDNN's workspace, for the gradient.
void batch_norm_forward(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!is_blocked(x, 2)) ctx.fail("input {} is not a blocked 2-D activation", shape_str(x.shape()));
  const int64_t ch = logical_shape(x)[1];
  for (int i = 1; i < 5; ++i)
    if (ctx.input(i).dtype() != DType::f32 || ctx.input(i).numel() != ch)
      ctx.fail("input {} is {} {}, expected f32 [{}]", i, dtype_name(ctx.input(i).dtype()),
               shape_str(ctx.input(i).shape()), ch);
  const float eps = ctx.attr_float("epsilon", 1e-5f);
  const double momentum = ctx.attr_float("momentum", 0.9f);
  grad::BlockedBatchNorm r = grad::blocked_batch_norm_forward(x, ctx.input(1), ctx.input(2), eps,
                                                              ctx.attr_int("relu", 0) != 0);
  Tensor run_mean(DType::f32, {ch}), run_var(DType::f32, {ch});
  const float* in_mean = ctx.input(3).data<float>();
  const float* in_var = ctx.input(4).data<float>();
  for (int64_t k = 0; k < ch; ++k) {
    run_mean.data<float>()[k] =
        static_cast<float>(in_mean[k] * momentum + r.mean.data<float>()[k] * (1 - momentum));
    run_var.data<float>()[k] =
        static_cast<float>(in_var[k] * momentum + r.var.data<float>()[k] * (1 - momentum));
  }
  ctx.outputs[0] = r.y;
  ctx.outputs[1] = run_mean;
  ctx.outputs[2] = run_var;
  ctx.outputs[3] = r.mean;
  ctx.outputs[4] = r.var;
  ctx.outputs[5] = r.workspace.defined() ? r.workspace : Tensor(DType::u8, {0});
}

void batch_norm_grad(GradContext& c) {
  const bool relu = c.node.attr_int("relu", 0) != 0;
  grad::BlockedBatchNorm fwd;
  fwd.mean = grad::output(c, 3);
  fwd.var = grad::output(c, 4);
  fwd.workspace = grad::output(c, 5);
  grad::blocked_batch_norm_backward(grad::input(c, 0), grad::input(c, 1), grad::input(c, 2), fwd,
                                    grad::grad_output(c, 0), c.node.attr_float("epsilon", 1e-5f),
                                    relu, grad::wants(c, 0) ? &c.grad_inputs[0] : nullptr,
                                    grad::wants(c, 1) ? &c.grad_inputs[1] : nullptr,
                                    grad::wants(c, 2) ? &c.grad_inputs[2] : nullptr);
}

// Add(a, b) of two blocked values, ReLU fused when `relu` is 1.
void add_forward(OpContext& ctx) {
  ctx.outputs[0] = grad::blocked_add(ctx.input(0), ctx.input(1), ctx.attr_int("relu", 0) != 0);
}

void add_grad(GradContext& c) {
  Tensor dy = grad::grad_output(c, 0);
  if (c.node.attr_int("relu", 0) != 0) dy = grad::relu_backward_from_output(grad::output(c, 0), dy);
  for (size_t k = 0; k < 2; ++k)
    if (grad::wants(c, k)) c.grad_inputs[k] = dy;
}

// ToPlain(x): a blocked value as plain f32, for the layers that read plain values.
void to_plain_forward(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 4 || !is_blocked(x, static_cast<size_t>(x.rank()) - 3))
    ctx.fail("input {} is not a blocked activation", shape_str(x.shape()));
  ctx.outputs[0] = grad::blocked_to_plain(x);
}

void to_plain_grad(GradContext& c) {
  const Tensor& x = grad::input(c, 0);
  if (grad::wants(c, 0))
    c.grad_inputs[0] = grad::plain_to_blocked(grad::grad_output(c, 0), block_of(x), x.dtype());
}

}  // namespace

void register_blocked_grads(GradRegistry& r) {
  const std::string d = "ai.nnaccel.training";
  r.add(d, "Conv", conv_grad, conv_forward);
  r.add(d, "BatchNormalization", batch_norm_grad, batch_norm_forward);
  r.add(d, "Add", add_grad, add_forward);
  r.add(d, "ToPlain", to_plain_grad, to_plain_forward);
}

}  // namespace nnaccel
