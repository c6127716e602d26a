// The legacy opset upgrade, rule by rule: the rewritten structure, ONNX's checker and strict shape
// inference on the result, and (when the kernels are registered) the values.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "nnaccel/error.hpp"
#include "nnaccel/session.hpp"
#include "onnx/onnx_test_util.hpp"
#include "onnx/proto_builder.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {
namespace {

using testing::onnx_validate;
using testing::ProtoBuilder;
using TP = onnx::TensorProto;

Model load(const ProtoBuilder& b) { return load_onnx_bytes(b.bytes(), ""); }

// Loads, checks the result with ONNX's checker and shape inference, returns the model.
Model load_checked(const ProtoBuilder& b) {
  Model m = load(b);
  EXPECT_EQ(m.opsets.at(""), kCanonicalOpset);
  std::string err = onnx_validate(serialize_onnx(m));
  EXPECT_EQ(err, "");
  return m;
}

const Node& only_node(const Model& m, const std::string& op) {
  const Node* found = nullptr;
  for (const Node& n : m.graph.nodes)
    if (n.op_type == op) {
      EXPECT_EQ(found, nullptr) << "two " << op << " nodes";
      found = &n;
    }
  if (found == nullptr) throw Error("no " + op + " node");
  return *found;
}

std::vector<int64_t> init_i64(const Model& m, const std::string& name) {
  auto it = m.graph.initializers.find(name);
  if (it == m.graph.initializers.end()) throw Error("no initializer " + name);
  EXPECT_EQ(it->second.dtype(), DType::i64);
  return it->second.to_i64_vector();
}

bool all_registered(const Graph& g) {
  for (const Node& n : g.nodes) {
    if (OpRegistry::instance().find(n.domain, n.op_type) == nullptr) return false;
    for (const Attribute& a : n.attrs) {
      if (a.g && !all_registered(*a.g)) return false;
      for (const auto& sg : a.graphs)
        if (!all_registered(*sg)) return false;
    }
  }
  return true;
}

// Runs the model when every op it uses has a kernel; nullopt otherwise (structure tests still ran).
std::optional<std::vector<Tensor>> run_if_possible(Model m, std::map<std::string, Tensor> feeds) {
  if (!all_registered(m.graph)) return std::nullopt;
  Session s(std::move(m));
  return s.run(feeds);
}

Tensor iota_f32(const Shape& shape, float start = 0) {
  Tensor t(DType::f32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

TEST(LegacyUpgrade, UnsqueezeAndSqueezeAxesBecomeInputs) {
  ProtoBuilder b(11);
  b.input("x", {3, 4});
  b.output("y", {3, 1, 4});
  b.output("z", {3, 4});
  ProtoBuilder::set_ints(b.node("Unsqueeze", {"x"}, {"y"}), "axes", {1});
  ProtoBuilder::set_ints(b.node("Squeeze", {"y"}, {"z"}), "axes", {-2});
  Model m = load_checked(b);
  const Node& u = only_node(m, "Unsqueeze");
  ASSERT_EQ(u.inputs.size(), 2u);
  EXPECT_FALSE(u.has_attr("axes"));
  EXPECT_EQ(init_i64(m, u.inputs[1]), (std::vector<int64_t>{1}));
  EXPECT_EQ(init_i64(m, only_node(m, "Squeeze").inputs[1]), (std::vector<int64_t>{-2}));
}

TEST(LegacyUpgrade, UnsqueezeWithoutAxesIsAnError) {
  ProtoBuilder b(11);
  b.input("x", {3});
  b.output("y", {});
  b.node("Unsqueeze", {"x"}, {"y"});
  EXPECT_THROW(load(b), Error);
}

TEST(LegacyUpgrade, NewerInputFormUnderAnOldOpsetIsKept) {
  ProtoBuilder b(11);  // exporters sometimes write opset-13 forms into opset-11 files
  b.input("x", {3, 4});
  b.init_i64("axes", {1}, {1});
  b.output("y", {3, 1, 4});
  b.node("Unsqueeze", {"x", "axes"}, {"y"});
  Model m = load_checked(b);
  EXPECT_EQ(only_node(m, "Unsqueeze").inputs, (std::vector<std::string>{"x", "axes"}));
}

TEST(LegacyUpgrade, ReduceSumAxesBecomeInputAndEmptyAxesMeanAll) {
  ProtoBuilder b(11);
  b.input("x", {2, 3, 4});
  b.output("y", {2, 4});
  b.output("z", {1, 1, 1});
  auto* n = b.node("ReduceSum", {"x"}, {"y"});
  ProtoBuilder::set_ints(n, "axes", {1});
  ProtoBuilder::set_i(n, "keepdims", 0);
  ProtoBuilder::set_ints(b.node("ReduceSum", {"x"}, {"z"}), "axes", {});
  Model m = load_checked(b);
  ASSERT_EQ(m.graph.nodes.size(), 2u);
  EXPECT_EQ(init_i64(m, m.graph.nodes[0].inputs[1]), (std::vector<int64_t>{1}));
  EXPECT_EQ(m.graph.nodes[1].inputs.size(), 1u);
  auto out = run_if_possible(m, {{"x", iota_f32({2, 3, 4})}});
  if (out) {
    EXPECT_FLOAT_EQ((*out)[0].data<float>()[0], 0 + 4 + 8);
    EXPECT_FLOAT_EQ((*out)[1].data<float>()[0], 23 * 24 / 2);
  }
}

TEST(LegacyUpgrade, SplitSizesBecomeAnInt64Input) {
  ProtoBuilder b(2);
  b.input("x", {6});
  b.output("a", {2});
  b.output("c", {4});
  auto* n = b.node("Split", {"x"}, {"a", "c"});
  ProtoBuilder::set_ints(n, "split", {2, 4});
  Model m = load_checked(b);
  const Node& s = only_node(m, "Split");
  EXPECT_EQ(init_i64(m, s.inputs[1]), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(s.attr_int("axis", -1), 0);
}

TEST(LegacyUpgrade, SplitOneTakesFloatSizesAsAnInput) {
  ProtoBuilder b(1);
  b.input("x", {6});
  b.init_f32("sizes", {2}, {1, 5});
  b.output("a", {1});
  b.output("c", {5});
  b.node("Split", {"x", "sizes"}, {"a", "c"});
  Model m = load(b);
  EXPECT_EQ(init_i64(m, only_node(m, "Split").inputs[1]), (std::vector<int64_t>{1, 5}));
}

TEST(LegacyUpgrade, SliceBoundsBecomeInputs) {
  ProtoBuilder b(9);
  b.input("x", {4, 5});
  b.output("y", {4, 2});
  auto* n = b.node("Slice", {"x"}, {"y"});
  ProtoBuilder::set_ints(n, "starts", {1});
  ProtoBuilder::set_ints(n, "ends", {3});
  ProtoBuilder::set_ints(n, "axes", {1});
  Model m = load_checked(b);
  const Node& s = only_node(m, "Slice");
  ASSERT_EQ(s.inputs.size(), 4u);
  EXPECT_EQ(init_i64(m, s.inputs[1]), (std::vector<int64_t>{1}));
  EXPECT_EQ(init_i64(m, s.inputs[2]), (std::vector<int64_t>{3}));
  EXPECT_EQ(init_i64(m, s.inputs[3]), (std::vector<int64_t>{1}));
  auto out = run_if_possible(m, {{"x", iota_f32({4, 5})}});
  if (out) {
    EXPECT_EQ((*out)[0].to_f32_vector(), (std::vector<float>{1, 2, 6, 7, 11, 12, 16, 17}));
  }
}

TEST(LegacyUpgrade, PadAttributesBecomeInputsOfTheDataType) {
  for (const char* attr : {"pads", "paddings"}) {
    ProtoBuilder b(std::string(attr) == "pads" ? 2 : 1);
    b.input("x", {1, 2}, TP::DOUBLE);
    b.output("y", {1, 5}, TP::DOUBLE);
    auto* n = b.node("Pad", {"x"}, {"y"});
    ProtoBuilder::set_ints(n, attr, {0, 1, 0, 2});
    ProtoBuilder::set_f(n, "value", 1.5f);
    Model m = load_checked(b);
    const Node& p = only_node(m, "Pad");
    ASSERT_EQ(p.inputs.size(), 3u);
    EXPECT_EQ(init_i64(m, p.inputs[1]), (std::vector<int64_t>{0, 1, 0, 2}));
    const Tensor& v = m.graph.initializers.at(p.inputs[2]);
    EXPECT_EQ(v.dtype(), DType::f64);
    EXPECT_EQ(v.rank(), 0);
    EXPECT_EQ(v.at_f64(0), 1.5);
  }
}

TEST(LegacyUpgrade, ClipBoundsBecomeOptionalInputs) {
  ProtoBuilder b(6);
  b.input("x", {4});
  b.output("y", {4});
  b.output("z", {4});
  ProtoBuilder::set_f(b.node("Clip", {"x"}, {"y"}), "max", 2.0f);
  auto* n = b.node("Clip", {"x"}, {"z"});
  ProtoBuilder::set_f(n, "min", -1.0f);
  Model m = load_checked(b);
  const Node& hi = m.graph.nodes[0];
  ASSERT_EQ(hi.inputs.size(), 3u);
  EXPECT_EQ(hi.inputs[1], "");
  EXPECT_EQ(m.graph.initializers.at(hi.inputs[2]).at_f64(0), 2.0);
  const Node& lo = m.graph.nodes[1];
  ASSERT_EQ(lo.inputs.size(), 2u);
  EXPECT_EQ(m.graph.initializers.at(lo.inputs[1]).dtype(), DType::f32);
  auto out = run_if_possible(m, {{"x", Tensor::from_f32({4}, {-3, 0, 1, 5})}});
  if (out) {
    EXPECT_EQ((*out)[0].to_f32_vector(), (std::vector<float>{-3, 0, 1, 2}));
    EXPECT_EQ((*out)[1].to_f32_vector(), (std::vector<float>{-1, 0, 1, 5}));
  }
}

TEST(LegacyUpgrade, ClipOfUnknownTypeUsesCastLike) {
  ProtoBuilder b(6);
  b.input("x", {}, TP::FLOAT, false);
  b.graph().mutable_input(0)->clear_type();
  b.output("y", {}, TP::FLOAT, false);
  ProtoBuilder::set_f(b.node("Clip", {"x"}, {"y"}), "min", 0.0f);
  Model m = load(b);
  const Node& c = only_node(m, "CastLike");
  EXPECT_EQ(c.inputs[1], "x");
  EXPECT_EQ(only_node(m, "Clip").inputs[1], c.outputs[0]);
}

TEST(LegacyUpgrade, TopKAndReshapeAttributesBecomeInputs) {
  ProtoBuilder b(4);
  b.input("x", {2, 6});
  b.output("v", {2, 3});
  b.output("i", {2, 3}, TP::INT64);
  b.output("r", {3, 4});
  ProtoBuilder::set_i(b.node("TopK", {"x"}, {"v", "i"}), "k", 3);
  ProtoBuilder::set_ints(b.node("Reshape", {"x"}, {"r"}), "shape", {3, -1});
  Model m = load_checked(b);
  EXPECT_EQ(init_i64(m, only_node(m, "TopK").inputs[1]), (std::vector<int64_t>{3}));
  EXPECT_EQ(init_i64(m, only_node(m, "Reshape").inputs[1]), (std::vector<int64_t>{3, -1}));
}

TEST(LegacyUpgrade, TileOneBecomesRepeatsPerAxis) {
  ProtoBuilder b(5);
  b.input("x", {2, 3});
  b.init_i64("tiles", {}, {4});
  b.init_i64("axis", {}, {1});
  b.output("y", {2, 12});
  b.node("Tile", {"x", "tiles", "axis"}, {"y"});
  Model m = load_checked(b);
  EXPECT_EQ(init_i64(m, only_node(m, "Tile").inputs[1]), (std::vector<int64_t>{1, 4}));
}

TEST(LegacyUpgrade, DropoutDropsIsTestAndCastsTheOldMask) {
  ProtoBuilder b(7);
  b.input("x", {3});
  b.output("y", {3});
  b.output("mask", {3});
  auto* n = b.node("Dropout", {"x"}, {"y", "mask"});
  ProtoBuilder::set_f(n, "ratio", 0.25f);
  Model m = load_checked(b);
  const Node& d = only_node(m, "Dropout");
  EXPECT_FALSE(d.has_attr("ratio"));
  ASSERT_EQ(d.inputs.size(), 2u);
  EXPECT_FLOAT_EQ(m.graph.initializers.at(d.inputs[1]).data<float>()[0], 0.25f);
  const Node& c = only_node(m, "CastLike");
  EXPECT_EQ(c.inputs, (std::vector<std::string>{d.outputs[1], "x"}));
  EXPECT_EQ(c.outputs[0], "mask");
}

// --- legacy broadcasting ---

Model broadcast_model(bool known_rank, bool constant_b) {
  ProtoBuilder b(6);
  b.input("a", {2, 3, 4}, TP::FLOAT, known_rank);
  if (constant_b) b.init_f32("b", {3}, {10, 20, 30});
  else b.input("b", {3});
  b.output("c", {2, 3, 4});
  auto* n = b.node("Add", {"a", "b"}, {"c"});
  ProtoBuilder::set_i(n, "broadcast", 1);
  ProtoBuilder::set_i(n, "axis", 1);
  return load_onnx_bytes(b.bytes(), "");
}

void expect_axis1_broadcast(const Model& m, bool constant_b) {
  std::map<std::string, Tensor> feeds = {{"a", iota_f32({2, 3, 4})}};
  if (!constant_b) feeds["b"] = Tensor::from_f32({3}, {10, 20, 30});
  auto out = run_if_possible(m, feeds);
  if (!out) return;
  const float* c = (*out)[0].data<float>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        EXPECT_EQ(c[(i * 3 + j) * 4 + k], static_cast<float>((i * 3 + j) * 4 + k + 10 * (j + 1)));
}

TEST(LegacyUpgrade, BroadcastWithAxisUnsqueezesB) {
  Model m = broadcast_model(true, false);
  EXPECT_EQ(onnx_validate(serialize_onnx(m)), "");
  const Node& add = only_node(m, "Add");
  EXPECT_FALSE(add.has_attr("broadcast"));
  EXPECT_FALSE(add.has_attr("axis"));
  const Node& u = only_node(m, "Unsqueeze");
  EXPECT_EQ(u.inputs[0], "b");
  EXPECT_EQ(init_i64(m, u.inputs[1]), (std::vector<int64_t>{1}));
  EXPECT_EQ(add.inputs[1], u.outputs[0]);
  expect_axis1_broadcast(m, false);
}

TEST(LegacyUpgrade, BroadcastWithAxisReshapesAConstantB) {
  Model m = broadcast_model(true, true);
  EXPECT_EQ(onnx_validate(serialize_onnx(m)), "");
  const Node& add = only_node(m, "Add");
  ASSERT_NE(add.inputs[1], "b");
  EXPECT_EQ(m.graph.initializers.at(add.inputs[1]).shape(), (Shape{3, 1}));
  EXPECT_EQ(m.graph.initializers.at("b").shape(), (Shape{3}));  // others may read it
  expect_axis1_broadcast(m, true);
}

TEST(LegacyUpgrade, BroadcastWithAxisOfUnknownRankReshapesAtRunTime) {
  Model m = broadcast_model(false, false);  // (ONNX's checker wants input shapes: not checked)
  const Node& add = only_node(m, "Add");
  EXPECT_EQ(only_node(m, "Reshape").outputs[0], add.inputs[1]);
  expect_axis1_broadcast(m, false);
}

TEST(LegacyUpgrade, BroadcastAxisThatDoesNotFitIsAnError) {
  ProtoBuilder b(6);
  b.input("a", {2, 3});
  b.input("b", {3, 2});
  b.output("c", {2, 3});
  auto* n = b.node("Mul", {"a", "b"}, {"c"});
  ProtoBuilder::set_i(n, "broadcast", 1);
  ProtoBuilder::set_i(n, "axis", 1);
  EXPECT_THROW(load(b), Error);
}

TEST(LegacyUpgrade, BroadcastWithoutAxisIsNumpyBroadcasting) {
  ProtoBuilder b(6);
  b.input("a", {2, 3});
  b.input("b", {3});
  b.output("c", {2, 3});
  ProtoBuilder::set_i(b.node("Sub", {"a", "b"}, {"c"}), "broadcast", 1);
  Model m = load_checked(b);
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  EXPECT_TRUE(m.graph.nodes[0].attrs.empty());
}

TEST(LegacyUpgrade, PReluSlopePerChannelGetsTrailingOnes) {
  ProtoBuilder b(6);
  b.input("x", {1, 2, 2, 2});
  b.init_f32("slope", {2}, {0.5f, 0.25f});
  b.output("y", {1, 2, 2, 2});
  b.node("PRelu", {"x", "slope"}, {"y"});
  Model m = load_checked(b);
  const Node& p = only_node(m, "PRelu");
  EXPECT_EQ(m.graph.initializers.at(p.inputs[1]).shape(), (Shape{2, 1, 1}));
  auto out = run_if_possible(m, {{"x", Tensor::from_f32({1, 2, 2, 2}, {-4, 4, -4, 4, -4, 4, -4, 4})}});
  if (out) {
    EXPECT_EQ((*out)[0].to_f32_vector(), (std::vector<float>{-2, 4, -2, 4, -1, 4, -1, 4}));
  }
}

TEST(LegacyUpgrade, GemmLosesBroadcast) {
  ProtoBuilder b(6);
  b.input("a", {2, 3});
  b.input("w", {3, 4});
  b.input("c", {4});
  b.output("y", {2, 4});
  ProtoBuilder::set_i(b.node("Gemm", {"a", "w", "c"}, {"y"}), "broadcast", 1);
  Model m = load_checked(b);
  EXPECT_FALSE(only_node(m, "Gemm").has_attr("broadcast"));
}

// --- Softmax's 2-D coercion ---

TEST(LegacyUpgrade, SoftmaxOnTheLastAxisStaysOneNode) {
  ProtoBuilder b(11);
  b.input("x", {2, 5});
  b.output("y", {2, 5});
  b.node("Softmax", {"x"}, {"y"});  // default axis 1 == last
  Model m = load_checked(b);
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  EXPECT_EQ(m.graph.nodes[0].attr_int("axis", 0), -1);
}

TEST(LegacyUpgrade, SoftmaxCoercesToTwoDimensions) {
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    ProtoBuilder b(11);
    b.input("x", {2, 3, 2});
    b.output("y", {2, 3, 2});
    b.node(op, {"x"}, {"y"});  // axis 1: normalize over the last two dims together
    Model m = load_checked(b);
    const Node& f = only_node(m, "Flatten");
    EXPECT_EQ(f.attr_int("axis", 0), 1);
    EXPECT_EQ(only_node(m, op).attr_int("axis", 0), -1);
    EXPECT_EQ(only_node(m, "Reshape").outputs[0], "y");
    if (std::string(op) != "Softmax") continue;
    auto out = run_if_possible(m, {{"x", iota_f32({2, 3, 2})}});
    if (!out) continue;
    for (int i = 0; i < 2; ++i) {
      double sum = 0;
      for (int k = 0; k < 6; ++k) sum += std::exp(k - 5.0);
      for (int k = 0; k < 6; ++k)
        EXPECT_NEAR((*out)[0].data<float>()[i * 6 + k], std::exp(k - 5.0) / sum, 1e-6);
    }
  }
}

// --- BatchNormalization ---

TEST(LegacyUpgrade, BatchNormDropsIsTestAndSpatial) {
  ProtoBuilder b(6);
  b.input("x", {2, 3, 4});
  for (const char* p : {"s", "bias", "mean", "var"}) b.init_f32(p, {3}, {1, 2, 3});
  b.output("y", {2, 3, 4});
  auto* n = b.node("BatchNormalization", {"x", "s", "bias", "mean", "var"}, {"y"});
  ProtoBuilder::set_i(n, "is_test", 1);
  ProtoBuilder::set_i(n, "spatial", 1);
  ProtoBuilder::set_ints(n, "consumed_inputs", {0, 0, 0, 1, 1});
  Model m = load_checked(b);
  const Node& bn = only_node(m, "BatchNormalization");
  EXPECT_FALSE(bn.has_attr("is_test"));
  EXPECT_FALSE(bn.has_attr("spatial"));
  EXPECT_FALSE(bn.has_attr("consumed_inputs"));
  EXPECT_FALSE(bn.has_attr("training_mode"));
}

TEST(LegacyUpgrade, BatchNormNonSpatialIsComputedElementwise) {
  ProtoBuilder b(7);
  b.input("x", {2, 2, 3});
  b.init_f32("s", {2, 3}, {1, 2, 3, 4, 5, 6});
  b.init_f32("bias", {2, 3}, {0, 0, 0, 1, 1, 1});
  b.init_f32("mean", {2, 3}, {1, 1, 1, 2, 2, 2});
  b.init_f32("var", {2, 3}, {4, 4, 4, 1, 1, 1});
  b.output("y", {2, 2, 3});
  auto* n = b.node("BatchNormalization", {"x", "s", "bias", "mean", "var"}, {"y"});
  ProtoBuilder::set_i(n, "spatial", 0);
  ProtoBuilder::set_f(n, "epsilon", 0.0f);
  Model m = load_checked(b);
  for (const Node& node : m.graph.nodes) EXPECT_NE(node.op_type, "BatchNormalization");
  auto out = run_if_possible(m, {{"x", iota_f32({2, 2, 3})}});
  if (!out) return;
  const float s[6] = {1, 2, 3, 4, 5, 6}, bb[6] = {0, 0, 0, 1, 1, 1}, mu[6] = {1, 1, 1, 2, 2, 2},
              sd[6] = {2, 2, 2, 1, 1, 1};
  for (int i = 0; i < 12; ++i)
    EXPECT_FLOAT_EQ((*out)[0].data<float>()[i], (i - mu[i % 6]) / sd[i % 6] * s[i % 6] + bb[i % 6]);
}

TEST(LegacyUpgrade, BatchNormTrainingOutputsBecomeTrainingMode) {
  ProtoBuilder b(9);
  b.input("x", {2, 3});
  for (const char* p : {"s", "bias", "mean", "var"}) b.init_f32(p, {3}, {1, 2, 3});
  b.output("y", {2, 3});
  b.output("rm", {3});
  b.output("rv", {3});
  b.node("BatchNormalization", {"x", "s", "bias", "mean", "var"}, {"y", "rm", "rv"});
  Model m = load(b);
  EXPECT_EQ(only_node(m, "BatchNormalization").attr_int("training_mode", 0), 1);

  ProtoBuilder bad(9);
  bad.input("x", {2, 3});
  for (const char* p : {"s", "bias", "mean", "var"}) bad.init_f32(p, {3}, {1, 2, 3});
  bad.output("y", {2, 3});
  bad.output("saved", {3});
  bad.node("BatchNormalization", {"x", "s", "bias", "mean", "var"}, {"y", "", "", "saved"});
  EXPECT_THROW(load(bad), Error);
}

// --- attribute changes ---

TEST(LegacyUpgrade, CastOneTypeNamesBecomeEnums) {
  ProtoBuilder b(1);
  b.input("x", {2});
  b.output("y", {2}, TP::INT32);
  ProtoBuilder::set_s(b.node("Cast", {"x"}, {"y"}), "to", "int32");
  Model m = load_checked(b);
  EXPECT_EQ(only_node(m, "Cast").attr_int("to", 0), static_cast<int64_t>(DType::i32));

  ProtoBuilder bad(1);
  bad.input("x", {2});
  bad.output("y", {2});
  ProtoBuilder::set_s(bad.node("Cast", {"x"}, {"y"}), "to", "QUATERNION");
  EXPECT_THROW(load(bad), Error);
}

TEST(LegacyUpgrade, ConcatOneDefaultsToAxisOne) {
  ProtoBuilder b(3);
  b.input("a", {2, 1});
  b.input("c", {2, 2});
  b.output("y", {2, 3});
  b.node("Concat", {"a", "c"}, {"y"});
  Model m = load_checked(b);
  EXPECT_EQ(only_node(m, "Concat").attr_int("axis", 0), 1);
}

TEST(LegacyUpgrade, RoiAlignTenKeepsItsCoordinateMode) {
  ProtoBuilder b(10);
  b.input("x", {1, 1, 4, 4});
  b.input("rois", {1, 4});
  b.input("idx", {1}, TP::INT64);
  b.output("y", {1, 1, 1, 1});
  b.node("RoiAlign", {"x", "rois", "idx"}, {"y"});
  Model m = load_checked(b);
  EXPECT_EQ(only_node(m, "RoiAlign").attr_string("coordinate_transformation_mode", ""),
            "output_half_pixel");
}

// --- replaced ops ---

TEST(LegacyUpgrade, UpsampleBecomesAsymmetricResize) {
  ProtoBuilder b(7);
  b.input("x", {1, 1, 2, 2});
  b.output("y", {1, 1, 4, 6});
  ProtoBuilder::set_floats(b.node("Upsample", {"x"}, {"y"}), "scales", {1, 1, 2, 3});
  Model m = load_checked(b);
  const Node& r = only_node(m, "Resize");
  ASSERT_EQ(r.inputs.size(), 3u);
  EXPECT_EQ(r.inputs[1], "");
  EXPECT_EQ(m.graph.initializers.at(r.inputs[2]).to_f32_vector(), (std::vector<float>{1, 1, 2, 3}));
  EXPECT_EQ(r.attr_string("coordinate_transformation_mode", ""), "asymmetric");
  EXPECT_EQ(r.attr_string("nearest_mode", ""), "floor");
  auto out = run_if_possible(m, {{"x", Tensor::from_f32({1, 1, 2, 2}, {1, 2, 3, 4})}});
  if (out) {
    EXPECT_EQ((*out)[0].to_f32_vector(),
              (std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4,
                                  4, 4}));
  }
}

TEST(LegacyUpgrade, UpsampleOneAndNineAndResizeTen) {
  ProtoBuilder b1(1);
  b1.input("x", {1, 1, 2, 2});
  b1.output("y", {1, 1, 4, 4});
  auto* n = b1.node("Upsample", {"x"}, {"y"});
  ProtoBuilder::set_f(n, "height_scale", 2);
  ProtoBuilder::set_f(n, "width_scale", 2);
  ProtoBuilder::set_s(n, "mode", "bilinear");
  Model m1 = load_checked(b1);
  EXPECT_EQ(only_node(m1, "Resize").attr_string("mode", ""), "linear");
  EXPECT_FALSE(only_node(m1, "Resize").has_attr("nearest_mode"));

  for (const char* op : {"Upsample", "Resize"}) {
    ProtoBuilder b(std::string(op) == "Upsample" ? 9 : 10);
    b.input("x", {1, 1, 2, 2});
    b.input("scales", {4});
    b.output("y", {1, 1, -1, -1});
    b.node(op, {"x", "scales"}, {"y"});
    Model m = load_checked(b);
    EXPECT_EQ(only_node(m, "Resize").inputs, (std::vector<std::string>{"x", "", "scales"}));
  }
}

TEST(LegacyUpgrade, ScatterBecomesScatterElements) {
  ProtoBuilder b(10);
  b.input("d", {1, 5});
  b.input("i", {1, 2}, TP::INT64);
  b.input("u", {1, 2});
  b.output("y", {1, 5});
  ProtoBuilder::set_i(b.node("Scatter", {"d", "i", "u"}, {"y"}), "axis", 1);
  Model m = load_checked(b);
  EXPECT_EQ(only_node(m, "ScatterElements").attr_int("axis", 0), 1);
}

TEST(LegacyUpgrade, ScanEightBecomesLoopOverScanNine) {
  ProtoBuilder b(8);
  b.input("init", {1, 2});
  b.input("xs", {1, 3, 2});
  b.output("final", {1, 2});
  b.output("ys", {1, 3, 2});
  auto* scan = b.node("Scan", {"", "init", "xs"}, {"final", "ys"});
  ProtoBuilder::set_i(scan, "num_scan_inputs", 1);
  auto* body = ProtoBuilder::attr(scan, "body", onnx::AttributeProto::GRAPH)->mutable_g();
  body->set_name("body");
  for (const char* in : {"s", "x"}) {
    auto* v = body->add_input();
    v->set_name(in);
    ProtoBuilder::set_type(v, TP::FLOAT, {2});
  }
  for (const char* out : {"s2", "y"}) {
    auto* v = body->add_output();
    v->set_name(out);
    ProtoBuilder::set_type(v, TP::FLOAT, {2});
  }
  b.node("Add", {"s", "x"}, {"s2"}, body);
  b.node("Identity", {"s2"}, {"y"}, body);
  Model m = load_checked(b);
  const Node& loop = only_node(m, "Loop");
  EXPECT_EQ(loop.outputs, (std::vector<std::string>{"final", "ys"}));
  const Graph& lb = *loop.attr("body")->g;
  int scans = 0;
  for (const Node& n : lb.nodes)
    if (n.op_type == "Scan") {
      ++scans;
      EXPECT_EQ(n.inputs.size(), 2u);
    }
  EXPECT_EQ(scans, 1);
  auto out = run_if_possible(m, {{"init", Tensor::from_f32({1, 2}, {0, 0})},
                                 {"xs", Tensor::from_f32({1, 3, 2}, {1, 2, 3, 4, 5, 6})}});
  if (out) {
    EXPECT_EQ((*out)[0].to_f32_vector(), (std::vector<float>{9, 12}));
    EXPECT_EQ((*out)[1].to_f32_vector(), (std::vector<float>{1, 2, 4, 6, 9, 12}));
  }
}

TEST(LegacyUpgrade, ExperimentalImageScalerAndCrop) {
  ProtoBuilder b(6);
  b.input("x", {1, 2, 3, 3});
  b.output("y", {1, 2, 3, 3});
  b.output("z", {1, 2, 1, 2});
  auto* s = b.node("ImageScaler", {"x"}, {"y"});
  ProtoBuilder::set_f(s, "scale", 2.0f);
  ProtoBuilder::set_floats(s, "bias", {1, -1});
  ProtoBuilder::set_ints(b.node("Crop", {"y"}, {"z"}), "border", {1, 1, 0, 1});
  Model m = load_checked(b);
  auto out = run_if_possible(m, {{"x", iota_f32({1, 2, 3, 3})}});
  if (out) {
    EXPECT_EQ((*out)[1].to_f32_vector(), (std::vector<float>{9, 11, 25, 27}));
  }
}

// --- structure ---

TEST(LegacyUpgrade, RewritesInsideSubgraphs) {
  ProtoBuilder b(11);
  b.input("c", {}, TP::BOOL);
  b.input("x", {3});
  b.output("y", {-1, -1});
  auto* n = b.node("If", {"c"}, {"y"});
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto* g = ProtoBuilder::attr(n, branch, onnx::AttributeProto::GRAPH)->mutable_g();
    g->set_name(branch);
    auto* o = g->add_output();
    o->set_name(std::string(branch) + "_out");
    ProtoBuilder::set_type(o, TP::FLOAT, {-1, -1});
    auto* u = b.node("Unsqueeze", {"x"}, {std::string(branch) + "_out"}, g);
    ProtoBuilder::set_ints(u, "axes", {std::string(branch) == "then_branch" ? 0 : 1});
  }
  Model m = load_checked(b);
  const Graph& then = *only_node(m, "If").attr("then_branch")->g;
  ASSERT_EQ(then.nodes.size(), 1u);
  ASSERT_EQ(then.nodes[0].inputs.size(), 2u);
  EXPECT_EQ(then.initializers.at(then.nodes[0].inputs[1]).to_i64_vector(),
            (std::vector<int64_t>{0}));
}

TEST(LegacyUpgrade, NewNamesNeverCollide) {
  ProtoBuilder b(11);
  b.input("x", {3});
  b.input("y_axes", {1}, TP::INT64);  // the name the rule would pick first
  b.output("y", {1, 3});
  b.output("z", {1}, TP::INT64);
  ProtoBuilder::set_ints(b.node("Unsqueeze", {"x"}, {"y"}), "axes", {0});
  b.node("Identity", {"y_axes"}, {"z"});
  Model m = load_checked(b);
  const Node& u = only_node(m, "Unsqueeze");
  EXPECT_NE(u.inputs[1], "y_axes");
  EXPECT_TRUE(m.graph.initializers.count(u.inputs[1]));
}

}  // namespace
}  // namespace nnaccel
