// Empirical bias correction removes the mean shift per-tensor int8 weights leave in each output
// channel, on batches it was not fitted on, in the QDQ form (int32 biases at their scale).
#include "compress/quantize/bias_correction.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "compress/quant_model_test_util.hpp"

namespace nnaccel {
namespace {

using namespace testing;

// Per channel (axis 1 of the first output), the mean over `batches` of tested - reference.
std::vector<double> mean_error(const Model& reference, const Model& tested,
                               const Batches& batches) {
  Session a(reference, SessionOptions{.fast = false}), b(tested, SessionOptions{.fast = false});
  std::vector<double> sum;
  double count = 0;
  for (const auto& feeds : batches) {
    Tensor want = a.run(feeds)[0], got = b.run(feeds)[0];
    const int64_t channels = want.dim(1);
    int64_t inner = 1;
    for (int d = 2; d < want.rank(); ++d) inner *= want.dim(d);
    sum.resize(static_cast<size_t>(channels), 0.0);
    for (int64_t k = 0; k < want.numel(); ++k)
      sum[static_cast<size_t>((k / inner) % channels)] +=
          static_cast<double>(got.data<float>()[k]) - want.data<float>()[k];
    count += static_cast<double>(want.numel() / channels);
  }
  for (double& v : sum) v /= count;
  return sum;
}

double mean_abs(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::fabs(x);
  return s / static_cast<double>(v.size());
}

int count_dequantize_of(const Model& m, DType t) {
  int k = 0;
  for (const Node& n : m.graph.nodes)
    if (n.op_type == "DequantizeLinear" && m.graph.initializers.count(n.inputs[0]))
      k += m.graph.initializers.at(n.inputs[0]).dtype() == t;
  return k;
}

TEST(BiasCorrection, PerTensorInt8CnnMeanErrorShrinksPerChannel) {
  Model fp = imbalanced_cnn(5, 1.0);
  Batches calib = random_batches(fp, 8, 10);
  Batches eval = random_batches(fp, 8, 500);
  Model q = quantized_copy(fp, calib, false);
  const std::vector<double> before = mean_error(fp, q, eval);
  const double sqnr_before = output_sqnr_db(fp, q, eval);
  Model corrected = q;
  BiasCorrectionReport report = correct_bias(corrected, fp, calib);
  EXPECT_EQ(report.batches, 8);
  EXPECT_TRUE(report.skipped.empty());
  ASSERT_EQ(report.layers.size(), 3u);
  EXPECT_EQ(report.layers[0].node, "Conv_0");
  EXPECT_EQ(report.layers[0].bias, "int32");
  EXPECT_EQ(report.layers[2].node, "Gemm_6");
  EXPECT_EQ(report.layers[2].channels, 10);
  for (const CorrectedLayer& l : report.layers) EXPECT_GT(l.max_abs_error, 0.0) << l.node;
  // The biases stay int32 through DequantizeLinear, only their values change.
  EXPECT_EQ(count_dequantize_of(corrected, DType::i32), count_dequantize_of(q, DType::i32));
  EXPECT_EQ(count_dequantize_of(corrected, DType::i32), 3);
  const std::vector<double> after = mean_error(fp, corrected, eval);
  // Measured: mean |per-channel mean error| 0.081 -> 0.022 on the held-out batches, 9 channels of
  // 10 closer (what is left is the noise of estimating means from 16 images); output SQNR 20.9 ->
  // 25.2 dB.
  EXPECT_LT(mean_abs(after), 0.5 * mean_abs(before));
  int improved = 0;
  for (size_t c = 0; c < after.size(); ++c) improved += std::fabs(after[c]) < std::fabs(before[c]);
  EXPECT_GE(improved, 8);
  EXPECT_GT(output_sqnr_db(fp, corrected, eval), sqnr_before + 2.0);
  // The model it was copied from (sharing initializer storage) still has its old biases.
  EXPECT_EQ(mean_error(fp, q, eval), before);
}

// The QDQ form with quantized outputs (INT8_CONTRACT placement): a layer whose output is
// quantized writes a renamed float value, and the old name is the DequantizeLinear's. Without
// node names, layers are matched through that Q -> DQ pair.
TEST(BiasCorrection, MatchesRenamedQuantizedOutputsWithoutNodeNames) {
  Model fp = imbalanced_cnn(5, 1.0);
  Batches calib = random_batches(fp, 8, 10);
  Batches eval = random_batches(fp, 8, 500);
  Model q = quantized_copy(fp, calib, false);
  std::string gemm_output;
  for (Node& n : q.graph.nodes) {
    n.name.clear();
    if (n.op_type == "Gemm") gemm_output = n.outputs[0];
  }
  if (gemm_output == "y") {
    // A quantizer that leaves outputs in float: quantize y here as the contract's placement does.
    gemm_output = "y_float";
    for (Node& n : q.graph.nodes)
      if (n.op_type == "Gemm") n.outputs[0] = gemm_output;
    // An output grid wide enough not to clip (clipping would bias the mean itself).
    double absmax = 0;
    for (const ChannelStats& st : measure_channels(fp, {{"y", -1}}, batches_of(eval), {}))
      for (size_t c = 0; c < st.min.size(); ++c)
        absmax = std::max({absmax, std::fabs(st.min[c]), std::fabs(st.max[c])});
    q.graph.initializers["y_scale"] = Tensor::scalar_f32(static_cast<float>(absmax / 100));
    Tensor zp(DType::u8, {});
    zp.data<uint8_t>()[0] = 128;
    q.graph.initializers["y_zero_point"] = zp;
    GraphBuilder extra;
    extra.m = q;
    extra.node("QuantizeLinear", {gemm_output, "y_scale", "y_zero_point"}, {"y_q"});
    extra.node("DequantizeLinear", {"y_q", "y_scale", "y_zero_point"}, {"y"});
    q = extra.m;
  }
  Model corrected = q;
  BiasCorrectionReport report = correct_bias(corrected, fp, calib);
  ASSERT_EQ(report.layers.size(), 3u);
  EXPECT_TRUE(report.skipped.empty());
  EXPECT_EQ(report.layers[2].output, gemm_output);
  EXPECT_LT(mean_abs(mean_error(fp, corrected, eval)), 0.5 * mean_abs(mean_error(fp, q, eval)));
}

// Conv 1x1 -> Relu -> depthwise 3x3 -> Relu -> Conv 1x1 without a bias.
Model depthwise_block(uint32_t seed) {
  GraphBuilder b;
  b.input("x", {2, 8, 6, 6});
  b.init("w1", random_tensor({16, 8, 1, 1}, seed));
  b.init("b1", random_tensor({16}, seed + 1, 0.0f, 0.3f));
  b.init("wd", random_tensor({16, 1, 3, 3}, seed + 2));
  b.init("bd", random_tensor({16}, seed + 3, 0.0f, 0.3f));
  b.init("w2", random_tensor({6, 16, 1, 1}, seed + 4));
  b.node("Conv", {"x", "w1", "b1"}, {"c1"});
  b.node("Relu", {"c1"}, {"r1"});
  b.node("Conv", {"r1", "wd", "bd"}, {"c2"},
         {Attribute::of_int("group", 16), Attribute::of_ints("pads", {1, 1, 1, 1})});
  b.node("Relu", {"c2"}, {"r2"});
  b.node("Conv", {"r2", "w2"}, {"y"});
  b.output("y");
  return b.m;
}

TEST(BiasCorrection, ConvWithoutBiasGetsAnInt32One) {
  Model fp = depthwise_block(31);
  Batches calib = random_batches(fp, 6, 40);
  Batches eval = random_batches(fp, 6, 700);
  Model q = quantized_copy(fp, calib, false);
  ASSERT_EQ(count_dequantize_of(q, DType::i32), 2);
  Model corrected = q;
  BiasCorrectionReport report = correct_bias(corrected, fp, calib);
  ASSERT_EQ(report.layers.size(), 3u);
  EXPECT_EQ(report.layers[2].bias, "int32 added");
  EXPECT_EQ(count_dequantize_of(corrected, DType::i32), 3);
  // The Conv that had no bias (its output may have been renamed by the quantizer).
  std::string unbiased;
  for (const Node& n : q.graph.nodes)
    if (n.op_type == "Conv" && (n.inputs.size() < 3 || n.inputs[2].empty()))
      unbiased = n.outputs[0];
  const Node* last = nullptr;
  for (const Node& n : corrected.graph.nodes)
    if (n.op_type == "Conv" && n.outputs[0] == unbiased) last = &n;
  ASSERT_NE(last, nullptr);
  ASSERT_EQ(last->inputs.size(), 3u);
  // The added bias is at scale x_scale * w_scale and holds the correction.
  const Node* bias_dq = nullptr;
  for (const Node& n : corrected.graph.nodes)
    if (n.outputs[0] == last->inputs[2]) bias_dq = &n;
  ASSERT_NE(bias_dq, nullptr);
  EXPECT_EQ(bias_dq->op_type, "DequantizeLinear");
  // Its scale is quantize_to_qdq's form: Mul of the input's and the weight's scale initializers.
  const auto producer = [&](const std::string& value) -> const Node* {
    for (const Node& n : corrected.graph.nodes)
      if (n.outputs[0] == value) return &n;
    return nullptr;
  };
  const Node* scale = producer(bias_dq->inputs[1]);
  const Node* x_dq = producer(last->inputs[0]);
  const Node* w_dq = producer(last->inputs[1]);
  ASSERT_TRUE(scale != nullptr && x_dq != nullptr && w_dq != nullptr);
  EXPECT_EQ(scale->op_type, "Mul");
  EXPECT_EQ(scale->inputs, (std::vector<std::string>{x_dq->inputs[1], w_dq->inputs[1]}));
  const Tensor& bq = corrected.graph.initializers.at(bias_dq->inputs[0]);
  int nonzero = 0;
  for (int64_t c = 0; c < bq.numel(); ++c) nonzero += bq.data<int32_t>()[c] != 0;
  EXPECT_GT(nonzero, 0);
  const std::vector<double> before = mean_error(fp, q, eval),
                            after = mean_error(fp, corrected, eval);
  // Measured: 0.0088 -> 0.0042.
  EXPECT_LT(mean_abs(after), 0.5 * mean_abs(before));
}

// MatMul -> Add -> Relu -> MatMul -> Add: the biases are the Adds' float constants.
TEST(BiasCorrection, MatMulBiasInAFollowingAdd) {
  GraphBuilder b;
  b.input("x", {16, 12});
  b.init("w1", random_tensor({12, 20}, 61));
  b.init("b1", random_tensor({20}, 62, 0.0f, 0.5f));
  b.init("w2", random_tensor({20, 7}, 63));
  b.init("b2", random_tensor({7}, 64));
  b.node("MatMul", {"x", "w1"}, {"m1"});
  b.node("Add", {"m1", "b1"}, {"a1"});
  b.node("Relu", {"a1"}, {"r1"});
  b.node("MatMul", {"r1", "w2"}, {"m2"});
  b.node("Add", {"m2", "b2"}, {"y"});
  b.output("y");
  Model fp = b.m;
  // Inputs with a non-zero mean: the mean of (W_q - W) x is then not zero.
  auto batches = [](int count, uint32_t seed) {
    Batches out;
    for (int k = 0; k < count; ++k)
      out.push_back({{"x", random_tensor({16, 12}, seed + static_cast<uint32_t>(k), 0.0f, 1.0f)}});
    return out;
  };
  Batches calib = batches(8, 80);
  Batches eval = batches(8, 900);
  Model q = quantized_copy(fp, calib, false);
  Model corrected = q;
  BiasCorrectionReport report = correct_bias(corrected, fp, calib);
  ASSERT_EQ(report.layers.size(), 2u);
  // The Add's constant: float, or int32 through DequantizeLinear when the quantizer makes the
  // Add the MatMul's bias.
  for (const CorrectedLayer& l : report.layers)
    EXPECT_TRUE(l.bias == "Add float" || l.bias == "Add int32") << l.bias;
  const std::vector<double> before = mean_error(fp, q, eval),
                            after = mean_error(fp, corrected, eval);
  // Measured: 0.0121 -> 0.0024.
  EXPECT_LT(mean_abs(after), 0.5 * mean_abs(before));
}

TEST(BiasCorrection, OnePassModeAndBadInput) {
  Model fp = imbalanced_cnn(9, 1.0);
  Batches calib = random_batches(fp, 4, 10);
  Model q = quantized_copy(fp, calib, false);
  Model one_pass = q, sequential = q;
  BiasCorrectionReport a =
      correct_bias(one_pass, fp, calib, {.session = {}, .sequential = false, .layers_per_pass = 1});
  BiasCorrectionReport s = correct_bias(sequential, fp, calib);
  ASSERT_EQ(a.layers.size(), s.layers.size());
  // The first layer sees the same model either way.
  EXPECT_DOUBLE_EQ(a.layers[0].mean_abs_error, s.layers[0].mean_abs_error);
  Batches eval = random_batches(fp, 6, 300);
  // Measured: 0.087 uncorrected, 0.062 one pass, 0.025 sequential (one pass over-corrects the shift
  // the earlier layers' corrections remove).
  const double none = mean_abs(mean_error(fp, q, eval));
  const double one = mean_abs(mean_error(fp, one_pass, eval));
  const double seq = mean_abs(mean_error(fp, sequential, eval));
  EXPECT_LT(one, none);
  EXPECT_LT(seq, one);
  // Three layers per pass: the one-pass result, bias for bias.
  Model grouped = q;
  correct_bias(grouped, fp, calib, {.session = {}, .sequential = true, .layers_per_pass = 3});
  int biases = 0;
  for (const auto& [name, t] : one_pass.graph.initializers) {
    if (t.dtype() != DType::i32) continue;
    EXPECT_EQ(grouped.graph.initializers.at(name).to_i64_vector(), t.to_i64_vector()) << name;
    ++biases;
  }
  EXPECT_EQ(biases, 3);
  Model again = q;
  EXPECT_THROW(
      correct_bias(again, fp, calib, {.session = {}, .sequential = true, .layers_per_pass = 0}),
      Error);
  EXPECT_THROW(correct_bias(again, fp, Batches{}), Error);
  Batches wrong = {{{"x", random_tensor({2, 3, 8, 9}, 1)}}};
  EXPECT_THROW(correct_bias(again, fp, wrong), Error);
}

}  // namespace
}  // namespace nnaccel
