// The fusing passes on small graphs built in code: the rewrite happens (or, where a value is
// needed elsewhere, does not) and the outputs stay the same on random inputs.
#include <gtest/gtest.h>

#include "ir/passes/passes.hpp"
#include "ir/passes_test_util.hpp"

namespace nnaccel {
namespace {

using namespace testing;

Tensor scalar(float v) {
  Tensor t(DType::f32, {});
  t.data<float>()[0] = v;
  return t;
}

std::vector<std::string> op_types(const Model& m) {
  std::vector<std::string> v;
  for (const Node& n : m.graph.nodes) v.push_back(n.op_type);
  return v;
}

const Node& only_node(const Model& m, const std::string& op) {
  for (const Node& n : m.graph.nodes)
    if (n.op_type == op) return n;
  throw Error("no " + op);
}

// Runs `pass` on a copy of b.m, checks the outputs against the original, returns the copy.
template <typename Pass>
Model rewritten(const GraphBuilder& b, Pass pass, double rtol = 1e-5) {
  Model m = b.m;
  pass(m);
  auto feeds = random_feeds(b.m, 7);
  Session before(b.m, SessionOptions{.fast = false}), after(m, SessionOptions{.fast = false});
  std::vector<Tensor> want = before.run(feeds), got = after.run(feeds);
  EXPECT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size() && i < want.size(); ++i)
    expect_close(got[i], want[i], rtol, 1e-5);
  return m;
}

// x [1,4,6,5] -> Conv (no bias) -> Add per-channel bias -> Add residual r -> Relu -> Clip(0, 6).
GraphBuilder conv_block(bool bias_as_add) {
  GraphBuilder b;
  b.input("x", {1, 4, 6, 5});
  b.input("r", {1, 6, 6, 5});
  b.init("w", random_tensor({6, 4, 3, 3}, 1));
  b.init("bias", random_tensor({1, 6, 1, 1}, 2));
  b.init("lo", scalar(0.0f));
  b.init("hi", scalar(0.4f));
  std::vector<Attribute> pads = {Attribute::of_ints("pads", {1, 1, 1, 1})};
  if (bias_as_add) {
    b.node("Conv", {"x", "w"}, {"c"}, pads);
    b.node("Add", {"bias", "c"}, {"cb"});
  } else {
    b.init("b1", random_tensor({6}, 3));
    b.node("Conv", {"x", "w", "b1"}, {"cb"}, pads);
  }
  b.node("Add", {"cb", "r"}, {"s"});
  b.node("Relu", {"s"}, {"a"});
  b.node("Clip", {"a", "lo", "hi"}, {"y"});
  b.output("y");
  return b;
}

TEST(FuseConvActivation, BiasResidualAndRelu6GoIntoOneFusedConv) {
  for (bool bias_as_add : {true, false}) {
    Model m = rewritten(conv_block(bias_as_add), fuse_conv_activation);
    ASSERT_EQ(op_types(m), std::vector<std::string>{"FusedConv"}) << bias_as_add;
    const Node& f = m.graph.nodes[0];
    EXPECT_EQ(f.domain, "ai.nnaccel");
    ASSERT_EQ(f.inputs.size(), 4u);
    EXPECT_EQ(f.inputs[3], "r");
    EXPECT_EQ(f.attr_string("activation", ""), "Clip");
    EXPECT_EQ(f.attr_floats("activation_params"), (std::vector<float>{0.0f, 0.4f}));
    EXPECT_EQ(m.opsets.at("ai.nnaccel"), 1);
  }
}

TEST(FuseConvActivation, StopsWhereAnIntermediateHasAnotherReader) {
  // The sum is also a graph output: the Conv may take bias and residual, not the activation.
  GraphBuilder b = conv_block(true);
  b.output("s");
  Model m = rewritten(b, fuse_conv_activation);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"FusedConv", "Relu", "Clip"}));
  EXPECT_EQ(only_node(m, "FusedConv").attr_string("activation", "x"), "");
  // The conv output itself is read twice: nothing fuses.
  GraphBuilder c = conv_block(false);
  c.node("Neg", {"cb"}, {"n"});
  c.output("n");
  EXPECT_EQ(count_ops(rewritten(c, fuse_conv_activation), "FusedConv"), 0);
}

TEST(FuseConvActivation, HardSwishWrittenAsHardSigmoidTimesX) {
  GraphBuilder b;
  b.input("x", {2, 3, 5, 5});
  b.init("w", random_tensor({4, 3, 1, 1}, 1));
  b.init("b", random_tensor({4}, 2));
  b.node("Conv", {"x", "w", "b"}, {"c"});
  b.node("HardSigmoid", {"c"}, {"h"},
         {Attribute::of_float("alpha", 1.0f / 6), Attribute::of_float("beta", 0.5f)});
  b.node("Mul", {"c", "h"}, {"y"});
  b.output("y");
  Model m = rewritten(b, fuse_conv_activation);
  ASSERT_EQ(op_types(m), std::vector<std::string>{"FusedConv"});
  EXPECT_EQ(m.graph.nodes[0].attr_string("activation", ""), "HardSwish");
}

