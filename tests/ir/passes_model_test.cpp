// optimize() on a tiny torch export (tests/ir/data/make_conv_bn.py) that keeps its BatchNorms.
#include <gtest/gtest.h>

#include "ir/passes/passes.hpp"
#include "ir/passes_test_util.hpp"
#include "nnaccel/onnx_io.hpp"

namespace nnaccel {
namespace {

using namespace testing;

TEST(PassOptimizeModel, TorchConvBnExportLosesBatchnormsAndShapeArithmetic) {
  Model m = load_onnx(std::string(NNACCEL_SOURCE_DIR) + "/tests/ir/data/conv_bn.onnx");
  ASSERT_EQ(count_ops(m, "BatchNormalization"), 3);
  Model opt = m;
  optimize(opt, OptimizeOptions{.fuse = false});
  std::vector<std::string> ops;
  for (const Node& n : opt.graph.nodes) ops.push_back(n.op_type);
  EXPECT_EQ(ops, (std::vector<std::string>{"Conv", "Relu", "Conv", "Reshape", "Gemm"}));
  // Weights and biases of the two Convs and the Gemm, and the Reshape target.
  EXPECT_EQ(opt.graph.initializers.size(), 7u);
  for (uint32_t seed : {1u, 2u, 3u}) expect_same_outputs(m, opt, seed);
  // With fusion the ReLU goes into the first Conv.
  Model fused = m;
  optimize(fused);
  EXPECT_EQ(count_ops(fused, "FusedConv"), 1);
  EXPECT_EQ(fused.graph.nodes.size(), 4u);
  for (uint32_t seed : {1u, 2u, 3u}) expect_same_outputs(m, fused, seed);
}

}  // namespace
}  // namespace nnaccel
