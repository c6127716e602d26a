// Dynamic int8 quantization: the standard ONNX form (DynamicQuantizeLinear, MatMulInteger /
// ConvInteger on int8 weights, Cast, Mul, Add) computes what the float model does, to int8
// precision, on random inputs.
#include "compress/quantize/quantize_dynamic.hpp"

#include <gtest/gtest.h>

#include "compress/quant_model_test_util.hpp"
#include "ir/passes_test_util.hpp"
#include "kernels/dnnl/dnnl_int8.hpp"
#include "kernels/simd/isa_cap.hpp"

namespace nnaccel {
namespace {

using testing::count_ops;
using testing::GraphBuilder;
using testing::random_feeds;
using testing::random_tensor;

// MatMul -> Relu -> Gemm (transB, alpha, beta, bias) on [5, 16] rows.
Model mlp() {
  GraphBuilder b;
  b.input("x", {5, 16});
  b.init("w1", random_tensor({16, 12}, 1, -0.5f, 0.5f));
  b.init("w2", random_tensor({7, 12}, 2, -0.5f, 0.5f));
  b.init("c2", random_tensor({7}, 3));
  b.node("MatMul", {"x", "w1"}, {"h"});
  b.node("Relu", {"h"}, {"r"});
  b.node("Gemm", {"r", "w2", "c2"}, {"y"},
         {Attribute::of_int("transB", 1), Attribute::of_float("alpha", 0.5f),
          Attribute::of_float("beta", 2.0f)});
  b.output("y");
  return b.m;
}

// Conv 3 -> 6, 3x3, stride 2, pads 1, with bias, then Relu.
Model cnn() {
  GraphBuilder b;
  b.input("x", {2, 3, 9, 9});
  b.init("w", random_tensor({6, 3, 3, 3}, 4, -0.4f, 0.4f));
  b.init("bias", random_tensor({6}, 5));
  b.node("Conv", {"x", "w", "bias"}, {"c"},
         {Attribute::of_ints("pads", {1, 1, 1, 1}), Attribute::of_ints("strides", {2, 2})});
  b.node("Relu", {"c"}, {"y"});
  b.output("y");
  return b.m;
}

void expect_int8_weights_only(const Model& q) {
  for (const auto& [name, t] : q.graph.initializers)
    // Scales and biases are float vectors ([M] or [M, 1, 1] for a conv); weights have more.
    EXPECT_FALSE(t.dtype() == DType::f32 && t.rank() >= 2 && t.numel() > t.dim(0))
        << name << " is a float weight";
}

TEST(QuantizeDynamic, MatMulAndGemmFollowTheFloatModel) {
  Model f = mlp();
  Model q = f;
  std::vector<QuantizedLayer> layers = quantize_dynamic(q, {});
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(count_ops(q, "MatMul") + count_ops(q, "Gemm"), 0);
  EXPECT_EQ(count_ops(q, "MatMulInteger"), 2);
  EXPECT_EQ(count_ops(q, "DynamicQuantizeLinear"), 2);
  EXPECT_EQ(count_ops(q, "Cast"), 2);
  expect_int8_weights_only(q);
  int int8 = 0;
  for (const auto& [name, t] : q.graph.initializers)
    int8 += t.dtype() == DType::i8 && t.rank() == 2;
  EXPECT_EQ(int8, 2);
  for (const QuantizedLayer& l : layers) EXPECT_GT(l.weight_sqnr_db, 35.0) << l.node;
  testing::Batches batches = testing::random_batches(f, 3, 7);
  EXPECT_GT(testing::output_sqnr_db(f, q, batches), 30.0);
  EXPECT_LT(testing::relative_l2(f, q, batches[0]), 0.03);
}

// The dynamic forms run on the integer kernels (their activation zero point is only known at run
// time), and give the reference interpreter's outputs.
TEST(QuantizeDynamic, RunsOnTheIntegerKernels) {
  if (!dnnl_kernels::cpu_has_exact_int8()) GTEST_SKIP() << "no exact int8 kernels on this CPU";
  for (Model f : {mlp(), cnn()}) {
    Model q = f;
    quantize_dynamic(q, {});
    const auto feeds = random_feeds(q, 11);
    Session fast(q, SessionOptions{.profile = true}), ref(q, SessionOptions{.fast = false});
    const std::vector<Tensor> got = fast.run(feeds), want = ref.run(feeds);
    testing::expect_close(got[0], want[0], 1e-5, 1e-6);
    int integer = 0, on_dnnl = 0, casts_fast = 0;
    for (const NodeTiming& t : fast.profile()) {
      if (t.op_type == "MatMulInteger" || t.op_type == "ConvInteger") {
        ++integer;
        on_dnnl += t.kernel.rfind("dnnl q", 0) == 0;
      }
      casts_fast += t.op_type == "Cast" && t.kernel != "reference";
    }
    EXPECT_GT(integer, 0);
    EXPECT_EQ(on_dnnl, integer);
    EXPECT_EQ(casts_fast, simd::simd_enabled() ? integer : 0);
  }
}

TEST(QuantizeDynamic, ConvFollowsTheFloatModelPerChannelAndPerTensor) {
  for (bool per_channel : {true, false}) {
    Model f = cnn();
    Model q = f;
    DynamicQuantConfig config;
    config.per_channel = per_channel;
    std::vector<QuantizedLayer> layers = quantize_dynamic(q, config);
    ASSERT_EQ(layers.size(), 1u);
    EXPECT_EQ(count_ops(q, "Conv"), 0);
    EXPECT_EQ(count_ops(q, "ConvInteger"), 1);
    expect_int8_weights_only(q);
    if (per_channel)
      EXPECT_LT(layers[0].weight_scale_min, layers[0].weight_scale_max);
    else
      EXPECT_EQ(layers[0].weight_scale_min, layers[0].weight_scale_max);
    testing::Batches batches = testing::random_batches(f, 2, 11);
    EXPECT_GT(testing::output_sqnr_db(f, q, batches), 30.0) << "per_channel " << per_channel;
  }
}

TEST(QuantizeDynamic, ExcludedAndUnselectedNodesStayFloat) {
  Model q = mlp();
  DynamicQuantConfig config;
  config.exclude = {q.graph.nodes[0].name};
  std::vector<QuantizedLayer> layers = quantize_dynamic(q, config);
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0].op_type, "Gemm");
  EXPECT_EQ(count_ops(q, "MatMul"), 1);
  Model only_conv = mlp();
  config.exclude.clear();
  config.op_types = {"Conv"};
  EXPECT_TRUE(quantize_dynamic(only_conv, config).empty());
  EXPECT_EQ(count_ops(only_conv, "MatMulInteger"), 0);
}

TEST(QuantizeDynamic, Int8WeightRoundTripIsWithinHalfAStep) {
  Tensor w = random_tensor({4, 10}, 9, -2.0f, 2.0f);
  Int8Weight q = quantize_weight_int8(w, 0);
  ASSERT_EQ(q.scales.size(), 4u);
  for (int64_t r = 0; r < 4; ++r) {
    float absmax = 0;
    for (int64_t c = 0; c < 10; ++c)
      absmax = std::max(absmax, std::fabs(w.data<float>()[r * 10 + c]));
    EXPECT_FLOAT_EQ(q.scales[static_cast<size_t>(r)], absmax / 127.0f);
    for (int64_t c = 0; c < 10; ++c) {
      const float back = q.values.data<int8_t>()[r * 10 + c] * q.scales[static_cast<size_t>(r)];
      EXPECT_LE(std::fabs(back - w.data<float>()[r * 10 + c]),
                0.5f * q.scales[static_cast<size_t>(r)] * 1.0001f);
    }
  }
  EXPECT_GT(q.sqnr_db, 35.0);
}

}  // namespace
}  // namespace nnaccel
