#include <gtest/gtest.h>

#include <map>
#include <memory>
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
  opts.fast = false;  // node by node: the fast path fuses the chain into one ElementwiseChain
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
  // The figures above are node by node; the fast path fuses the chain (no t2, t3 at all).
  Session s(chain_model(), SessionOptions{.fast = false});
  EXPECT_EQ(s.weight_bytes(), 12u);
  EXPECT_EQ(s.peak_activation_bytes(), 0u);
  s.run({{"x", Tensor(DType::f32, {2, 3})}});
  EXPECT_EQ(s.peak_activation_bytes(), 72u);
  s.run();  // a second run does not add to the first
  EXPECT_EQ(s.peak_activation_bytes(), 72u);
}

// If(cond) { Neg(a) } else { Relu(a) }, a of 2 floats: branch nodes get records of their own.
TEST(Profile, RecordsNodesOfSubgraphs) {
  if (!ops_available() || !OpRegistry::instance().find("", "If"))
    GTEST_SKIP() << "ops not registered yet";
  auto branch = [](const std::string& name, const std::string& op) {
    Graph g;
    g.name = name;
    g.nodes = {node(op, name + "_node", {"a"}, {name + "_out"})};
    g.outputs = {ValueInfo{name + "_out", TypeInfo::of(DType::f32, {2}), ""}};
    Attribute at;
    at.name = name + "_branch";
    at.kind = Attribute::Kind::g;
    at.g = std::make_shared<Graph>(std::move(g));
    return at;
  };
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.graph.inputs = {ValueInfo{"cond", TypeInfo::of(DType::boolean, {}), ""},
                    ValueInfo{"a", TypeInfo::of(DType::f32, {2}), ""}};
  Node n = node("If", "if", {"cond"}, {"res"});
  n.attrs = {branch("then", "Neg"), branch("else", "Relu")};
  m.graph.nodes = {n};
  m.graph.outputs = {ValueInfo{"res", TypeInfo::of(DType::f32, {2}), ""}};
  SessionOptions opts;
  opts.profile = true;
  Session s(m, opts);
  Tensor yes(DType::boolean, {}), no(DType::boolean, {});
  yes.data<bool>()[0] = true;
  Tensor a = Tensor::from_f32({2}, {-1, 2});
  EXPECT_EQ(s.run({{"cond", yes}, {"a", a}})[0].to_f32_vector(), (std::vector<float>{1, -2}));
  s.run();
  EXPECT_EQ(s.run({{"cond", no}, {"a", a}})[0].to_f32_vector(), (std::vector<float>{0, 2}));
  std::map<std::string, uint64_t> calls;
  for (const NodeTiming& t : s.profile()) calls[t.name] = t.calls;
  EXPECT_EQ(calls,
            (std::map<std::string, uint64_t>{{"if", 3}, {"then_node", 2}, {"else_node", 1}}));
  // The branch's output (8 bytes) dies with the branch's scope before If's output is set.
  EXPECT_EQ(s.peak_activation_bytes(), 8u);
}

}  // namespace
}  // namespace nnaccel
