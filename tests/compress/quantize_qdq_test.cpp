// Static int8 QDQ quantization of the tiny Fashion-MNIST CNN: the graph takes the standard QDQ
// form, weights shrink to a quarter, and predictions hold.
#include "compress/quantize/quantize_qdq.hpp"

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <algorithm>
#include <cmath>

#include "compress/quantize/calibrator.hpp"
#include "ir/passes/passes.hpp"
#include "nnaccel/npy.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/train.hpp"
#include "ops/op_test_util.hpp"

namespace nnaccel {
namespace {

TEST(QuantizeQdq, TinyCnnKeepsItsPredictionsWithInt8Weights) {
  std::string dir = std::string(NNACCEL_SOURCE_DIR) + "/models/";
  Model fp32 = load_onnx(dir + "tiny_cnn.onnx");
  Tensor images = load_npy(dir + "tiny_cnn_input.npy");
  const std::string input = fp32.graph.inputs[0].name;
  QdqConfig config;
  std::vector<std::string> acts = qdq_activations(fp32, config);
  int quantizable = 0;
  for (const Node& n : fp32.graph.nodes)
    quantizable += n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul";
  ASSERT_GE(acts.size(), 2u);
  Calibrator cal(fp32, acts, ObserverConfig{});
  cal.observe({{input, images}});
  Model q = fp32;
  std::vector<QuantizedLayer> layers = quantize_to_qdq(q, cal.ranges(), config);
  EXPECT_EQ(static_cast<int>(layers.size()), quantizable);
  for (const QuantizedLayer& l : layers) {
    EXPECT_GT(l.weight_sqnr_db, 30.0) << l.node;  // per-channel int8
    EXPECT_GT(l.input_quant.scale, 0.0f) << l.node;
  }
  int quantize_nodes = 0, dequantize_nodes = 0;
  for (const Node& n : q.graph.nodes) {
    quantize_nodes += n.op_type == "QuantizeLinear";
    dequantize_nodes += n.op_type == "DequantizeLinear";
  }
  // Every calibrated activation gets one Q/DQ pair; so do the outputs of transparent ops.
  EXPECT_GE(quantize_nodes, static_cast<int>(acts.size()));
  EXPECT_GE(dequantize_nodes, quantize_nodes + quantizable);  // activations, weights (+ biases)
  // Weights are stored as int8: the float weights of quantized layers are gone.
  uint64_t fp32_bytes = 0, q_bytes = 0;
  for (const auto& [name, t] : fp32.graph.initializers) fp32_bytes += t.nbytes();
  for (const auto& [name, t] : q.graph.initializers) q_bytes += t.nbytes();
  EXPECT_LT(static_cast<double>(q_bytes), 0.3 * static_cast<double>(fp32_bytes));
  // It exports as standard ONNX and reads back.
  std::string path = ::testing::TempDir() + "/tiny_cnn_qdq.onnx";
  save_onnx(q, path);
  Model back = load_onnx(path);
  // Predictions: the same classes as fp32 on all 8 images, logits close.
  SessionOptions ref;
  ref.fast = false;
  Tensor want = Session(fp32, ref).run({{input, images}})[0];
  Tensor got = Session(back, ref).run({{input, images}})[0];
  ASSERT_EQ(got.shape(), want.shape());
  // The fast path (integer ops after fuse_qdq) gives the reference interpreter's logits within
  // one quantization step of the output (its DequantizeLinear's scale).
  Tensor fast = Session(back).run({{input, images}})[0];
  ASSERT_EQ(fast.shape(), got.shape());
  float step = 0;
  for (const Node& n : back.graph.nodes)
    if (n.op_type == "DequantizeLinear" && n.outputs[0] == back.graph.outputs[0].name)
      step = back.graph.initializers.at(n.inputs[1]).data<float>()[0];
  ASSERT_GT(step, 0.0f);
  for (int64_t i = 0; i < got.numel(); ++i)
    EXPECT_LE(std::fabs(fast.data<float>()[i] - got.data<float>()[i]), 1.01f * step) << i;
  const int64_t classes = want.shape()[1];
  double signal = 0, noise = 0;
  for (int64_t b = 0; b < want.shape()[0]; ++b) {
    int64_t aw = 0, ag = 0;
    for (int64_t c = 0; c < classes; ++c) {
      const float w = want.data<float>()[b * classes + c], g = got.data<float>()[b * classes + c];
      if (w > want.data<float>()[b * classes + aw]) aw = c;
      if (g > got.data<float>()[b * classes + ag]) ag = c;
      signal += static_cast<double>(w) * w;
      noise += (static_cast<double>(w) - g) * (static_cast<double>(w) - g);
    }
    EXPECT_EQ(ag, aw) << "image " << b;
  }
  EXPECT_GT(10.0 * std::log10(signal / noise), 20.0);
}

const Node* producer(const Graph& g, const std::string& value) {
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs)
      if (o == value) return &n;
  return nullptr;
}

bool is(const Node* n, const char* op) { return n != nullptr && n->op_type == op; }

int count_ops(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_type == op;
  return n;
}

// The Q -> DQ pair that writes `value`: the DQ node (null when there is none).
const Node* dq_pair(const Graph& g, const std::string& value) {
  const Node* dq = producer(g, value);
  if (!is(dq, "DequantizeLinear") || !is(producer(g, dq->inputs[0]), "QuantizeLinear"))
    return nullptr;
  return dq;
}

// The Q -> DQ pair reading `value` (a producer's renamed float output): the DQ node, or null.
const Node* dq_after(const Graph& g, const std::string& value) {
  const Node* q = nullptr;
  for (const Node& n : g.nodes)
    for (const std::string& i : n.inputs)
      if (i == value) {
        if (q != nullptr || n.op_type != "QuantizeLinear") return nullptr;
        q = &n;
      }
  if (q == nullptr) return nullptr;
  for (const Node& n : g.nodes)
    if (n.op_type == "DequantizeLinear" && n.inputs[0] == q->outputs[0]) return &n;
  return nullptr;
}

Model calibrated_zoo_model(const std::string& arch, const QdqConfig& config,
                           std::vector<std::string>& acts, std::vector<QuantizedLayer>& layers) {
  ClassifierSpec spec;
  spec.arch = arch;
  spec.seed = 3;
  Model m = build_classifier(spec);
  optimize(m, OptimizeOptions{.fuse = false});  // BatchNorm folded
  acts = qdq_activations(m, config);
  Calibrator cal(m, acts, ObserverConfig{});
  cal.observe({{"input", testing::random_f32({4, 1, 28, 28}, 1, 0, 1)}});
  layers = quantize_to_qdq(m, cal.ranges(), config);
  return m;
}

// ORT's placement on resnet-s: Conv -> Relu inside one unit, Q/DQ on both Add inputs and
// after Add -> Relu, every Conv and the Gemm reading DQ'd activations and weights.
TEST(QuantizeQdq, ResnetPlacementQuantizesUnitsAndAdds) {
  std::vector<std::string> acts;
  std::vector<QuantizedLayer> layers;
  Model m = calibrated_zoo_model("resnet-s", QdqConfig{}, acts, layers);
  const Graph& g = m.graph;
  EXPECT_EQ(layers.size(), 10u);  // 9 convs and the classifier
  int convs = 0, adds = 0, relus_in_units = 0;
  for (const Node& n : g.nodes) {
    if (n.op_type == "Conv" || n.op_type == "Gemm") {
      ++convs;
      EXPECT_NE(dq_pair(g, n.inputs[0]), nullptr) << n.name;
      EXPECT_TRUE(is(producer(g, n.inputs[1]), "DequantizeLinear")) << n.name;
    }
    if (n.op_type == "Add") {
      ++adds;
      EXPECT_NE(dq_pair(g, n.inputs[0]), nullptr) << n.name;
      EXPECT_NE(dq_pair(g, n.inputs[1]), nullptr) << n.name;
    }
    if (n.op_type == "Relu") {
      // Inside its unit: reads the Conv/Add directly, and its output is Q/DQ'd.
      const Node* p = producer(g, n.inputs[0]);
      EXPECT_TRUE(is(p, "Conv") || is(p, "Add")) << n.name;
      relus_in_units += is(p, "Conv") || is(p, "Add");
      EXPECT_NE(dq_after(g, n.outputs[0]), nullptr) << n.name;
    }
  }
  EXPECT_EQ(convs, 10);
  EXPECT_EQ(adds, 3);
  EXPECT_EQ(relus_in_units, 7);  // stem, each block's first conv, and the three Add units
  // The logits keep their name (now the DQ of the classifier's quantized output).
  EXPECT_NE(dq_pair(g, "logits"), nullptr);
  // Standard ONNX: the checker accepts it.
  const std::string path = ::testing::TempDir() + "/resnet_s_qdq.onnx";
  save_onnx(m, path);
  EXPECT_NO_THROW(onnx::checker::check_model(path));
}

// The file's size: Conv weights are symmetric int8 without a zero point (ONNX's default 0; the
// Gemm keeps its zeros, which ONNX Runtime's QGemm fusion wants), and a bias's scale is no array
// of its own but Mul(x_scale, w_scale) of the initializers the input's and weight's
// DequantizeLinear read. fold_constants makes it the f32 product, the scale each int32 bias was
// rounded at, and fuse_qdq fuses every unit.
TEST(QuantizeQdq, NoConvWeightZeroPointsAndBiasScaleIsAProduct) {
  std::vector<std::string> acts;
  std::vector<QuantizedLayer> layers;
  const Model m = calibrated_zoo_model("resnet-s", QdqConfig{}, acts, layers);
  ClassifierSpec spec;
  spec.arch = "resnet-s";
  spec.seed = 3;
  Model fp = build_classifier(spec);  // calibrated_zoo_model's float model
  optimize(fp, OptimizeOptions{.fuse = false});
  std::map<std::string, const Node*> float_nodes;
  for (const Node& n : fp.graph.nodes) float_nodes[n.name] = &n;
  Model folded = m;
  fold_constants(folded);
  EXPECT_EQ(count_ops(folded.graph, "Mul"), 0);
  const Graph& g = m.graph;
  int weighted = 0, biases = 0;
  for (const Node& n : g.nodes) {
    if (n.op_type != "Conv" && n.op_type != "Gemm") continue;
    ++weighted;
    const Node* x_dq = producer(g, n.inputs[0]);
    const Node* w_dq = producer(g, n.inputs[1]);
    ASSERT_TRUE(is(x_dq, "DequantizeLinear") && is(w_dq, "DequantizeLinear")) << n.name;
    if (n.op_type == "Conv") {
      EXPECT_EQ(w_dq->inputs.size(), 2u) << n.name;
    } else {
      ASSERT_EQ(w_dq->inputs.size(), 3u);
      const Tensor& zp = g.initializers.at(w_dq->inputs[2]);
      for (int64_t c = 0; c < zp.numel(); ++c) EXPECT_EQ(zp.data<int8_t>()[c], 0);
    }
    if (n.inputs.size() < 3 || n.inputs[2].empty()) continue;
    ++biases;
    const Node* b_dq = producer(g, n.inputs[2]);
    ASSERT_TRUE(is(b_dq, "DequantizeLinear")) << n.name;
    EXPECT_EQ(b_dq->inputs.size(), 2u) << n.name;
    const Node* mul = producer(g, b_dq->inputs[1]);
    ASSERT_TRUE(is(mul, "Mul")) << n.name;
    EXPECT_EQ(mul->inputs, (std::vector<std::string>{x_dq->inputs[1], w_dq->inputs[1]}));
    // Folded, the scale is x_scale * w_scale[c] in f32, and the int32 bias the float bias
    // rounded at exactly that scale.
    const float xs = g.initializers.at(x_dq->inputs[1]).data<float>()[0];
    const Tensor& ws = g.initializers.at(w_dq->inputs[1]);
    const Tensor& scale = folded.graph.initializers.at(b_dq->inputs[1]);
    const Tensor& bq = g.initializers.at(b_dq->inputs[0]);
    ASSERT_TRUE(float_nodes.count(n.name)) << n.name;
    const Tensor& bf = fp.graph.initializers.at(float_nodes[n.name]->inputs[2]);
    ASSERT_EQ(scale.numel(), ws.numel());
    ASSERT_EQ(bq.numel(), ws.numel());
    for (int64_t c = 0; c < ws.numel(); ++c) {
      const float want = xs * ws.data<float>()[c];
      EXPECT_EQ(scale.data<float>()[c], want) << n.name << " channel " << c;
      EXPECT_EQ(bq.data<int32_t>()[c],
                static_cast<int32_t>(std::nearbyint(double{bf.data<float>()[c]} / want)))
          << n.name << " channel " << c;
    }
  }
  EXPECT_EQ(weighted, 10);
  EXPECT_EQ(biases, 10);
  // The f32 arrays in the file: one weight scale per layer, nothing per channel besides.
  int f32_arrays = 0, zero_points = 0;
  for (const auto& [name, t] : g.initializers) {
    f32_arrays += t.dtype() == DType::f32 && t.numel() > 1;
    zero_points += t.dtype() == DType::i8 && t.numel() > 1 && t.rank() == 1;
  }
  EXPECT_EQ(f32_arrays, weighted);
  EXPECT_EQ(zero_points, 1);  // the Gemm's
  // Every unit still becomes an integer op.
  Model fused = m;
  optimize(fused);
  EXPECT_EQ(count_ops(fused.graph, "QConv"), 9);
  EXPECT_EQ(count_ops(fused.graph, "QMatMul"), 1);
  EXPECT_EQ(count_ops(fused.graph, "Mul"), 0);
}

// A dead channel (weights of 1e-30, as trained networks have: PP-OCRv4 rec holds channel scales
// down to 1e-42) keeps its bias: the weight grid widens until the bias fits int32 at scale
// x_scale * w_scale, where before it clamped and dequantized to ~0.
TEST(QuantizeQdq, DeadChannelKeepsItsBias) {
  ClassifierSpec spec;
  spec.arch = "resnet-s";
  spec.seed = 3;
  Model m = build_classifier(spec);
  optimize(m, OptimizeOptions{.fuse = false});
  Node* conv = nullptr;
  for (Node& n : m.graph.nodes)
    if (n.op_type == "Conv" && n.inputs.size() > 2 && !n.inputs[2].empty()) {
      conv = &n;
      break;
    }
  ASSERT_NE(conv, nullptr);
  const std::string conv_name = conv->name;
  Tensor& w = m.graph.initializers.at(conv->inputs[1]);
  Tensor& b = m.graph.initializers.at(conv->inputs[2]);
  const int64_t per_channel = w.numel() / w.dim(0);
  for (int64_t i = 0; i < per_channel; ++i) w.data<float>()[i] = i % 2 ? 1e-30f : -1e-30f;
  b.data<float>()[0] = 0.5f;
  const QdqConfig config;
  Calibrator cal(m, qdq_activations(m, config), ObserverConfig{});
  cal.observe({{"input", testing::random_f32({4, 1, 28, 28}, 1, 0, 1)}});
  quantize_to_qdq(m, cal.ranges(), config);
  const Graph& g = m.graph;
  const Node* q = nullptr;
  for (const Node& n : g.nodes)
    if (n.name == conv_name) q = &n;
  ASSERT_NE(q, nullptr);
  Model folded = m;
  fold_constants(folded);
  const Node* b_dq = producer(g, q->inputs[2]);
  ASSERT_TRUE(is(b_dq, "DequantizeLinear"));
  const int32_t bq = g.initializers.at(b_dq->inputs[0]).data<int32_t>()[0];
  const float bs = folded.graph.initializers.at(b_dq->inputs[1]).data<float>()[0];
  EXPECT_LE(std::abs(bq), 1 << 30);
  EXPECT_NEAR(static_cast<float>(bq) * bs, 0.5f, 1e-6f);
  // The dead channel's weights still dequantize to (almost) nothing; the other channels keep
  // their own grids.
  const Node* w_dq = producer(g, q->inputs[1]);
  const Tensor& ws = g.initializers.at(w_dq->inputs[1]);
  const Tensor& wq = g.initializers.at(w_dq->inputs[0]);
  for (int64_t i = 0; i < per_channel; ++i) EXPECT_EQ(wq.data<int8_t>()[i], 0);
  EXPECT_LT(ws.data<float>()[0], 1e-6f);
  EXPECT_GT(ws.data<float>()[1], 1e-4f);
}

// Transparent ops share their input's qparams (the same scale/zero point initializers), and
// their outputs need no range of their own.
TEST(QuantizeQdq, MaxPoolAndFlattenShareTheirInputsQparams) {
  std::vector<std::string> acts;
  std::vector<QuantizedLayer> layers;
  Model m = calibrated_zoo_model("lenet5", QdqConfig{}, acts, layers);
  const Graph& g = m.graph;
  int transparent = 0;
  for (const Node& n : g.nodes) {
    if (n.op_type != "MaxPool" && n.op_type != "Flatten") continue;
    ++transparent;
    const Node* in = dq_pair(g, n.inputs[0]);
    const Node* out = dq_after(g, n.outputs[0]);
    ASSERT_TRUE(in != nullptr && out != nullptr) << n.name;
    EXPECT_EQ(in->inputs[1], out->inputs[1]) << n.name;
    EXPECT_EQ(in->inputs[2], out->inputs[2]) << n.name;
    EXPECT_EQ(std::count(acts.begin(), acts.end(), n.outputs[0]), 0) << n.name;
  }
  EXPECT_EQ(transparent, 3);
  EXPECT_EQ(layers.size(), 5u);
}

// QdqConfig::op_types restricts placement (only Gemms here: the Flatten before the first one
// stays float), and excluding a node by name keeps its weights in float.
TEST(QuantizeQdq, OpTypesAndExcludeRestrictPlacement) {
  QdqConfig config;
  config.op_types = {"Gemm"};
  config.exclude = {"fc4"};
  std::vector<std::string> acts;
  std::vector<QuantizedLayer> layers;
  Model m = calibrated_zoo_model("mlp", config, acts, layers);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].node, "fc2");
  EXPECT_EQ(layers[1].node, "fc6");
  for (const Node& n : m.graph.nodes) {
    if (n.name == "fc4") {
      // Its input is still DQ'd (fc2's unit output), its weight stays float.
      EXPECT_EQ(m.graph.initializers.at(n.inputs[1]).dtype(), DType::f32);
    }
  }
}

}  // namespace
}  // namespace nnaccel