// Paddle's form: Conv -> Mul(scalar) -> Add([C,1,1]) -> x * Clip(x + 3, 0, 6) / 6.
GraphBuilder paddle_block(bool shared_affine) {
  GraphBuilder b;
  b.input("x", {1, 3, 6, 6});
  b.init("w", random_tensor({5, 3, 3, 3}, 1));
  b.init("b", random_tensor({5}, 2));
  b.init("scale", scalar(1.7f));
  b.init("shift", random_tensor({5, 1, 1}, 3));
  b.init("three", scalar(3.0f));
  b.init("zero", scalar(0.0f));
  b.init("six", scalar(6.0f));
  b.node("Conv", {"x", "w", "b"}, {"c"}, {Attribute::of_ints("pads", {1, 1, 1, 1})});
  b.node("Mul", {"scale", "c"}, {"cs"});
  b.node("Add", {"cs", "shift"}, {"v"});
  b.node("Add", {"v", "three"}, {"v3"});
  b.node("Clip", {"v3", "zero", "six"}, {"r6"});
  b.node("Mul", {"v", "r6"}, {"vr"});
  b.node("Div", {"vr", "six"}, {"y"});
  b.output("y");
  if (shared_affine) b.output("cs");
  return b;
}

TEST(FoldConvAffine, ScaleAndShiftGoIntoTheWeightsAndBias) {
  Model m = rewritten(paddle_block(false), fold_conv_affine);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Conv", "Add", "Clip", "Mul", "Div"}));
  EXPECT_EQ(m.graph.nodes[0].outputs[0], "v");
  // The scaled value is a graph output: the Conv writes it, and the shift after it stays.
  Model shared = rewritten(paddle_block(true), fold_conv_affine);
  EXPECT_EQ(shared.graph.nodes[0].outputs[0], "cs");
  EXPECT_EQ(count_ops(shared, "Add"), 2);
}

TEST(FuseConvActivation, HardSwishWrittenWithClipAfterFoldedAffine) {
  GraphBuilder b = paddle_block(false);
  Model m = rewritten(b, [](Model& x) {
    fold_conv_affine(x);
    fuse_conv_activation(x);
  });
  ASSERT_EQ(op_types(m), std::vector<std::string>{"FusedConv"});
  EXPECT_EQ(m.graph.nodes[0].attr_string("activation", ""), "HardSwish");
}

TEST(FuseConvActivation, GemmAndMatMulTakeTheirActivation) {
  GraphBuilder b;
  b.input("x", {3, 8});
  b.init("w", random_tensor({5, 8}, 1));
  b.init("c", random_tensor({5}, 2));
  b.init("w2", random_tensor({5, 6}, 3));
  b.init("bias", random_tensor({1, 6}, 4));
  b.node("Gemm", {"x", "w", "c"}, {"g"}, {Attribute::of_int("transB", 1)});
  b.node("LeakyRelu", {"g"}, {"a"}, {Attribute::of_float("alpha", 0.2f)});
  b.node("MatMul", {"a", "w2"}, {"mm"});
  b.node("Add", {"mm", "bias"}, {"mb"});
  b.node("Tanh", {"mb"}, {"y"});
  b.output("y");
  Model m = rewritten(b, fuse_conv_activation);
  ASSERT_EQ(op_types(m), (std::vector<std::string>{"FusedGemm", "FusedMatMul"}));
  EXPECT_EQ(m.graph.nodes[0].attr_string("activation", ""), "LeakyRelu");
  EXPECT_EQ(m.graph.nodes[1].attr_string("activation", ""), "Tanh");
  EXPECT_EQ(m.graph.initializers.at(m.graph.nodes[1].inputs[2]).shape(), (Shape{6}));
}

TEST(FuseConvActivation, MatMulByAVariableIsLeftAlone) {
  GraphBuilder b;
  b.input("x", {3, 8});
  b.input("w", {8, 4});
  b.node("MatMul", {"x", "w"}, {"mm"});
  b.node("Relu", {"mm"}, {"y"});
  b.output("y");
  EXPECT_EQ(op_types(rewritten(b, fuse_conv_activation)),
            (std::vector<std::string>{"MatMul", "Relu"}));
}

