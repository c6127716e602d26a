// Built-in classifiers and the training graph made from an inference model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "nnaccel/error.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/session.hpp"
#include "nnaccel/train.hpp"

namespace nnaccel {
namespace {

Tensor random_images(int64_t n, int64_t h, int64_t w, uint32_t seed) {
  Tensor t(DType::f32, {n, 1, h, w});
  uint32_t s = seed;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s = s * 1664525u + 1013904223u;
    t.data<float>()[i] = static_cast<float>(s >> 8) / 16777216.0f;
  }
  return t;
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

TEST(ModelZooTest, EveryArchRunsAndExports) {
  for (const std::string& arch : classifier_archs()) {
    ClassifierSpec spec;
    spec.arch = arch;
    spec.seed = 7;
    Model m = build_classifier(spec);
    // Through an ONNX file and back: the graph is standard opset-17 ONNX.
    Model loaded = load_onnx_bytes(serialize_onnx(m), ".");
    SessionOptions so;
    so.fast = false;
    Session s(std::move(loaded), so);
    std::vector<Tensor> out = s.run({{"input", random_images(3, 28, 28, 1)}});
    ASSERT_EQ(out.size(), 1u) << arch;
    EXPECT_EQ(out[0].shape(), (Shape{3, 10})) << arch;
    std::vector<float> v = out[0].to_f32_vector();
    float spread = 0;
    for (float x : v) {
      EXPECT_TRUE(std::isfinite(x)) << arch;
      spread = std::max(spread, std::abs(x - v[0]));
    }
    EXPECT_GT(spread, 1e-4f) << arch << ": the logits do not depend on the weights";
  }
}

TEST(ModelZooTest, ParameterCountsAndSizes) {
  ClassifierSpec spec;
  spec.arch = "lenet5";
  // conv 6*25+6, conv 16*6*25+16, fc 400*120+120, 120*84+84, 84*10+10
  EXPECT_EQ(parameter_count(build_classifier(spec)), 156 + 2416 + 48120 + 10164 + 850);
  spec.arch = "mlp";  // 784-256-128-10
  EXPECT_EQ(parameter_count(build_classifier(spec)), 200960 + 32896 + 1290);
  spec.arch = "resnet-s";
  const int64_t n = parameter_count(build_classifier(spec));
  EXPECT_GT(n, 75000);
  EXPECT_LT(n, 300000);
  spec.arch = "vgg";
  EXPECT_THROW(build_classifier(spec), Error);
}

TEST(ModelZooTest, SeededKaimingInit) {
  ClassifierSpec spec;
  spec.arch = "resnet-s";
  spec.seed = 3;
  Model a = build_classifier(spec), b = build_classifier(spec);
  spec.seed = 4;
  Model c = build_classifier(spec);
  const std::string w = "conv4.weight";  // 3x3, 16 -> 16 in the first residual block
  ASSERT_TRUE(a.graph.initializers.count(w));
  const Tensor& ta = a.graph.initializers.at(w);
  EXPECT_EQ(ta.shape(), (Shape{16, 16, 3, 3}));
  EXPECT_EQ(ta.to_f32_vector(), b.graph.initializers.at(w).to_f32_vector());
  EXPECT_NE(ta.to_f32_vector(), c.graph.initializers.at(w).to_f32_vector());
  double sum = 0, sq = 0;
  for (float x : ta.to_f32_vector()) {
    sum += x;
    sq += static_cast<double>(x) * x;
  }
  const double n = static_cast<double>(ta.numel()), mean = sum / n;
  const double std = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(std, std::sqrt(2.0 / (16 * 9)), 0.1 * std::sqrt(2.0 / (16 * 9)));
  EXPECT_NEAR(mean, 0.0, 0.02);
}

TEST(TrainingGraphTest, BatchNormTrainsAndStatisticsAreNotParameters) {
  ClassifierSpec spec;
  spec.arch = "resnet-s";
  Model m = build_classifier(spec);
  TrainingGraph tg = make_training_graph(m);
  EXPECT_EQ(tg.input, "input");
  EXPECT_EQ(tg.logits, "logits");
  int bn = 0;
  for (const Node& n : tg.graph.nodes) {
    if (n.op_type != "BatchNormalization") continue;
    ++bn;
    EXPECT_EQ(n.attr_int("training_mode", 0), 1);
    ASSERT_EQ(n.outputs.size(), 3u);
  }
  EXPECT_EQ(tg.bn_stats.size(), static_cast<size_t>(2 * bn));
  for (const BatchNormStat& s : tg.bn_stats) {
    EXPECT_EQ(std::count(tg.params.begin(), tg.params.end(), s.initializer), 0) << s.initializer;
  }
  EXPECT_EQ(std::count(tg.params.begin(), tg.params.end(), "conv1.weight"), 1);
  EXPECT_EQ(std::count(tg.params.begin(), tg.params.end(), "bn2.weight"), 1);
  const Node& loss = tg.graph.nodes.back();
  EXPECT_EQ(loss.op_type, "SoftmaxCrossEntropyLoss");
  EXPECT_EQ(loss.inputs, (std::vector<std::string>{"logits", "labels"}));
  const ValueInfo& labels = tg.graph.inputs.back();
  EXPECT_EQ(labels.name, "labels");
  EXPECT_EQ(labels.type.dtype, DType::i64);
  // The training graph shares the model's weights: an update is seen by the export.
  tg.graph.initializers.at("conv1.weight").data<float>()[0] = 42.0f;
  EXPECT_EQ(m.graph.initializers.at("conv1.weight").data<float>()[0], 42.0f);
  // The inference model itself is unchanged: BatchNorm still in inference mode.
  EXPECT_EQ(find_op(m.graph, "BatchNormalization")->attr_int("training_mode", 0), 0);
}

TEST(TrainingGraphTest, FreezeByRegex) {
  ClassifierSpec spec;
  spec.arch = "mlp";
  Model m = build_classifier(spec);
  TrainingGraphOptions o;
  o.freeze_regex = "^fc2\\.";
  TrainingGraph tg = make_training_graph(m, o);
  EXPECT_EQ(tg.params,
            (std::vector<std::string>{"fc4.bias", "fc4.weight", "fc6.bias", "fc6.weight"}));
  o.freeze_regex = ".*";
  EXPECT_THROW(make_training_graph(m, o), Error);
  o.freeze_regex = "([";
  EXPECT_THROW(make_training_graph(m, o), Error);
}

// x -> Gemm -> Dropout(ratio) -> logits
Model gemm_dropout_model() {
  Model m;
  m.opsets[""] = kCanonicalOpset;
  Graph& g = m.graph;
  g.inputs.push_back({"x", TypeInfo::of(DType::f32, {4, 3}), ""});
  g.initializers["W"] = Tensor::from_f32({5, 3}, std::vector<float>(15, 0.25f));
  g.initializers["ratio"] = Tensor::scalar_f32(0.3f);
  Node gemm;
  gemm.op_type = "Gemm";
  gemm.name = "gemm";
  gemm.inputs = {"x", "W"};
  gemm.outputs = {"h"};
  gemm.attrs = {Attribute::of_int("transB", 1)};
  Node drop;
  drop.op_type = "Dropout";
  drop.name = "drop";
  drop.inputs = {"h", "ratio"};
  drop.outputs = {"logits"};
  g.nodes = {gemm, drop};
  g.outputs.push_back({"logits", TypeInfo::of(DType::f32, {4, 5}), ""});
  return m;
}

TEST(TrainingGraphTest, DropoutRunsInTrainingModeAndItsRatioIsNoParameter) {
  Model m = gemm_dropout_model();
  TrainingGraph tg = make_training_graph(m);
  EXPECT_EQ(tg.params, (std::vector<std::string>{"W"}));
  ASSERT_EQ(tg.dropout_nodes.size(), 1u);
  const Node& d = tg.graph.nodes[tg.dropout_nodes[0]];
  ASSERT_EQ(d.inputs.size(), 3u);
  EXPECT_EQ(d.inputs[1], "ratio");
  const Tensor& flag = tg.graph.initializers.at(d.inputs[2]);
  EXPECT_EQ(flag.dtype(), DType::boolean);
  EXPECT_EQ(flag.data<uint8_t>()[0], 1);
  EXPECT_EQ(d.outputs.size(), 2u);  // the mask, which Dropout's gradient needs
  EXPECT_FALSE(m.graph.initializers.count(d.inputs[2]));  // the inference model is untouched
}

TEST(TrainingGraphTest, ConstantWeightsAreLifted) {
  // y = MatMul(x, W) with W in a Constant node (the Paddle2ONNX style).
  Model m;
  m.opsets[""] = kCanonicalOpset;
  Graph& g = m.graph;
  g.inputs.push_back({"x", TypeInfo::of(DType::f32, {2, 3}), ""});
  Node c;
  c.op_type = "Constant";
  c.name = "w_const";
  c.outputs = {"W"};
  c.attrs = {Attribute::of_tensor("value", Tensor::from_f32({3, 4}, std::vector<float>(12, 0.5f)))};
  Node mm;
  mm.op_type = "MatMul";
  mm.name = "mm";
  mm.inputs = {"x", "W"};
  mm.outputs = {"y"};
  g.nodes = {c, mm};
  g.outputs.push_back({"y", TypeInfo::of(DType::f32, {2, 4}), ""});
  TrainingGraph tg = make_training_graph(m);
  EXPECT_EQ(tg.params, (std::vector<std::string>{"W"}));
  EXPECT_TRUE(m.graph.initializers.count("W"));
  EXPECT_EQ(m.graph.nodes.size(), 1u);
}

TEST(TrainingGraphTest, RejectsModelsItCannotTrain) {
  Model m;
  m.graph.outputs.push_back({"y", TypeInfo::of(DType::f32, {1}), ""});
  EXPECT_THROW(make_training_graph(m), Error);  // no data input
}

}  // namespace
}  // namespace nnaccel
