// The quantize pipeline on the tiny Fashion-MNIST CNN: a calibration stopped after some batches
// and resumed from its state file gives the same model as one run straight through; bad state
// files are errors; the dynamic form needs no data.
#include "compress/quantize/quantize_pipeline.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ir/passes_test_util.hpp"
#include "nnaccel/error.hpp"
#include "nnaccel/npy.hpp"
#include "nnaccel/onnx_io.hpp"

namespace nnaccel {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  Model model;
  Tensor images;  // [8,1,28,28]
};

Fixture tiny_cnn() {
  const std::string dir = std::string(NNACCEL_SOURCE_DIR) + "/models/";
  return {load_onnx(dir + "tiny_cnn.onnx"), load_npy(dir + "tiny_cnn_input.npy")};
}

void write_batch(const Tensor& images, int k, const std::string& dir) {
  Tensor b(DType::f32, {2, 1, 28, 28});
  std::copy_n(images.data<float>() + k * b.numel(), b.numel(), b.data<float>());
  save_npy(b, dir + "/batch" + std::to_string(k) + ".npy");
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/quantize_pipeline_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A fresh folder holding the CNN's 8 images as 4 batch files.
std::string calibration_folder(const Fixture& t, const std::string& name) {
  const std::string dir = fresh_dir(name);
  for (int k = 0; k < 4; ++k) write_batch(t.images, k, dir);
  return dir;
}

TEST(QuantizePipeline, ResumedCalibrationEqualsOneRunStraightThrough) {
  Fixture t = tiny_cnn();
  const std::string dir = fresh_dir("resume");
  const std::string state = ::testing::TempDir() + "/quantize_pipeline_state.txt";
  fs::remove(state);
  QuantizeOptions o;
  o.calib = {dir};
  o.state_file = state;
  // The moving average depends on every batch and its order: a batch seen twice or skipped shows.
  o.observer.method = CalibrationMethod::moving_average;
  // A first run sees two batches and leaves its state behind...
  write_batch(t.images, 0, dir);
  write_batch(t.images, 1, dir);
  QuantizeResult first = quantize_model(t.model, o);
  EXPECT_EQ(first.calibration_batches, 2);
  ASSERT_TRUE(fs::exists(state));
  // ...the data grows, and the next run continues after the batches it already saw.
  write_batch(t.images, 2, dir);
  write_batch(t.images, 3, dir);
  QuantizeResult resumed = quantize_model(t.model, o);
  EXPECT_EQ(resumed.resumed_batches, 2);
  EXPECT_EQ(resumed.calibration_batches, 4);
  EXPECT_EQ(resumed.calibration_samples, 8);
  o.state_file.clear();
  QuantizeResult straight = quantize_model(t.model, o);
  EXPECT_EQ(straight.resumed_batches, 0);
  EXPECT_TRUE(serialize_onnx(resumed.model) == serialize_onnx(straight.model));
  EXPECT_EQ(first.calibration_samples, 4);

  ASSERT_EQ(straight.layers.size(), 3u);
  for (const QuantizedLayer& l : straight.layers) {
    ASSERT_TRUE(straight.output_sqnr_db.count(l.node)) << l.node;
    EXPECT_GT(straight.output_sqnr_db.at(l.node), 25.0) << l.node;
  }
  int quantize_nodes = 0;
  for (const Node& n : straight.model.graph.nodes) quantize_nodes += n.op_type == "QuantizeLinear";
  EXPECT_GE(quantize_nodes, 3);
  EXPECT_LT(initializer_bytes(straight.model), initializer_bytes(t.model) / 3);

  // The state belongs to this data and sample limit; anything else is refused.
  o.state_file = state;
  o.calib_size = 4;
  EXPECT_THROW(quantize_model(t.model, o), Error);
  o.calib_size = 0;
  { std::ofstream(state) << "nnaccel-quantize-state 1\ngarbage\n"; }
  EXPECT_THROW(quantize_model(t.model, o), Error);
  fs::remove(state);
  fs::create_directories(state);  // a folder where the state file should be
  EXPECT_THROW(quantize_model(t.model, o), Error);
  fs::remove_all(state);
}

TEST(QuantizePipeline, DynamicNeedsNoDataAndStaticDoes) {
  Fixture t = tiny_cnn();
  QuantizeOptions o;
  o.dynamic = true;
  QuantizeResult r = quantize_model(t.model, o);
  EXPECT_EQ(r.layers.size(), 3u);
  EXPECT_TRUE(r.output_sqnr_db.empty());  // no data to measure on
  int integer = 0;
  for (const Node& n : r.model.graph.nodes)
    integer += n.op_type == "ConvInteger" || n.op_type == "MatMulInteger";
  EXPECT_EQ(integer, 3);
  o.dynamic = false;
  EXPECT_THROW(quantize_model(t.model, o), Error);  // no --calib
  o.calib = {"fashion-mnist"};
  o.calib_size = -1;
  EXPECT_THROW(quantize_model(t.model, o), Error);
}

TEST(QuantizePipeline, EqualizationAndBiasCorrectionRunOnTheCalibrationData) {
  Fixture t = tiny_cnn();
  QuantizeOptions o;
  o.calib = {calibration_folder(t, "cle")};
  o.qdq.per_channel = false;
  o.cross_layer_equalization = true;
  o.bias_correction = true;
  QuantizeResult r = quantize_model(t.model, o);
  EXPECT_EQ(r.cle_pairs, 2u);  // Conv -> Relu -> MaxPool -> Conv, and on through Flatten to Gemm
  EXPECT_EQ(r.bias_corrected, 3u);
  ASSERT_EQ(r.layers.size(), 3u);
  for (const QuantizedLayer& l : r.layers) EXPECT_GT(r.output_sqnr_db.at(l.node), 25.0) << l.node;
  o.dynamic = true;  // bias correction needs a QDQ model
  EXPECT_THROW(quantize_model(t.model, o), Error);
}

// Two MatMuls reading one weight through Identity nodes (as PyTorch exports copied layers): the
// quantized file holds one int8 copy of it, static and dynamic, not one per reader.
TEST(QuantizePipeline, LayersSharingAWeightShareItsIntegers) {
  testing::GraphBuilder b;
  b.input("x", {4, 16});
  b.init("w", testing::random_tensor({16, 16}, 7));
  b.node("Identity", {"w"}, {"wa"});
  b.node("Identity", {"w"}, {"wb"});
  b.node("MatMul", {"x", "wa"}, {"h"});
  b.node("Relu", {"h"}, {"r"});
  b.node("MatMul", {"r", "wb"}, {"y"});
  b.output("y");
  const std::string dir = fresh_dir("shared");
  for (int k = 0; k < 2; ++k)
    save_npy(testing::random_tensor({4, 16}, 20 + k), dir + "/batch" + std::to_string(k) + ".npy");
  for (bool dynamic : {true, false}) {
    QuantizeOptions o;
    o.dynamic = dynamic;
    if (!dynamic) o.calib = {dir};
    const QuantizeResult r = quantize_model(b.m, o);
    EXPECT_EQ(r.layers.size(), 2u);
    int int8_weights = 0;
    for (const auto& [name, t] : r.model.graph.initializers)
      int8_weights += t.dtype() == DType::i8 && t.rank() == 2;
    EXPECT_EQ(int8_weights, 1) << (dynamic ? "dynamic" : "static");
  }
}

// --gptq rounds every layer of the CNN by GPTQ: other integers than rounding to nearest, and each
// layer's output still close to float's.
TEST(QuantizePipeline, GptqRoundsEveryLayer) {
  Fixture t = tiny_cnn();
  QuantizeOptions o;
  o.calib = {calibration_folder(t, "gptq")};
  const QuantizeResult nearest = quantize_model(t.model, o);
  o.gptq = true;
  const QuantizeResult r = quantize_model(t.model, o);
  ASSERT_EQ(r.layers.size(), 3u);
  EXPECT_EQ(r.gptq_layers, 3u);
  size_t changed = 0, total = 0;
  for (const auto& [name, q] : r.model.graph.initializers) {
    if (q.dtype() != DType::i8 || q.rank() < 2) continue;
    const Tensor& n = nearest.model.graph.initializers.at(name);
    for (int64_t i = 0; i < q.numel(); ++i) changed += q.data<int8_t>()[i] != n.data<int8_t>()[i];
    total += static_cast<size_t>(q.numel());
  }
  EXPECT_GT(changed, 0u);
  EXPECT_LT(changed, total / 2);
  for (const QuantizedLayer& l : r.layers) {
    EXPECT_TRUE(l.gptq) << l.node;
    EXPECT_GT(r.output_sqnr_db.at(l.node), 25.0) << l.node;
  }
}

// --weight-budget: the CNN's weights fit a budget just under what per-channel scales take by
// moving the cheapest layers to one scale; a budget they already fit changes nothing; one no
// granularity reaches moves every layer and says it was not met.
TEST(QuantizePipeline, WeightBudgetMovesTheCheapestLayersToOneScale) {
  Fixture t = tiny_cnn();
  QuantizeOptions o;
  o.calib = {calibration_folder(t, "budget")};
  const QuantizeResult per_channel = quantize_model(t.model, o);
  const double fp32 = static_cast<double>(initializer_bytes(t.model));
  const uint64_t have = initializer_bytes(per_channel.model);
  ASSERT_GT(have, 20u);
  for (const QuantizedLayer& l : per_channel.layers) EXPECT_GT(l.weight_scales, 1) << l.node;

  o.weight_budget = static_cast<double>(have - 20) / fp32;
  QuantizeResult r = quantize_model(t.model, o);
  EXPECT_TRUE(r.budget_met);
  EXPECT_LE(initializer_bytes(r.model), r.weight_budget_bytes);
  ASSERT_FALSE(r.budget_per_tensor.empty());
  EXPECT_LT(r.budget_per_tensor.size(), r.layers.size());  // 20 bytes: not every layer
  for (const QuantizedLayer& l : r.layers) {
    EXPECT_EQ(l.weight_scales == 1, r.budget_per_tensor.count(l.node) == 1) << l.node;
    EXPECT_GT(r.output_sqnr_db.at(l.node), 20.0) << l.node;
  }
  // The layer moved first is the one whose single scale adds least noise per byte.
  const QuantizedLayer* cheapest = nullptr;
  double best = 1e300;
  for (const QuantizedLayer& l : per_channel.layers) {
    const double c =
        (l.rtn_noise_per_tensor - l.rtn_noise) / static_cast<double>(l.per_tensor_saving);
    if (c < best) best = c, cheapest = &l;
  }
  ASSERT_NE(cheapest, nullptr);
  EXPECT_EQ(r.budget_per_tensor.count(cheapest->node), 1u);

  o.weight_budget = 1.0;
  r = quantize_model(t.model, o);
  EXPECT_TRUE(r.budget_met && r.budget_per_tensor.empty());
  EXPECT_TRUE(serialize_onnx(r.model) == serialize_onnx(per_channel.model));

  o.weight_budget = 0.1;  // int8 weights alone take 0.25
  r = quantize_model(t.model, o);
  EXPECT_FALSE(r.budget_met);
  EXPECT_EQ(r.budget_per_tensor.size(), r.layers.size());

  o.weight_budget = 1.5;
  EXPECT_THROW(quantize_model(t.model, o), Error);
  o.weight_budget = 0.3;
  o.dynamic = true;
  EXPECT_THROW(quantize_model(t.model, o), Error);
}

}  // namespace
}  // namespace nnaccel