TEST(FuseElementwiseChain, FusesARunWithBroadcastOperands) {
  GraphBuilder b;
  b.input("x", {2, 3, 4});
  b.input("o", {3, 1});
  b.init("half", scalar(0.5f));
  b.init("lo", scalar(-0.2f));
  b.node("Mul", {"half", "x"}, {"t1"});
  b.node("Sub", {"o", "t1"}, {"t2"});
  b.node("Sigmoid", {"t2"}, {"t3"});
  b.node("Clip", {"t3", "lo"}, {"t4"});
  b.node("Div", {"t4", "o"}, {"y"});
  b.output("y");
  Model m = rewritten(b, fuse_elementwise_chain);
  ASSERT_EQ(op_types(m), std::vector<std::string>{"ElementwiseChain"});
  const Node& c = m.graph.nodes[0];
  EXPECT_EQ(c.inputs, (std::vector<std::string>{"x", "half", "o", "o"}));
  EXPECT_EQ(c.attr("steps")->strings,
            (std::vector<std::string>{"Mul", "RSub", "Sigmoid", "Clip", "Div"}));
}

TEST(FuseElementwiseChain, BreaksAtGraphOutputsAndGrowingOperands) {
  GraphBuilder b;
  b.input("x", {4});
  b.input("big", {3, 4});
  b.node("Relu", {"x"}, {"t1"});
  b.node("Neg", {"t1"}, {"t2"});  // t2 is a graph output: the chain ends here
  b.node("Exp", {"t2"}, {"t3"});
  b.node("Abs", {"t3"}, {"t4"});
  b.node("Add", {"t4", "big"}, {"t5"});  // grows [4] to [3,4]: not a step of t4's chain
  b.node("Tanh", {"t5"}, {"y"});
  b.output("t2");
  b.output("y");
  Model m = rewritten(b, fuse_elementwise_chain);
  // [Relu, Neg] and [Exp, Abs]; then Add(big, t4) with big as running value and Tanh.
  EXPECT_EQ(op_types(m),
            (std::vector<std::string>{"ElementwiseChain", "ElementwiseChain", "ElementwiseChain"}));
  EXPECT_EQ(m.graph.nodes[2].inputs, (std::vector<std::string>{"big", "t4"}));
}

// LayerNorm decomposed the way torch writes it below opset 17.
GraphBuilder decomposed_layernorm(bool affine, bool square_by_mul, std::vector<int64_t> axes) {
  GraphBuilder b;
  b.input("x", {2, 3, 8});
  b.init("two", scalar(2.0f));
  b.init("eps", scalar(1e-5f));
  b.init("gamma", random_tensor({8}, 1, 0.5f, 2.0f));
  b.init("beta", random_tensor({1, 1, 8}, 2));
  b.node("ReduceMean", {"x"}, {"m"}, {Attribute::of_ints("axes", axes)});
  b.node("Sub", {"x", "m"}, {"d"});
  if (square_by_mul) {
    b.node("Mul", {"d", "d"}, {"p"});
  } else {
    b.node("Pow", {"d", "two"}, {"p"});
  }
  b.node("ReduceMean", {"p"}, {"v"}, {Attribute::of_ints("axes", axes)});
  b.node("Add", {"v", "eps"}, {"e"});
  b.node("Sqrt", {"e"}, {"s"});
  b.node("Div", {"d", "s"}, affine ? std::vector<std::string>{"n"} : std::vector<std::string>{"y"});
  if (affine) {
    b.node("Mul", {"gamma", "n"}, {"g"});
    b.node("Add", {"g", "beta"}, {"y"});
  }
  b.output("y");
  return b;
}

TEST(RecognizeLayerNorm, ReplacesTheDecompositionInItsVariants) {
  for (bool affine : {true, false})
    for (bool square_by_mul : {true, false})
      for (std::vector<int64_t> axes : {std::vector<int64_t>{-1}, std::vector<int64_t>{1, 2}}) {
        Model m =
            rewritten(decomposed_layernorm(affine, square_by_mul, axes), recognize_layernorm, 1e-4);
        ASSERT_EQ(op_types(m), std::vector<std::string>{"LayerNormalization"});
        const Node& ln = m.graph.nodes[0];
        EXPECT_EQ(ln.attr_int("axis", 0), axes.size() == 1 ? 2 : 1);
        EXPECT_FLOAT_EQ(ln.attr_float("epsilon", 0), 1e-5f);
        EXPECT_EQ(ln.inputs.size(), affine ? 3u : 2u);
      }
}

TEST(RecognizeLayerNorm, LeavesNonTrailingAxesAndSharedIntermediates) {
  Model m = rewritten(decomposed_layernorm(true, false, {1}), recognize_layernorm);
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 0);
  GraphBuilder b = decomposed_layernorm(true, false, {-1});
  b.output("v");  // the variance is needed outside
  EXPECT_EQ(count_ops(rewritten(b, recognize_layernorm), "LayerNormalization"), 0);
}

