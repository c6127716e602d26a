// Each pass on a small graph built in code: the structure changes as intended and the outputs
// agree with the unoptimized model on random inputs.
#include "ir/passes/passes.hpp"

#include <gtest/gtest.h>

#include <tuple>

#include "ir/passes_test_util.hpp"
#include "nnaccel/error.hpp"

namespace nnaccel {
namespace {

using namespace testing;


TEST(PassFoldConstants, FoldsConstantChainsAndShapeSubgraphs) {
  GraphBuilder b;
  b.input("x", {2, 3, 5});
  b.output("y");
  b.output("z");
  b.init("w", random_tensor({3, 5}, 7));
  b.node("Constant", {}, {"c"}, {Attribute::of_tensor("value", random_tensor({3, 5}, 8))});
  b.node("Add", {"c", "w"}, {"cw"});
  b.node("Exp", {"cw"}, {"e"});
  b.node("Mul", {"x", "e"}, {"y"});
  // Shape(x) is known from the declared input shape: Reshape gets a constant target.
  b.node("Flatten", {"x"}, {"f"});
  b.node("Shape", {"x"}, {"s"});
  b.node("Reshape", {"f", "s"}, {"z"});
  Model opt = b.m;
  fold_constants(opt);
  EXPECT_EQ(count_ops(opt, "Constant"), 0);
  EXPECT_EQ(count_ops(opt, "Add"), 0);
  EXPECT_EQ(count_ops(opt, "Exp"), 0);
  EXPECT_EQ(count_ops(opt, "Shape"), 0);
  EXPECT_EQ(count_ops(opt, "Mul"), 1);
  EXPECT_EQ(count_ops(opt, "Reshape"), 1);
  ASSERT_TRUE(opt.graph.initializers.count("e"));
  ASSERT_TRUE(opt.graph.initializers.count("s"));
  EXPECT_EQ(opt.graph.initializers.at("s").to_i64_vector(), (std::vector<int64_t>{2, 3, 5}));
  expect_same_outputs(b.m, opt);
}

TEST(PassFoldConstants, LeavesUnknownShapesOverridableInitializersAndLargeResults) {
  GraphBuilder b;
  b.m.graph.inputs.push_back(
      ValueInfo{"x", TypeInfo{DType::f32, true, {Dim{-1, "n"}, Dim{4, ""}}}, ""});
  b.input("bias", {4});
  b.init("bias", random_tensor({4}, 3));  // a graph input: the caller may override it
  b.init("big", random_tensor({4, 4}, 4));
  b.output("y");
  b.output("n");
  b.output("t");
  b.node("Add", {"x", "bias"}, {"a"});
  b.node("Shape", {"x"}, {"s"});  // dimension 0 is symbolic
  b.node("Cast", {"s"}, {"n"}, {Attribute::of_int("to", 1)});
  b.node("Tanh", {"big"}, {"t"});  // 16 elements, above the cap used below
  b.node("Mul", {"a", "a"}, {"y"});
  Model opt = b.m;
  fold_constants(opt, 8);
  EXPECT_EQ(count_ops(opt, "Shape"), 1);
  EXPECT_EQ(count_ops(opt, "Add"), 1);
  EXPECT_EQ(count_ops(opt, "Tanh"), 1);
  // The shape of an overridable initializer is not a constant either.
  b.m.graph.inputs[1].type = TypeInfo{DType::f32, true, {Dim{-1, "k"}}};
  b.node("Shape", {"bias"}, {"bs"});
  b.output("bs");
  Model full = b.m;
  fold_constants(full);
  EXPECT_EQ(count_ops(full, "Shape"), 2);
  EXPECT_EQ(count_ops(full, "Tanh"), 0);
  Session s0(b.m), s1(full);
  Tensor x = random_tensor({3, 4}, 9);
  auto o0 = s0.run({{"x", x}});
  auto o1 = s1.run({{"x", x}});
  for (size_t i = 0; i < o0.size(); ++i) expect_close(o1[i], o0[i]);
}

TEST(PassRemoveDeadNodes, RemovesUnreachableNodesAndInitializersKeepsSubgraphReads) {
  GraphBuilder b;
  b.input("x", {3, 2});
  b.input("cond", {}, DType::boolean);
  b.output("y");
  b.init("unused", random_tensor({5}, 1));
  b.init("k", random_tensor({3, 2}, 2));
  b.init("dead_w", random_tensor({3, 2}, 3));
  b.node("Mul", {"x", "dead_w"}, {"d1"});
  b.node("Neg", {"d1"}, {"d2"});
  b.node("Add", {"x", "k"}, {"t"});  // read only from inside the If branches
  auto then_g = std::make_shared<Graph>();
  then_g->name = "then";
  Node tn;
  tn.op_type = "Neg";
  tn.inputs = {"t"};
  tn.outputs = {"o"};
  Node dead;  // dead inside the subgraph
  dead.op_type = "Abs";
  dead.inputs = {"t"};
  dead.outputs = {"dead_in_sub"};
  then_g->nodes = {tn, dead};
  then_g->outputs = {ValueInfo{"o", {}, ""}};
  auto else_g = std::make_shared<Graph>();
  else_g->name = "else";
  Node en;
  en.op_type = "Relu";
  en.inputs = {"t"};
  en.outputs = {"o2"};
  else_g->nodes = {en};
  else_g->outputs = {ValueInfo{"o2", {}, ""}};
  Attribute ta, ea;
  ta.name = "then_branch";
  ta.kind = Attribute::Kind::g;
  ta.g = then_g;
  ea.name = "else_branch";
  ea.kind = Attribute::Kind::g;
  ea.g = else_g;
  b.node("If", {"cond"}, {"y"}, {ta, ea});
  Model opt = b.m;
  remove_dead_nodes(opt);
  EXPECT_EQ(opt.graph.nodes.size(), 2u);
  EXPECT_EQ(count_ops(opt, "Add"), 1);
  EXPECT_EQ(count_ops(opt, "Neg"), 0);
  EXPECT_FALSE(opt.graph.initializers.count("unused"));
  EXPECT_FALSE(opt.graph.initializers.count("dead_w"));
  EXPECT_TRUE(opt.graph.initializers.count("k"));
  const Graph& sub = *opt.graph.nodes.back().attr("then_branch")->g;
  EXPECT_EQ(sub.nodes.size(), 1u);
  for (bool c : {true, false}) {
    Tensor cond(DType::boolean, {});
    cond.data<bool>()[0] = c;
    Tensor x = random_tensor({3, 2}, 5);
    Session s0(b.m), s1(opt);
    expect_close(s1.run({{"x", x}, {"cond", cond}})[0], s0.run({{"x", x}, {"cond", cond}})[0]);
  }
}

// x -> Conv -> BatchNormalization -> y, with random BN statistics.
GraphBuilder conv_bn(Shape x, Shape w, bool bias, int64_t group, uint32_t seed) {
  GraphBuilder b;
  b.input("x", x);
  b.output("y");
  b.init("W", random_tensor(w, seed));
  std::vector<std::string> ins = {"x", "W"};
  if (bias) {
    b.init("B", random_tensor({w[0]}, seed + 1));
    ins.push_back("B");
  }
  b.node("Conv", ins, {"c"}, {Attribute::of_int("group", group), Attribute::of_ints("pads", {1, 0, 1, 1})});
  b.init("gamma", random_tensor({w[0]}, seed + 2, 0.5f, 2.0f));
  b.init("beta", random_tensor({w[0]}, seed + 3));
  b.init("mean", random_tensor({w[0]}, seed + 4));
  b.init("var", random_tensor({w[0]}, seed + 5, 0.1f, 3.0f));
  b.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"y"},
         {Attribute::of_float("epsilon", 1e-3f)});
  return b;
}

