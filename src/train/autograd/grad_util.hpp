#pragma once
// Helpers the gradient rules share: float dispatch, broadcasting and its reverse (summing a
// gradient over the dims an input was broadcast along), and running a reference kernel.
#include <string>
#include <vector>

#include "core/cast.hpp"
#include "core/check.hpp"
#include "core/dtype_dispatch.hpp"
#include "train/autograd/autograd.hpp"

namespace nnaccel::grad {

template <typename... Args>
[[noreturn]] void rule_fail(const Node& node, fmt::format_string<Args...> f, Args&&... args) {
  throw Error("autograd: " + node.describe() + ": " + fmt::format(f, std::forward<Args>(args)...));
}

// Calls f(Tag<float>) or f(Tag<double>); gradients are computed in f32 or f64 only.
template <typename F>
decltype(auto) visit_grad_float(const Node& node, DType t, F&& f) {
  if (t == DType::f64) return f(Tag<double>{});
  if (t == DType::f32) return f(Tag<float>{});
  rule_fail(node, "gradients are computed for f32 and f64 only, got {}", dtype_name(t));
}

Tensor filled(DType dtype, const Shape& shape, double value);
// A tensor whose elements are left as the allocator gave them, for outputs a kernel writes in
// full (Tensor's constructor zero-fills: a wasted pass over every activation and gradient).
Tensor uninitialized(DType dtype, const Shape& shape);
// a + b, same shape and dtype.
Tensor add(const Tensor& a, const Tensor& b);
// `t` (whose shape broadcasts to `shape`, numpy rules) repeated to `shape`.
Tensor broadcast_to(const Tensor& t, const Shape& shape);
// The reverse of broadcast_to: `g` of a broadcast shape summed down to `shape`.
Tensor reduce_to_shape(const Tensor& g, const Shape& shape);

// The input, output and output gradient of a GradContext, with checks naming the node.
const Tensor& input(const GradContext& ctx, size_t i);
const Tensor& output(const GradContext& ctx, size_t i);
// d loss / d output i, or zeros of the output's shape when it does not reach the loss.
Tensor grad_output(const GradContext& ctx, size_t i);
inline bool wants(const GradContext& ctx, size_t i) { return i < ctx.wants.size() && ctx.wants[i]; }

// Runs the reference kernel of `op` (default domain) on `inputs` (undefined = omitted) with
// `attrs`; names `like` in errors. Returns every output.
std::vector<Tensor> run_reference(const Node& like, const std::string& op,
                                  const std::vector<Tensor>& inputs, std::vector<Attribute> attrs,
                                  int num_outputs = 1);

// Element-moving ops (Slice, Gather, Transpose, Concat, Expand...): runs the node with data
// input `k` replaced by its flat element indices (int64) and every other input in
// `data_inputs` by -1, then adds each output gradient element to the input element it came
// from. Returns the gradient of input k.
Tensor route_gradient(const GradContext& ctx, size_t k, const std::vector<size_t>& data_inputs);

}  // namespace nnaccel::grad
