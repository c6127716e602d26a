// The structural verifier: topological order, single producers, defined inputs, subgraph scopes.
#include "ir/verifier.hpp"

#include <gtest/gtest.h>

#include "nnaccel/error.hpp"

namespace nnaccel {
namespace {

Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  Node n;
  n.op_type = op;
  n.name = out.empty() ? op : out[0];
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

Graph chain() {
  Graph g;
  g.inputs = {ValueInfo{"x", TypeInfo::of(DType::f32, {2}), ""}};
  g.outputs = {ValueInfo{"y", {}, ""}};
  g.nodes = {node("Neg", {"b"}, {"y"}), node("Relu", {"a"}, {"b"}), node("Abs", {"x"}, {"a"})};
  return g;
}

std::string error_of(Graph& g) {
  try {
    verify_graph(g);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> ops(const Graph& g) {
  std::vector<std::string> r;
  for (const Node& n : g.nodes) r.push_back(n.op_type);
  return r;
}

TEST(Verifier, SortsTopologicallyAndKeepsIndependentNodesInFileOrder) {
  Graph g = chain();
  g.nodes.push_back(node("Sigmoid", {"x"}, {"s"}));  // independent: stays after Abs
  g.nodes.insert(g.nodes.begin(), node("Tanh", {"x"}, {"t"}));
  ASSERT_EQ(error_of(g), "");
  EXPECT_EQ(ops(g), (std::vector<std::string>{"Tanh", "Abs", "Relu", "Neg", "Sigmoid"}));
  Graph sorted = g;
  ASSERT_EQ(error_of(sorted), "");
  EXPECT_EQ(ops(sorted), ops(g));  // stable on an ordered graph
}

TEST(Verifier, RejectsCyclesSelfLoopsAndUndefinedInputs) {
  Graph g = chain();
  g.nodes[2].inputs = {"y"};
  EXPECT_NE(error_of(g).find("cycle"), std::string::npos);
  Graph self = chain();
  self.nodes[0].inputs = {"y"};
  EXPECT_NE(error_of(self).find("cycle"), std::string::npos);
  Graph undef = chain();
  undef.nodes[2].inputs = {"ghost"};
  EXPECT_NE(error_of(undef).find("input 'ghost' is not produced"), std::string::npos);
}

TEST(Verifier, RejectsDuplicateProducersAndOverwrittenInputs) {
  Graph g = chain();
  g.nodes.push_back(node("Exp", {"x"}, {"a"}));
  EXPECT_NE(error_of(g).find("output 'a' is also produced by"), std::string::npos);
  Graph over = chain();
  over.nodes.push_back(node("Exp", {"a"}, {"x"}));
  EXPECT_NE(error_of(over).find("overwrites a graph input"), std::string::npos);
  Graph init = chain();
  init.initializers["w"] = Tensor::from_f32({1}, {1});
  init.nodes.push_back(node("Exp", {"a"}, {"w"}));
  EXPECT_NE(error_of(init).find("overwrites a graph input or initializer"), std::string::npos);
  Graph twice = chain();
  twice.inputs.push_back(twice.inputs[0]);
  EXPECT_NE(error_of(twice).find("graph input 'x' is listed twice"), std::string::npos);
}

TEST(Verifier, OptionalInputsMayBeEmptyAndOutputsMustExist) {
  Graph g = chain();
  g.nodes[0].inputs = {"b", ""};
  EXPECT_EQ(error_of(g), "");
  Graph missing = chain();
  missing.outputs.push_back(ValueInfo{"nowhere", {}, ""});
  EXPECT_NE(error_of(missing).find("graph output 'nowhere'"), std::string::npos);
  Graph passthrough = chain();
  passthrough.outputs.push_back(ValueInfo{"x", {}, ""});  // an input may be an output
  EXPECT_EQ(error_of(passthrough), "");
}

Attribute graph_attr(const std::string& name, Graph g) {
  return Attribute::of_graph(name, std::make_shared<Graph>(std::move(g)));
}

TEST(Verifier, SubgraphsReadOuterValuesAndOrderTheirNode) {
  // The If's branch reads "a", produced by a node listed after the If.
  Graph branch;
  branch.outputs = {ValueInfo{"r", {}, ""}};
  branch.nodes = {node("Neg", {"a"}, {"r"})};
  Graph g;
  g.inputs = {ValueInfo{"c", TypeInfo::of(DType::boolean, {}), ""},
              ValueInfo{"x", TypeInfo::of(DType::f32, {2}), ""}};
  g.outputs = {ValueInfo{"y", {}, ""}};
  Node iff = node("If", {"c"}, {"y"});
  iff.attrs = {graph_attr("then_branch", branch), graph_attr("else_branch", branch)};
  g.nodes = {iff, node("Abs", {"x"}, {"a"})};
  ASSERT_EQ(error_of(g), "");
  EXPECT_EQ(ops(g), (std::vector<std::string>{"Abs", "If"}));

  Graph bad = g;
  bad.nodes[1].attrs[0].g->nodes[0].inputs = {"ghost"};
  EXPECT_NE(error_of(bad).find("'ghost'"), std::string::npos);
}

TEST(Verifier, GraphAttributesOnlyWhereTheOpTakesThem) {
  Graph g = chain();
  g.nodes[0].attrs.push_back(graph_attr("body", Graph{}));
  EXPECT_NE(error_of(g).find("attribute 'body' holds a graph, which Neg does not take"),
            std::string::npos);
  Graph wrong_name = chain();
  Node iff = node("If", {"x"}, {"z"});
  iff.attrs.push_back(graph_attr("body", Graph{}));
  wrong_name.nodes.push_back(iff);
  EXPECT_NE(error_of(wrong_name).find("attribute 'body' holds a graph"), std::string::npos);
  Graph custom = chain();
  custom.nodes[0].domain = "com.example";  // other domains: their own rules
  custom.nodes[0].attrs.push_back(graph_attr("anything", Graph{}));
  EXPECT_EQ(error_of(custom), "");
}

}  // namespace
}  // namespace nnaccel