TEST(PassFoldBatchnorm, FoldsIntoConvWithAndWithoutBiasAndGroups) {
  struct Case {
    Shape x, w;
    bool bias;
    int64_t group;
  };
  for (const Case& c :
       {Case{{2, 3, 7, 5}, {4, 3, 3, 2}, true, 1}, Case{{1, 3, 6, 9}, {5, 3, 2, 3}, false, 1},
        Case{{3, 4, 5, 7}, {6, 2, 3, 3}, true, 2}}) {
    GraphBuilder b = conv_bn(c.x, c.w, c.bias, c.group, 11);
    Model opt = b.m;
    fold_batchnorm(opt);
    EXPECT_EQ(count_ops(opt, "BatchNormalization"), 0);
    ASSERT_EQ(count_ops(opt, "Conv"), 1);
    EXPECT_EQ(opt.graph.nodes[0].inputs.size(), 3u);
    EXPECT_EQ(opt.graph.nodes[0].outputs[0], "y");
    expect_same_outputs(b.m, opt);
    // The original weights are now unread.
    remove_dead_nodes(opt);
    EXPECT_FALSE(opt.graph.initializers.count("W"));
    EXPECT_FALSE(opt.graph.initializers.count("gamma"));
    expect_same_outputs(b.m, opt, 2);
  }
}

