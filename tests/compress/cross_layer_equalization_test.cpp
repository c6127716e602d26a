// Cross-layer equalization keeps a model's function, balances the per-channel weight ranges, and so
// makes per-tensor int8 quantization of an imbalanced model much more accurate.
#include "compress/quantize/cross_layer_equalization.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "compress/quant_model_test_util.hpp"

namespace nnaccel {
namespace {

using namespace testing;

// The largest |w| of each slice along `axis` (for a Conv weight: 0 = output, 1 = input channel).
std::vector<double> channel_ranges(const Tensor& w, int axis) {
  int64_t inner = 1;
  for (int d = axis + 1; d < w.rank(); ++d) inner *= w.dim(d);
  std::vector<double> r(static_cast<size_t>(w.dim(axis)), 0.0);
  for (int64_t k = 0; k < w.numel(); ++k) {
    double& v = r[static_cast<size_t>((k / inner) % w.dim(axis))];
    v = std::max(v, std::fabs(static_cast<double>(w.data<float>()[k])));
  }
  return r;
}

TEST(CrossLayerEqualization, ConvReluConvReluGemmKeepsOutputsAndBalancesRanges) {
  Model before = imbalanced_cnn(7, 3.0);
  Model after = before;
  CleReport report = cross_layer_equalize(after);
  ASSERT_EQ(report.pairs.size(), 2u);
  EXPECT_TRUE(report.converged);
  EXPECT_EQ(report.pairs[0].first, "Conv_0");
  EXPECT_EQ(report.pairs[0].second, "Conv_3");
  EXPECT_EQ(report.pairs[0].path, "Relu>MaxPool");
  EXPECT_EQ(report.pairs[0].channels, 16);
  EXPECT_EQ(report.pairs[1].first, "Conv_3");
  EXPECT_EQ(report.pairs[1].second, "Gemm_6");
  EXPECT_EQ(report.pairs[1].path, "Relu>Flatten");
  EXPECT_EQ(report.pairs[1].channels, 24);
  for (const ClePair& p : report.pairs) {
    // Three decades of imbalance: the spread falls by well over 10x.
    EXPECT_GT(p.first_spread_before, 100.0) << p.first;
    EXPECT_LT(p.first_spread_after, p.first_spread_before / 10) << p.first;
  }
  // The spread reported is what the rewritten weights show.
  std::vector<double> r1 = channel_ranges(after.graph.initializers.at("w1"), 0);
  const double lo = *std::min_element(r1.begin(), r1.end());
  const double hi = *std::max_element(r1.begin(), r1.end());
  EXPECT_NEAR(hi / lo, report.pairs[0].first_spread_after, 1e-3 * hi / lo);
  // The function is unchanged, on several batches.
  for (uint32_t seed : {1u, 2u, 3u}) {
    auto feeds = random_feeds(before, seed);
    EXPECT_LT(relative_l2(before, after, feeds), 1e-5) << "seed " << seed;
  }
  // The original model (a copy sharing storage) is untouched.
  EXPECT_EQ(before.graph.initializers.at("w1").data<float>()[0],
            imbalanced_cnn(7, 3.0).graph.initializers.at("w1").data<float>()[0]);
}

// Conv 1x1 -> Relu -> depthwise 3x3 -> Relu -> Conv 1x1, as in a MobileNet block.
Model depthwise_chain(uint32_t seed) {
  GraphBuilder b;
  b.input("x", {1, 8, 6, 6});
  std::vector<float> f = channel_factors(16, seed, 2.5);
  std::vector<float> g = channel_factors(16, seed + 1, 2.5);
  b.init("w1", scale_axis(random_tensor({16, 8, 1, 1}, seed + 2), 0, f, false));
  b.init("b1", scale_axis(random_tensor({16}, seed + 3, 0.0f, 0.5f), 0, f, false));
  b.init("wd", scale_axis(random_tensor({16, 1, 3, 3}, seed + 4), 0, g, false));
  b.init("bd", random_tensor({16}, seed + 5));
  b.init("w2", random_tensor({4, 16, 1, 1}, seed + 6));
  b.node("Conv", {"x", "w1", "b1"}, {"c1"});
  b.node("Relu", {"c1"}, {"r1"});
  b.node("Conv", {"r1", "wd", "bd"}, {"c2"},
         {Attribute::of_int("group", 16), Attribute::of_ints("pads", {1, 1, 1, 1})});
  b.node("Relu", {"c2"}, {"r2"});
  b.node("Conv", {"r2", "w2"}, {"y"});
  b.output("y");
  return b.m;
}

TEST(CrossLayerEqualization, DepthwiseTripleEndsWithEqualRanges) {
  Model before = depthwise_chain(11);
  Model after = before;
  CleReport report = cross_layer_equalize(after);
  ASSERT_EQ(report.pairs.size(), 2u);
  EXPECT_TRUE(report.converged);
  EXPECT_GT(report.sweeps, 1);  // the triple needs iterating, not one pass
  for (uint32_t seed : {1u, 2u}) {
    auto feeds = random_feeds(before, seed);
    EXPECT_LT(relative_l2(before, after, feeds), 1e-5);
  }
  // Converged: each channel has one range across the three layers, the cube root of the product of
  // its three original ranges.
  std::vector<double> a0 = channel_ranges(before.graph.initializers.at("w1"), 0);
  std::vector<double> d0 = channel_ranges(before.graph.initializers.at("wd"), 0);
  std::vector<double> b0 = channel_ranges(before.graph.initializers.at("w2"), 1);
  std::vector<double> a = channel_ranges(after.graph.initializers.at("w1"), 0);
  std::vector<double> d = channel_ranges(after.graph.initializers.at("wd"), 0);
  std::vector<double> b = channel_ranges(after.graph.initializers.at("w2"), 1);
  for (size_t i = 0; i < a.size(); ++i) {
    const double want = std::cbrt(a0[i] * d0[i] * b0[i]);
    EXPECT_NEAR(a[i], want, 1e-3 * want) << "channel " << i;
    EXPECT_NEAR(d[i], want, 1e-3 * want) << "channel " << i;
    EXPECT_NEAR(b[i], want, 1e-3 * want) << "channel " << i;
  }
  for (const ClePair& p : report.pairs) EXPECT_LT(p.first_spread_after, p.first_spread_before);
}

// Conv -> Clip(0, 6) -> Conv.
Model relu6_pair() {
  GraphBuilder b;
  b.input("x", {1, 4, 5, 5});
  std::vector<float> f = channel_factors(8, 3, 2.0);
  b.init("w1", scale_axis(random_tensor({8, 4, 3, 3}, 21), 0, f, false));
  b.init("b1", random_tensor({8}, 22));
  b.init("w2", random_tensor({6, 8, 1, 1}, 23));
  b.init("lo", Tensor::scalar_f32(0.0f));
  b.init("hi", Tensor::scalar_f32(6.0f));
  b.node("Conv", {"x", "w1", "b1"}, {"c1"});
  b.node("Clip", {"c1", "lo", "hi"}, {"r1"});
  b.node("Conv", {"r1", "w2"}, {"y"});
  b.output("y");
  return b.m;
}

TEST(CrossLayerEqualization, Relu6PairIsSkippedUnlessReplacingItByRelu) {
  Model before = relu6_pair();
  Model kept = before;
  CleReport skipped = cross_layer_equalize(kept);
  EXPECT_TRUE(skipped.pairs.empty());
  EXPECT_EQ(skipped.pairs_skipped_clip, 1);
  EXPECT_EQ(count_ops(kept, "Clip"), 1);
  EXPECT_EQ(relative_l2(before, kept, random_feeds(before, 1)), 0.0);

  Model replaced = before;
  CleReport r = cross_layer_equalize(replaced, CleOptions{.relu6_to_relu = true});
  ASSERT_EQ(r.pairs.size(), 1u);
  EXPECT_EQ(r.clips_replaced, 1);
  EXPECT_EQ(count_ops(replaced, "Clip"), 0);
  EXPECT_EQ(count_ops(replaced, "Relu"), 1);
  EXPECT_EQ(replaced.graph.initializers.count("hi"), 0u);
  EXPECT_LT(r.pairs[0].first_spread_after, r.pairs[0].first_spread_before);
  // Equal to the Relu model (Clip replaced, nothing rescaled): equalization itself is exact.
  Model relu = before;
  relu.graph.nodes[1].op_type = "Relu";
  relu.graph.nodes[1].inputs.resize(1);
  EXPECT_LT(relative_l2(relu, replaced, random_feeds(before, 2)), 1e-5);
}

TEST(CrossLayerEqualization, SharedWeightsAndBranchesAreLeftAlone) {
  Model m = depthwise_chain(5);
  // A second reader of r1 (a graph output): the first pair is no longer safe to rescale.
  m.graph.outputs.push_back(ValueInfo{"r1", {}, ""});
  Model before = m;
  CleReport r = cross_layer_equalize(m);
  ASSERT_EQ(r.pairs.size(), 1u);
  EXPECT_EQ(r.pairs[0].first, "Conv_2");
  EXPECT_EQ(m.graph.initializers.at("w1").data<float>()[3],
            before.graph.initializers.at("w1").data<float>()[3]);
  auto feeds = random_feeds(before, 4);
  Session a(before, SessionOptions{.fast = false}), b(m, SessionOptions{.fast = false});
  auto oa = a.run(feeds), ob = b.run(feeds);
  for (size_t k = 0; k < oa.size(); ++k) expect_close(ob[k], oa[k], 1e-4, 1e-5);
}

// Gemm -> Relu -> MatMul -> Add -> Relu -> Gemm(transB): features on the last axis, the Add's
// constant scaled with the MatMul's output channels.
TEST(CrossLayerEqualization, MlpWithGemmMatMulAndAddedBias) {
  GraphBuilder b;
  b.input("x", {5, 12});
  std::vector<float> f = channel_factors(20, 41, 2.0), g = channel_factors(9, 42, 2.0);
  b.init("w1", scale_axis(random_tensor({12, 20}, 43), 1, f, false));
  b.init("b1", scale_axis(random_tensor({20}, 44), 0, f, false));
  b.init("w2", scale_axis(random_tensor({20, 9}, 45), 1, g, false));
  b.init("b2", scale_axis(random_tensor({9}, 46), 0, g, false));
  b.init("w3", random_tensor({4, 9}, 47));
  b.node("Gemm", {"x", "w1", "b1"}, {"h1"});
  b.node("Relu", {"h1"}, {"r1"});
  b.node("MatMul", {"r1", "w2"}, {"m2"});
  b.node("Add", {"b2", "m2"}, {"h2"});
  b.node("Relu", {"h2"}, {"r2"});
  b.node("Gemm", {"r2", "w3"}, {"y"}, {Attribute::of_int("transB", 1)});
  b.output("y");
  Model before = b.m, after = b.m;
  CleReport r = cross_layer_equalize(after);
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_EQ(r.pairs[0].path, "Relu");
  EXPECT_EQ(r.pairs[1].path, "Add>Relu");
  EXPECT_EQ(r.pairs[1].channels, 9);
  for (const ClePair& p : r.pairs) EXPECT_LT(p.first_spread_after, p.first_spread_before / 3);
  EXPECT_NE(after.graph.initializers.at("b2").data<float>()[0],
            before.graph.initializers.at("b2").data<float>()[0]);
  EXPECT_LT(relative_l2(before, after, random_feeds(before, 3)), 1e-5);
}

TEST(CrossLayerEqualization, PerTensorInt8OfAnImbalancedModelGainsSqnr) {
  Model fp = imbalanced_cnn(3, 3.0);
  Batches calib = random_batches(fp, 4, 50);
  Batches eval = random_batches(fp, 4, 90);
  const double plain = output_sqnr_db(fp, quantized_copy(fp, calib, false), eval);
  Model eq = fp;
  cross_layer_equalize(eq);
  const double equalized = output_sqnr_db(fp, quantized_copy(eq, calib, false), eval);
  // Measured: 0.05 dB without (the widest channel's grid rounds the others to nothing), 43.2 dB
  // with equalization.
  EXPECT_GT(equalized, plain + 30.0) << "plain " << plain << " dB, equalized " << equalized;
  EXPECT_GT(equalized, 38.0);
}

}  // namespace
}  // namespace nnaccel
