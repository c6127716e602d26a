// The fusing optimizer on small torch exports (tests/ir/data/make_fusion_models.py): the
// decomposed LayerNorms, the GELUs and the conv/activation patterns torch writes are recognized,
// and the outputs stay the same.
#include <gtest/gtest.h>

#include "ir/passes/passes.hpp"
#include "ir/passes_test_util.hpp"
#include "nnaccel/onnx_io.hpp"

namespace nnaccel {
namespace {

using namespace testing;

Model load_data_model(const std::string& name) {
  return load_onnx(std::string(NNACCEL_SOURCE_DIR) + "/tests/ir/data/" + name);
}

std::map<std::string, int> op_histogram(const Model& m) {
  std::map<std::string, int> h;
  for (const Node& n : m.graph.nodes) ++h[n.op_type];
  return h;
}

TEST(FusionModel, EncoderLayerGetsLayerNormsGeluAndFusedMatMuls) {
  Model m = load_data_model("encoder_layer.onnx");
  ASSERT_EQ(count_ops(m, "Erf"), 1);
  Model standard = m;
  optimize(standard, OptimizeOptions{.fuse = false});
  EXPECT_EQ(count_ops(standard, "LayerNormalization"), 2);
  EXPECT_EQ(count_ops(standard, "ReduceMean"), 0);
  EXPECT_EQ(count_ops(standard, "Sqrt"), 0);
  for (const Node& n : standard.graph.nodes) EXPECT_EQ(n.domain, "") << n.op_type;
  for (uint32_t seed : {1u, 2u}) expect_same_outputs(m, standard, seed);

  Model fused = m;
  optimize(fused);
  std::map<std::string, int> h = op_histogram(fused);
  EXPECT_EQ(h["LayerNormalization"], 2);
  EXPECT_EQ(h["Erf"], 0);
  // linear1 + GELU is one FusedMatMul; linear2 and the in-projection take their bias.
  EXPECT_EQ(h["FusedMatMul"], 3);
  EXPECT_EQ(h["MatMul"], 2);  // the attention products (no constant operand)
  for (const Node& n : fused.graph.nodes)
    if (n.op_type == "FusedMatMul" && n.attr_string("activation", "") == "Gelu") ++h["gelu_mm"];
  EXPECT_EQ(h["gelu_mm"], 1);
  EXPECT_LT(fused.graph.nodes.size(), standard.graph.nodes.size());
  for (uint32_t seed : {1u, 2u}) expect_same_outputs(m, fused, seed);
}

TEST(FusionModel, GeluMlpGemmsTakeBothGelus) {
  Model m = load_data_model("gelu_mlp.onnx");
  Model fused = m;
  optimize(fused);
  std::vector<std::string> acts;
  for (const Node& n : fused.graph.nodes) {
    EXPECT_NE(n.op_type, "Gelu");
    if (n.op_type == "FusedGemm") acts.push_back(n.attr_string("activation", ""));
  }
  EXPECT_EQ(acts, (std::vector<std::string>{"Gelu", "GeluTanh"}));
  EXPECT_EQ(fused.graph.nodes.size(), 3u);
  for (uint32_t seed : {1u, 2u}) expect_same_outputs(m, fused, seed);
}

TEST(FusionModel, ResidualBlockBecomesFusedConvs) {
  Model m = load_data_model("residual_block.onnx");
  Model fused = m;
  optimize(fused);
  std::vector<std::string> convs;
  for (const Node& n : fused.graph.nodes)
    if (n.op_type == "FusedConv")
      convs.push_back(n.attr_string("activation", "") + (n.inputs.size() == 4 ? "+Z" : ""));
  // stem: BN + ReLU6; c1: BN + HardSwish (HardSigmoid * x); c2: BN + residual + ReLU; c3: Sigmoid.
  EXPECT_EQ(convs, (std::vector<std::string>{"Clip", "HardSwish", "Relu+Z", "Sigmoid"}));
  EXPECT_EQ(count_ops(fused, "Conv"), 0);
  EXPECT_EQ(count_ops(fused, "FusedGemm"), 1);
  for (uint32_t seed : {1u, 2u}) expect_same_outputs(m, fused, seed);
}

TEST(FusionModel, OptimizedModelsSurviveAnOnnxRoundTrip) {
  Model m = load_data_model("encoder_layer.onnx");
  for (bool fuse : {false, true}) {
    Model opt = m;
    optimize(opt, OptimizeOptions{.fuse = fuse});
    Model back = load_onnx_bytes(serialize_onnx(opt), "");
    EXPECT_EQ(back.graph.nodes.size(), opt.graph.nodes.size());
    EXPECT_EQ(back.opsets.count("ai.nnaccel"), fuse ? 1u : 0u);
    expect_same_outputs(m, back, 3);
  }
}

}  // namespace
}  // namespace nnaccel