// The exact GELU: x / sqrt(2) (or x * 0.7071), with the 0.5 before or after.
GraphBuilder exact_gelu(bool by_mul, bool half_first) {
  GraphBuilder b;
  b.input("x", {3, 7});
  b.init("c", scalar(by_mul ? 0.70710677f : 1.4142135f));
  b.init("one", scalar(1.0f));
  b.init("half", scalar(0.5f));
  b.node(by_mul ? "Mul" : "Div", {"x", "c"}, {"t"});
  b.node("Erf", {"t"}, {"e"});
  b.node("Add", {"one", "e"}, {"a"});
  if (half_first) {
    b.node("Mul", {"x", "half"}, {"h"});
    b.node("Mul", {"h", "a"}, {"y"});
  } else {
    b.node("Mul", {"x", "a"}, {"xa"});
    b.node("Mul", {"xa", "half"}, {"y"});
  }
  b.output("y");
  return b;
}

TEST(RecognizeGelu, ExactVariants) {
  for (bool by_mul : {true, false})
    for (bool half_first : {true, false}) {
      Model m = rewritten(exact_gelu(by_mul, half_first), recognize_gelu);
      ASSERT_EQ(op_types(m), std::vector<std::string>{"Gelu"}) << by_mul << half_first;
      EXPECT_EQ(m.graph.nodes[0].attr_string("approximate", ""), "none");
      EXPECT_EQ(m.graph.nodes[0].inputs, std::vector<std::string>{"x"});
    }
}

TEST(RecognizeGelu, TanhApproximationWithPow) {
  GraphBuilder b;
  b.input("x", {4, 5});
  b.init("three", scalar(3.0f));
  b.init("k", scalar(0.044715f));
  b.init("s", scalar(0.7978846f));
  b.init("one", scalar(1.0f));
  b.init("half", scalar(0.5f));
  b.node("Pow", {"x", "three"}, {"x3"});
  b.node("Mul", {"x3", "k"}, {"kx3"});
  b.node("Add", {"kx3", "x"}, {"in"});
  b.node("Mul", {"in", "s"}, {"u"});
  b.node("Tanh", {"u"}, {"t"});
  b.node("Add", {"t", "one"}, {"a"});
  b.node("Mul", {"half", "a"}, {"ha"});
  b.node("Mul", {"ha", "x"}, {"y"});
  b.output("y");
  Model m = rewritten(b, recognize_gelu);
  ASSERT_EQ(op_types(m), std::vector<std::string>{"Gelu"});
  EXPECT_EQ(m.graph.nodes[0].attr_string("approximate", ""), "tanh");
}

TEST(RecognizeGelu, WrongConstantOrSharedValueIsNoGelu) {
  GraphBuilder b = exact_gelu(false, false);
  b.m.graph.initializers["half"] = scalar(0.25f);
  EXPECT_EQ(count_ops(rewritten(b, recognize_gelu), "Gelu"), 0);
  GraphBuilder c = exact_gelu(true, true);
  c.output("e");
  EXPECT_EQ(count_ops(rewritten(c, recognize_gelu), "Gelu"), 0);
}

TEST(RemoveRedundantTranspose, UnitDimTransposeBecomesAReshapeAndMerges) {
  GraphBuilder b;
  b.input("x", {2, 1, 6});
  b.init("shape", [] {
    Tensor t(DType::i64, {2});
    t.data<int64_t>()[0] = 3;
    t.data<int64_t>()[1] = 4;
    return t;
  }());
  b.node("Transpose", {"x"}, {"t"}, {Attribute::of_ints("perm", {1, 0, 2})});
  b.node("Reshape", {"t", "shape"}, {"y"});
  // A transpose that moves data stays.
  b.node("Transpose", {"x"}, {"z"}, {Attribute::of_ints("perm", {2, 1, 0})});
  b.output("y");
  b.output("z");
  Model m = rewritten(b, remove_redundant_transpose);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Reshape", "Transpose"}));
  EXPECT_EQ(m.graph.nodes[0].inputs[0], "x");
}

TEST(Optimize, WithoutFusionOnlyStandardOpsRemain) {
  GraphBuilder b = conv_block(true);
  Model standard = b.m, fused = b.m;
  optimize(standard, OptimizeOptions{.fuse = false});
  optimize(fused);
  for (const Node& n : standard.graph.nodes) EXPECT_EQ(n.domain, "") << n.op_type;
  EXPECT_EQ(op_types(fused), std::vector<std::string>{"FusedConv"});
  expect_same_outputs(b.m, standard);
  expect_same_outputs(b.m, fused);
}

}  // namespace
}  // namespace nnaccel
