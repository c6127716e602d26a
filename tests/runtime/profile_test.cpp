#include <gtest/gtest.h>

#include <set>

#include "nnaccel/session.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {
namespace {

Node node(const std::string& op, const std::string& name, std::vector<std::string> in,
          std::vector<std::string> out) {
  Node n;
  n.op_type = op;
  n.name = name;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// x[2,3] -> Relu t1 -> Neg t2 -> Add(t1, t2) t3 -> Add(t3, w) y, w an
// initializer of 3 floats. Every intermediate is 24 bytes. Live after each
// node: t1 = 24; t1 t2 = 48; t1 t2 t3 = 72 (then t1 and t2 are freed: 24); t3 y
// = 48 (then t3 is freed). Peak: 72.
Model chain_model() {
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.graph.inputs.push_back(ValueInfo{"x", TypeInfo::of(DType::f32, {2, 3}), ""});
  m.graph.outputs.push_back(ValueInfo{"y", {}, ""});
  m.graph.initializers["w"] = Tensor::from_f32({3}, {1, 2, 3});
  m.graph.nodes = {node("Relu", "relu", {"x"}, {"t1"}), node("Neg", "neg", {"t1"}, {"t2"}),
                   node("Add", "add1", {"t1", "t2"}, {"t3"}),
                   node("Add", "add2", {"t3", "w"}, {"y"})};
  return m;
}

bool ops_available() {
  const OpRegistry& r = OpRegistry::instance();
  return r.find("", "Relu") && r.find("", "Neg") && r.find("", "Add");
}

TEST(Profile, ListsEachNodeOncePerRun) {
  if (!ops_available()) GTEST_SKIP() << "elementwise ops not registered yet";
  SessionOptions opts;
  opts.profile = true;
  Session s(chain_model(), opts);
  EXPECT_TRUE(s.profile().empty());
  Tensor x = Tensor::from_f32({2, 3}, {-1, 2, -3, 4, -5, 6});
  auto out = s.run({{"x", x}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data<float>()[1], 2.0f);  // relu(2) + neg(relu(2)) + w[1] = 2
  s.run();
  std::vector<NodeTiming> p = s.profile();
  ASSERT_EQ(p.size(), 4u);
  std::multiset<std::string> names;
  for (const NodeTiming& t : p) {
    names.insert(t.name);
    EXPECT_EQ(t.calls, 2u) << t.name;
    EXPECT_GE(t.total_ns, 0u) << t.name;
  }
  EXPECT_EQ(names, (std::multiset<std::string>{"relu", "neg", "add1", "add2"}));
  for (const NodeTiming& t : p) {
    if (t.name == "relu") {
      EXPECT_EQ(t.op_type, "Relu");
    }
    if (t.name == "add2") {
      EXPECT_EQ(t.op_type, "Add");
    }
  }
}

TEST(Profile, OffRecordsNothing) {
  if (!ops_available()) GTEST_SKIP() << "elementwise ops not registered yet";
  Session s(chain_model());
  s.run({{"x", Tensor(DType::f32, {2, 3})}});
  EXPECT_TRUE(s.profile().empty());
}

TEST(Profile, PeakActivationAndWeightBytes) {
  if (!ops_available()) GTEST_SKIP() << "elementwise ops not registered yet";
  Session s(chain_model());
  EXPECT_EQ(s.weight_bytes(), 12u);
  EXPECT_EQ(s.peak_activation_bytes(), 0u);
  s.run({{"x", Tensor(DType::f32, {2, 3})}});
  EXPECT_EQ(s.peak_activation_bytes(), 72u);
  s.run();  // a second run does not add to the first
  EXPECT_EQ(s.peak_activation_bytes(), 72u);
}

}  // namespace
}  // namespace nnaccel
