#pragma once
// Building small graphs in code and checking that a pass preserves a model's outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "nnaccel/session.hpp"
#include "ops/op_test_util.hpp"

namespace nnaccel::testing {

struct GraphBuilder {
  Model m;
  GraphBuilder() { m.opsets[""] = kCanonicalOpset; }
  void input(const std::string& name, Shape s, DType t = DType::f32) {
    m.graph.inputs.push_back(ValueInfo{name, TypeInfo::of(t, s), ""});
  }
  void output(const std::string& name) { m.graph.outputs.push_back(ValueInfo{name, {}, ""}); }
  void init(const std::string& name, Tensor t) { m.graph.initializers[name] = std::move(t); }
  Node& node(const std::string& op, std::vector<std::string> ins, std::vector<std::string> outs,
             std::vector<Attribute> attrs = {}) {
    Node n;
    n.op_type = op;
    n.name = op + "_" + std::to_string(m.graph.nodes.size());
    n.inputs = std::move(ins);
    n.outputs = std::move(outs);
    n.attrs = std::move(attrs);
    m.graph.nodes.push_back(std::move(n));
    return m.graph.nodes.back();
  }
};

inline Tensor random_tensor(Shape s, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t(DType::f32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

inline int count_ops(const Model& m, const std::string& op) {
  int c = 0;
  for (const Node& n : m.graph.nodes) c += n.op_type == op;
  return c;
}

// Random values for every float input (declared shapes must be fully known).
inline std::map<std::string, Tensor> random_feeds(const Model& m, uint32_t seed) {
  std::map<std::string, Tensor> f;
  for (const ValueInfo& v : m.graph.inputs) {
    if (m.graph.initializers.count(v.name)) continue;
    f[v.name] = random_tensor(v.type.known_shape(), seed++);
  }
  return f;
}

inline void expect_close(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-6) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) {
    double x = a.at_f64(i), y = b.at_f64(i);
    ASSERT_LE(std::fabs(x - y), atol + rtol * std::fabs(y))
        << "at " << i << ": " << x << " vs " << y;
  }
}

// Runs `before` and `after` on the same random inputs and compares every output.
inline void expect_same_outputs(const Model& before, const Model& after, uint32_t seed = 1) {
  auto feeds = random_feeds(before, seed);
  Session a(before, SessionOptions{.fast = false}), b(after, SessionOptions{.fast = false});
  auto oa = a.run(feeds);
  auto ob = b.run(feeds);
  ASSERT_EQ(oa.size(), ob.size());
  for (size_t i = 0; i < oa.size(); ++i) expect_close(ob[i], oa[i]);
}

}  // namespace nnaccel::testing