TEST(PassFoldBatchnorm, FoldsIntoConvTransposeWithGroups) {
  // W [C, M/group, kh, kw]: group 1 (M = 4) and group 2 (M = 2 * 3).
  for (auto [w, group, bias] :
       {std::tuple<Shape, int64_t, bool>{{3, 4, 3, 2}, 1, true}, {{4, 3, 2, 3}, 2, false}}) {
    GraphBuilder b = conv_bn({2, w[0], 5, 4}, {w[1] * group, 1, 1, 1}, bias, 1, 31);
    // conv_bn made a Conv; turn it into a ConvTranspose with the right weights.
    Node& conv = b.m.graph.nodes[0];
    conv.op_type = "ConvTranspose";
    conv.set_attr(Attribute::of_int("group", group));
    conv.set_attr(Attribute::of_ints("strides", {2, 1}));
    b.init("W", random_tensor(w, 32));
    Model opt = b.m;
    fold_batchnorm(opt);
    EXPECT_EQ(count_ops(opt, "BatchNormalization"), 0);
    expect_same_outputs(b.m, opt);
  }
}

TEST(PassFoldBatchnorm, SkipsSharedConvOutputsAndTrainingMode) {
  GraphBuilder b = conv_bn({1, 2, 5, 4}, {3, 2, 2, 2}, true, 1, 3);
  b.output("c");  // the conv output is also a graph output
  Model opt = b.m;
  fold_batchnorm(opt);
  EXPECT_EQ(count_ops(opt, "BatchNormalization"), 1);
  GraphBuilder t = conv_bn({1, 2, 5, 4}, {3, 2, 2, 2}, true, 1, 3);
  t.m.graph.nodes[1].set_attr(Attribute::of_int("training_mode", 1));
  Model opt2 = t.m;
  fold_batchnorm(opt2);
  EXPECT_EQ(count_ops(opt2, "BatchNormalization"), 1);
  GraphBuilder d = conv_bn({1, 2, 5, 4}, {3, 2, 2, 2}, true, 1, 3);
  d.m.graph.initializers.erase("W");  // dynamic weights
  d.input("W", {3, 2, 2, 2});
  Model opt3 = d.m;
  fold_batchnorm(opt3);
  EXPECT_EQ(count_ops(opt3, "BatchNormalization"), 1);
}

TEST(PassFoldBatchnorm, FoldsIntoGemm) {
  for (int trans_b : {0, 1}) {
    for (int with_c : {0, 1}) {
      GraphBuilder b;
      b.input("a", {5, 7});
      b.output("y");
      b.init("B", random_tensor(trans_b ? Shape{3, 7} : Shape{7, 3}, 20));
      std::vector<std::string> ins = {"a", "B"};
      if (with_c) {
        b.init("C", random_tensor({3}, 21));
        ins.push_back("C");
      }
      b.node("Gemm", ins, {"g"},
             {Attribute::of_int("transB", trans_b), Attribute::of_float("alpha", 0.5f), Attribute::of_float("beta", 2.0f)});
      b.init("gamma", random_tensor({3}, 22, 0.5f, 2.0f));
      b.init("beta", random_tensor({3}, 23));
      b.init("mean", random_tensor({3}, 24));
      b.init("var", random_tensor({3}, 25, 0.1f, 3.0f));
      b.node("BatchNormalization", {"g", "gamma", "beta", "mean", "var"}, {"y"});
      Model opt = b.m;
      fold_batchnorm(opt);
      EXPECT_EQ(count_ops(opt, "BatchNormalization"), 0) << trans_b << with_c;
      expect_same_outputs(b.m, opt);
    }
  }
}

