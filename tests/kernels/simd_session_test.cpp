// The simd kernels end to end in a Session's compiled plan, against the reference interpreter.
#include <gtest/gtest.h>

#include "kernels/simd_test_util.hpp"
#include "nnaccel/session.hpp"

namespace nnaccel::testing {
namespace {

Node graph_node(const std::string& op, std::vector<std::string> in, std::string out,
                std::vector<Attribute> attrs = {}) {
  Node n;
  n.op_type = op;
  n.name = out;
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  n.attrs = std::move(attrs);
  return n;
}

std::vector<float> run(const Model& m, bool fast, const Tensor& x) {
  SessionOptions o;
  o.fast = fast;
  Session s(m, o);
  return s.run({{"x", x}})[0].to_f32_vector();
}

// A same-type Cast (reference kernel) returns its input's storage. The plan frees the input's
// arena buffer after the Cast, and the simd Mul's output may be placed there: the Cast's output
// must not share those bytes, or Add reads r * r where it expects r.
TEST(SimdSession, ReferenceAliasOfAFreedBufferIsNotOverwritten) {
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.graph.inputs.push_back(ValueInfo{"x", TypeInfo::of(DType::f32, {1003}), ""});
  m.graph.outputs.push_back(ValueInfo{"y", {}, ""});
  m.graph.nodes = {
      graph_node("Relu", {"x"}, "r"),
      graph_node("Cast", {"r"}, "c", {Attribute::of_int("to", static_cast<int64_t>(DType::f32))}),
      graph_node("Mul", {"c", "c"}, "sq"),
      graph_node("Add", {"c", "sq"}, "y"),
  };
  const Tensor x = random_nonzero({1003}, 1, -3, 3);
  const std::vector<float> fast = run(m, true, x), reference = run(m, false, x);
  ASSERT_EQ(fast.size(), reference.size());
  for (size_t i = 0; i < fast.size(); ++i) ASSERT_FLOAT_EQ(fast[i], reference[i]) << i;
}

// Softmax of LayerNormalization of x * w + b: every kernel here is simd on a SIMD machine.
TEST(SimdSession, TransformerBlockMatchesReference) {
  const int64_t rows = 6, hidden = 67;
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.graph.inputs.push_back(ValueInfo{"x", TypeInfo::of(DType::f32, {rows, hidden}), ""});
  m.graph.outputs.push_back(ValueInfo{"y", {}, ""});
  m.graph.initializers["w"] = random_nonzero({hidden}, 2, 0.5f, 2);
  m.graph.initializers["b"] = random_nonzero({hidden}, 3, -1, 1);
  m.graph.initializers["scale"] = random_nonzero({hidden}, 4, 0.5f, 2);
  m.graph.initializers["bias"] = random_nonzero({hidden}, 5, -1, 1);
  m.graph.nodes = {
      graph_node("Mul", {"x", "w"}, "xw"),
      graph_node("Add", {"xw", "b"}, "h"),
      graph_node("Tanh", {"h"}, "t"),
      graph_node("LayerNormalization", {"t", "scale", "bias"}, "n"),
      graph_node("Softmax", {"n"}, "y"),
  };
  const Tensor x = random_nonzero({rows, hidden}, 1, -3, 3);
  const std::vector<float> fast = run(m, true, x), reference = run(m, false, x);
  ASSERT_EQ(fast.size(), reference.size());
  for (size_t i = 0; i < fast.size(); ++i)
    ASSERT_NEAR(fast[i], reference[i], 1e-5f * (1 + std::fabs(reference[i]))) << i;
}

}  // namespace
}  // namespace nnaccel::testing
