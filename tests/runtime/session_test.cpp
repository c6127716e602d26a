#include <gtest/gtest.h>

#include "nnaccel/error.hpp"
#include "nnaccel/session.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {
namespace {

// x -> Relu -> Neg -> y, with the nodes listed out of order.
Model two_node_model() {
  Model m;
  m.opsets[""] = kCanonicalOpset;
  ValueInfo x{"x", TypeInfo::of(DType::f32, {2, 3}), ""};
  m.graph.inputs.push_back(x);
  m.graph.outputs.push_back(ValueInfo{"y", {}, ""});
  Node a;
  a.op_type = "Relu";
  a.name = "relu";
  a.inputs = {"x"};
  a.outputs = {"t"};
  Node b;
  b.op_type = "Neg";
  b.name = "neg";
  b.inputs = {"t"};
  b.outputs = {"y"};
  // Out of order on purpose: the verifier sorts topologically.
  m.graph.nodes = {b, a};
  return m;
}

TEST(Session, RunsNodesInTopologicalOrder) {
  if (!OpRegistry::instance().find("", "Relu") || !OpRegistry::instance().find("", "Neg"))
    GTEST_SKIP() << "elementwise ops not registered yet";
  Session s(two_node_model());
  Tensor x = Tensor::from_f32({2, 3}, {-1, 2, -3, 4, -5, 6});
  auto out = s.run({{"x", x}});
  ASSERT_EQ(out.size(), 1u);
  std::vector<float> expect = {0, -2, 0, -4, 0, -6};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[0].data<float>()[i], expect[i]);
}

TEST(Session, NamesAMissingOrIllTypedInput) {
  if (!OpRegistry::instance().find("", "Relu") || !OpRegistry::instance().find("", "Neg"))
    GTEST_SKIP() << "elementwise ops not registered yet";
  Session s(two_node_model());
  try {
    s.run();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input 'x' is missing"), std::string::npos) << e.what();
  }
  EXPECT_THROW(s.set_input("x", Tensor(DType::f64, {2, 3})), Error);
  EXPECT_THROW(s.set_input("x", Tensor(DType::f32, {3, 3})), Error);
  EXPECT_THROW(s.set_input("nope", Tensor(DType::f32, {2, 3})), Error);
}

TEST(Session, RejectsCyclesUndefinedInputsAndUnknownOps) {
  Model cyc = two_node_model();
  cyc.graph.nodes[1].inputs = {"y"};  // relu reads neg's output, neg reads relu's
  EXPECT_THROW(Session{cyc}, Error);
  Model undef = two_node_model();
  undef.graph.nodes[1].inputs = {"nowhere"};
  try {
    Session s(undef);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos);
  }
  Model unknown = two_node_model();
  for (Node& n : unknown.graph.nodes) n.op_type = "NoSuchOp";
  try {
    Session s(unknown);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown op NoSuchOp"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nnaccel