TEST(PassRemoveIdentity, RemovesIdentitiesAndCollapsesReshapesAndTransposes) {
  GraphBuilder b;
  b.input("x", {2, 3, 5});
  b.output("y");
  b.output("z");
  b.init("s1", Tensor::from_i64({2}, {6, 5}));
  b.init("s2", Tensor::from_i64({3}, {5, -1, 2}));
  b.node("Identity", {"x"}, {"i1"});
  b.node("Transpose", {"i1"}, {"t1"}, {Attribute::of_ints("perm", {1, 2, 0})});
  b.node("Transpose", {"t1"}, {"t2"}, {Attribute::of_ints("perm", {2, 0, 1})});  // composes to identity
  b.node("Reshape", {"t2"}, {"r1"});
  b.m.graph.nodes.back().inputs.push_back("s1");
  b.node("Reshape", {"r1", "s2"}, {"r2"});
  b.node("Identity", {"r2"}, {"y"});  // y is a graph output
  b.node("Transpose", {"x"}, {"u1"}, {Attribute::of_ints("perm", {2, 0, 1})});
  b.node("Transpose", {"u1"}, {"u2"}, {Attribute::of_ints("perm", {0, 2, 1})});
  b.node("Sigmoid", {"u2"}, {"z"});
  Model opt = b.m;
  remove_identity_and_redundant_reshapes(opt);
  EXPECT_EQ(count_ops(opt, "Identity"), 0);
  EXPECT_EQ(count_ops(opt, "Reshape"), 1);
  EXPECT_EQ(count_ops(opt, "Transpose"), 1);
  for (const Node& n : opt.graph.nodes) {
    if (n.op_type == "Reshape") {
      EXPECT_EQ(n.inputs[0], "x");
      EXPECT_EQ(n.outputs[0], "y");
    }
    if (n.op_type == "Transpose") {
      EXPECT_EQ(n.attr_ints("perm"), (std::vector<int64_t>{2, 1, 0}));
    }
  }
  expect_same_outputs(b.m, opt);
}

TEST(PassRemoveIdentity, KeepsIdentityBetweenInputAndOutputAndReshapeWithZeroDims) {
  GraphBuilder b;
  b.input("x", {4, 3});
  b.output("y");
  b.output("z");
  b.init("s1", Tensor::from_i64({3}, {2, 2, 3}));
  b.init("s2", Tensor::from_i64({2}, {0, -1}));  // 0 copies a dimension of r1
  b.node("Identity", {"x"}, {"y"});
  b.node("Reshape", {"x", "s1"}, {"r1"});
  b.node("Reshape", {"r1", "s2"}, {"z"});
  Model opt = b.m;
  remove_identity_and_redundant_reshapes(opt);
  EXPECT_EQ(count_ops(opt, "Identity"), 1);
  EXPECT_EQ(count_ops(opt, "Reshape"), 2);
  expect_same_outputs(b.m, opt);
}

TEST(PassRemoveIdentity, KeepsIdentityReadFromASubgraph) {
  GraphBuilder b;
  b.input("x", {2, 3});
  b.input("cond", {}, DType::boolean);
  b.output("y");
  b.node("Identity", {"x"}, {"t"});
  auto branch = [](const std::string& op, const std::string& out) {
    auto sg = std::make_shared<Graph>();
    Node n;
    n.op_type = op;
    n.inputs = {"t"};  // an outer-scope read: renaming it would need scope-aware rewriting
    n.outputs = {out};
    sg->nodes = {n};
    sg->outputs = {ValueInfo{out, {}, ""}};
    return sg;
  };
  Attribute ta, ea;
  ta.name = "then_branch";
  ta.kind = Attribute::Kind::g;
  ta.g = branch("Neg", "o1");
  ea.name = "else_branch";
  ea.kind = Attribute::Kind::g;
  ea.g = branch("Abs", "o2");
  b.node("If", {"cond"}, {"y"}, {ta, ea});
  Model opt = b.m;
  remove_identity_and_redundant_reshapes(opt);
  EXPECT_EQ(count_ops(opt, "Identity"), 1);
  Tensor cond(DType::boolean, {});
  cond.data<bool>()[0] = true;
  Tensor x = random_tensor({2, 3}, 6);
  Session s0(b.m), s1(opt);
  expect_close(s1.run({{"x", x}, {"cond", cond}})[0], s0.run({{"x", x}, {"cond", cond}})[0]);
}

