// Layer sensitivity: a layer made fragile on purpose (one weight a hundred times the others, so a
// per-tensor int8 grid rounds the rest away) ranks first, far below the others.
#include "compress/quantize/sensitivity.hpp"

#include <gtest/gtest.h>

#include "compress/quant_model_test_util.hpp"
#include "compress/quantize/calibrator.hpp"
#include "ir/passes_test_util.hpp"

namespace nnaccel {
namespace {

using testing::GraphBuilder;
using testing::random_tensor;

// x -> MatMul "first" -> MatMul "fragile" -> MatMul "last" -> y. The fragile layer's weight has
// one entry of 100 among values in [-0.5, 0.5]; the input feature it reads is scaled down by the
// first layer and the output feature it writes is scaled down by the last, so the float model is
// well behaved and only that weight's per-tensor grid hurts.
Model fragile_chain() {
  GraphBuilder b;
  b.input("x", {16, 8});
  Tensor w1 = random_tensor({8, 8}, 1, -0.5f, 0.5f);
  for (int64_t k = 0; k < 8; ++k) w1.data<float>()[k * 8] *= 0.01f;  // feature 0 tiny
  Tensor w2 = random_tensor({8, 8}, 2, -0.5f, 0.5f);
  w2.data<float>()[0] = 100.0f;  // reads the tiny feature 0, writes output feature 0
  Tensor w3 = random_tensor({8, 4}, 3, -0.5f, 0.5f);
  for (int64_t j = 0; j < 4; ++j) w3.data<float>()[j] *= 0.01f;  // feature 0 barely read
  b.init("w1", w1);
  b.init("w2", w2);
  b.init("w3", w3);
  b.node("MatMul", {"x", "w1"}, {"h"}).name = "first";
  b.node("MatMul", {"h", "w2"}, {"g"}).name = "fragile";
  b.node("MatMul", {"g", "w3"}, {"y"}).name = "last";
  b.output("y");
  return b.m;
}

TEST(LayerSensitivity, TheFragileLayerRanksFirst) {
  Model f = fragile_chain();
  QdqConfig config;
  config.per_channel = false;
  testing::Batches batches = testing::random_batches(f, 4, 21);
  Calibrator cal(f, sensitivity_activations(f, config), ObserverConfig{},
                 SessionOptions{.fast = false});
  for (const auto& feeds : batches) cal.observe(feeds);
  std::vector<LayerSensitivity> s = layer_sensitivity(
      f, cal.ranges(), config, output_sqnr_score(f, batches, SessionOptions{.fast = false}));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].node, "fragile");
  EXPECT_EQ(s[0].op_type, "MatMul");
  EXPECT_LE(s[0].score, s[1].score);
  EXPECT_LE(s[1].score, s[2].score);
  EXPECT_LT(s[0].score + 10.0, s[1].score);  // not a close call
  EXPECT_GT(s[1].score, 25.0);               // the other layers quantize well alone
  // Scoring quantizes copies: the float model is unchanged.
  EXPECT_EQ(f.graph.nodes.size(), 3u);
}

TEST(LayerSensitivity, OutputSqnrOfTheModelItselfIsInfinite) {
  Model f = fragile_chain();
  testing::Batches batches = testing::random_batches(f, 1, 5);
  EXPECT_TRUE(std::isinf(output_sqnr_score(f, batches)(f)));
}

}  // namespace
}  // namespace nnaccel
