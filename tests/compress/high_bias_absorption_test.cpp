// High-bias absorption moves the part of a Relu layer's bias that never reaches zero into the next
// layer: the function is kept on the calibration batches, the activation range shrinks.
#include "compress/quantize/high_bias_absorption.hpp"

#include <gtest/gtest.h>

#include "compress/quant_model_test_util.hpp"

namespace nnaccel {
namespace {

using namespace testing;

// Conv 3x3 (biases well above zero) -> Relu -> Conv 1x1 -> Relu -> GlobalAveragePool -> Flatten ->
// Gemm; `second_pads`: padding of the second conv (1: a 3x3 conv instead).
Model high_bias_cnn(int second_pads) {
  GraphBuilder b;
  b.input("x", {2, 3, 6, 6});
  const int64_t k = second_pads ? 3 : 1;
  b.init("w1", random_tensor({8, 3, 3, 3}, 1, -0.2f, 0.2f));
  b.init("b1", random_tensor({8}, 2, 1.0f, 3.0f));
  b.init("w2", random_tensor({6, 8, k, k}, 3));
  b.init("b2", random_tensor({6}, 4, 2.0f, 4.0f));
  b.init("w3", random_tensor({6, 4}, 5));
  b.node("Conv", {"x", "w1", "b1"}, {"c1"}, {Attribute::of_ints("pads", {1, 1, 1, 1})});
  b.node("Relu", {"c1"}, {"r1"});
  b.node("Conv", {"r1", "w2", "b2"}, {"c2"},
         {Attribute::of_ints("pads", std::vector<int64_t>(4, second_pads))});
  b.node("Relu", {"c2"}, {"r2"});
  b.node("GlobalAveragePool", {"r2"}, {"g"});
  b.node("Flatten", {"g"}, {"f"});
  b.node("Gemm", {"f", "w3"}, {"y"});
  b.output("y");
  return b.m;
}

double largest(const std::vector<ChannelStats>& s) {
  double m = -INFINITY;
  for (double v : s[0].max) m = std::max(m, v);
  return m;
}

TEST(HighBiasAbsorption, KeepsOutputsOnCalibrationBatchesAndNarrowsActivations) {
  Model before = high_bias_cnn(0);
  Batches calib = random_batches(before, 4, 20);
  Model after = before;
  HighBiasReport r = absorb_high_bias(after, batches_of(calib));
  EXPECT_EQ(r.batches, 4);
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_EQ(r.pairs[0].first, "Conv_0");
  EXPECT_EQ(r.pairs[0].second, "Conv_2");
  EXPECT_EQ(r.pairs[1].second, "Gemm_6");
  EXPECT_EQ(r.pairs[0].channels_absorbed, 8);  // every bias is >= 1, the weights small
  EXPECT_GT(r.pairs[0].mean_absorbed, 0.5);
  // The Gemm had no bias: it got one holding W3 c.
  ASSERT_EQ(after.graph.nodes[6].inputs.size(), 3u);
  EXPECT_TRUE(after.graph.initializers.count(after.graph.nodes[6].inputs[2]));
  for (const auto& feeds : calib) EXPECT_LT(relative_l2(before, after, feeds), 1e-5);
  // The Relu outputs lost their floor: the largest value falls by at least the smallest c.
  const SessionOptions ref{.fast = false};
  const double r1_before = largest(measure_channels(before, {{"r1", 1}}, batches_of(calib), ref));
  const double r1_after = largest(measure_channels(after, {{"r1", 1}}, batches_of(calib), ref));
  EXPECT_LT(r1_after, r1_before - 0.5);
  std::vector<ChannelStats> low = measure_channels(after, {{"c1", 1}}, batches_of(calib), ref);
  for (double v : low[0].min) EXPECT_NEAR(v, 0.0, 1e-5);  // each channel now reaches 0
}

TEST(HighBiasAbsorption, PaddedSecondConvIsSkipped) {
  Model m = high_bias_cnn(1);
  Batches calib = random_batches(m, 2, 20);
  const Tensor b1 = m.graph.initializers.at("b1");
  HighBiasReport r = absorb_high_bias(m, batches_of(calib));
  ASSERT_EQ(r.pairs.size(), 1u);  // only conv2 -> Gemm
  EXPECT_EQ(r.pairs[0].first, "Conv_2");
  EXPECT_EQ(m.graph.initializers.at("b1").data<float>()[0], b1.data<float>()[0]);
  EXPECT_THROW(absorb_high_bias(m, batches_of(Batches{})), Error);
}

}  // namespace
}  // namespace nnaccel