TEST(PassShareIdenticalInitializers, MergesEqualBytesKeepsInputsAndDifferentOnes) {
  GraphBuilder b;
  b.input("x", {2, 4});
  b.output("y");
  const Tensor w = random_tensor({4, 4}, 3);
  b.init("w_a", w);
  b.init("w_b", w.clone());                 // equal: merged into w_a
  b.init("w_c", random_tensor({4, 4}, 4));  // different bytes: kept
  b.init("w_d", w.reshaped({2, 8}));        // same bytes, another shape: kept
  b.init("w_e", w.clone());                 // equal, but a graph input: kept
  b.m.graph.inputs.push_back(ValueInfo{"w_e", TypeInfo::of(DType::f32, {4, 4}), ""});
  b.node("MatMul", {"x", "w_a"}, {"m1"});
  b.node("MatMul", {"m1", "w_b"}, {"m2"});
  b.node("MatMul", {"m2", "w_c"}, {"m3"});
  b.node("MatMul", {"m3", "w_e"}, {"m4"});
  b.node("Reshape", {"w_d", "s"}, {"r"});
  b.init("s", Tensor::from_i64({2}, {4, 4}));
  b.node("MatMul", {"m4", "r"}, {"y"});
  Model opt = b.m;
  EXPECT_EQ(share_identical_initializers(opt), 1u);
  EXPECT_EQ(opt.graph.initializers.count("w_b"), 0u);
  for (const char* kept : {"w_a", "w_c", "w_d", "w_e", "s"})
    EXPECT_EQ(opt.graph.initializers.count(kept), 1u) << kept;
  EXPECT_EQ(opt.graph.nodes[1].inputs[1], "w_a");
  expect_same_outputs(b.m, opt);
  EXPECT_EQ(share_identical_initializers(opt), 0u);
}

TEST(PassOptimize, ConstantWeightsThenBatchnormThenDeadNodes) {
  GraphBuilder b = conv_bn({2, 3, 6, 5}, {4, 3, 3, 3}, true, 1, 40);
  // The weights come through a Constant -> Identity chain: folding exposes them to the BN fold.
  Tensor w = b.m.graph.initializers.at("W");
  b.m.graph.initializers.erase("W");
  b.node("Constant", {}, {"Wc"}, {Attribute::of_tensor("value", w)});
  b.node("Identity", {"Wc"}, {"W"});
  b.node("Abs", {"x"}, {"dead"});
  Model opt = b.m;
  optimize(opt);
  ASSERT_EQ(opt.graph.nodes.size(), 1u);
  EXPECT_EQ(opt.graph.nodes[0].op_type, "Conv");
  EXPECT_EQ(opt.graph.initializers.size(), 2u);
  expect_same_outputs(b.m, opt);
}

TEST(PassPinLegacyInitializers, IrVersion3WeightsBecomeConstants) {
  GraphBuilder b;
  b.input("x", {4, 3});
  b.input("w", {2, 3});
  b.init("w", random_tensor({2, 3}, 50));
  b.output("y");
  b.node("Transpose", {"w"}, {"wt"}, {Attribute::of_ints("perm", {1, 0})});
  b.node("MatMul", {"x", "wt"}, {"y"});
  Model modern = b.m;  // IR 8: w may be overridden by the caller, so it stays an input
  optimize(modern);
  EXPECT_EQ(count_ops(modern, "Transpose"), 1);
  EXPECT_EQ(modern.graph.inputs.size(), 2u);
  b.m.ir_version = 3;
  Model legacy = b.m;
  optimize(legacy);
  EXPECT_EQ(count_ops(legacy, "Transpose"), 0);
  ASSERT_EQ(legacy.graph.inputs.size(), 1u);
  EXPECT_EQ(legacy.graph.inputs[0].name, "x");
  EXPECT_FALSE(legacy.graph.initializers.count("w"));
  expect_same_outputs(b.m, legacy);
}

}  // namespace
}  // namespace nnaccel
