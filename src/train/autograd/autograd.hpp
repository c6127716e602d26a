#pragma once
// Reverse-mode differentiation over a Graph: the graph the runtime executes is the graph the
// trainer differentiates.
//
// Each op that training uses has one gradient rule (GradFn), registered by op name like the
// reference kernels: given a node's forward inputs and outputs and the gradients of its outputs,
// it computes the gradients of the inputs that need one. Autograd runs the forward pass node by
// node, keeping the values backward needs, then walks the nodes in reverse, summing the gradient
// contributions of values read by several nodes.
//
// The rules are in grad_<family>.cpp (families in grad_families.def). In f32, Conv, Gemm and
// MatMul (forward and gradients) go through oneDNN, and the pools and BatchNormalization
// forward through loops of this folder (fast_forward.hpp); f64 runs the reference kernels, which
// the finite-difference tests use. Optionally those products take bf16 operands
// (set_bf16_products).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nnaccel/graph.hpp"
#include "nnaccel/tensor.hpp"

namespace nnaccel {

struct GradContext {
  const Node& node;
  std::vector<const Tensor*> inputs;        // forward inputs; null for absent optional inputs
  std::vector<const Tensor*> outputs;       // forward outputs; null for unnamed ones
  std::vector<const Tensor*> grad_outputs;  // d loss / d output; null where it does not reach the loss
  std::vector<bool> wants;                  // wants[i]: compute the gradient of input i
  std::vector<Tensor> grad_inputs;          // to fill where wanted: same dtype and shape as input i
};

using GradFn = void (*)(GradContext&);
class OpContext;
// The forward of a training-only op (one the runtime's op registry does not hold).
using TrainingForwardFn = void (*)(OpContext&);

class GradRegistry {
 public:
  static const GradRegistry& instance();
  // `forward`: for training-only ops, their forward; null for ops of the op registry.
  void add(const std::string& domain, const std::string& op, GradFn fn,
           TrainingForwardFn forward = nullptr);
  GradFn find(const std::string& domain, const std::string& op) const;  // null when none
  TrainingForwardFn find_forward(const std::string& domain, const std::string& op) const;

 private:
  struct Rule {
    GradFn grad = nullptr;
    TrainingForwardFn forward = nullptr;
  };
  const Rule* rule(const std::string& domain, const std::string& op) const;  // null when none
  std::map<std::pair<std::string, std::string>, Rule> rules_;
};

class Autograd {
 public:
  // `params`: names of the graph's float initializers to differentiate; `loss`: a scalar value
  // computed by the graph. Throws Error naming the first node on the path from a parameter to the
  // loss whose op has no gradient rule. `graph` is read at every forward(): it must outlive this.
  Autograd(const Graph& graph, std::vector<std::string> params, std::string loss);
  ~Autograd();

  // Runs the forward pass with `feeds` (graph inputs by name). Parameters are read from the
  // graph's initializers at each call: an optimizer that updates them in place is seen by the
  // next forward.
  void forward(const std::map<std::string, Tensor>& feeds);
  // Any value the last forward computed (the loss, logits, BatchNorm's new running statistics).
  const Tensor& value(const std::string& name) const;
  // d loss / d param for every parameter, by name, same shape as the parameter. Call after
  // forward(); a parameter the loss does not depend on gets zeros.
  std::map<std::string, Tensor> backward();
  // Mixed precision: true rounds the operands of f32 Conv, ConvTranspose, Gemm and MatMul
  // (forward and gradients) to bf16, with f32 accumulation and results (dnnl_ops.hpp); the
  // parameters, the other ops and the gradients handed back stay f32. Default false.
  void set_bf16_products(bool on);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nnaccel
