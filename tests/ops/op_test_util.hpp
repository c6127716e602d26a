#pragma once
// Running one op through its registered reference kernel, for unit tests.
#include <gtest/gtest.h>

#include <random>

#include "ops/op_registry.hpp"

namespace nnaccel::testing {

inline Node make_node(const std::string& op, int num_inputs, int num_outputs,
                      std::vector<Attribute> attrs = {}) {
  Node n;
  n.op_type = op;
  n.name = "test_" + op;
  for (int i = 0; i < num_inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  for (int i = 0; i < num_outputs; ++i) n.outputs.push_back("out" + std::to_string(i));
  n.attrs = std::move(attrs);
  return n;
}

// Runs the node's reference kernel; inputs may hold undefined tensors for omitted inputs.
inline std::vector<Tensor> run_op(const Node& node, const std::vector<Tensor>& inputs) {
  const OpSchema* s = OpRegistry::instance().find(node.domain, node.op_type);
  if (s == nullptr) throw Error("no op " + node.op_type);
  std::vector<const Tensor*> ins;
  for (const Tensor& t : inputs) ins.push_back(t.defined() ? &t : nullptr);
  OpContext ctx(node, ins, nullptr);
  s->run(ctx);
  return ctx.outputs;
}

inline Tensor random_f32(const Shape& shape, uint32_t seed, float lo = -1, float hi = 1) {
  Tensor t(DType::f32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

inline Tensor random_f64(const Shape& shape, uint32_t seed, double lo = -1, double hi = 1) {
  Tensor t(DType::f64, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = d(rng);
  return t;
}

}  // namespace nnaccel::testing
