// Training on channel-blocked activations (train/block_activations.hpp): the rewritten resnet-s
// training graph gives the loss, parameter gradients and BatchNorm running statistics of the
// plain graph, in f32 to float rounding and in bf16 to what bf16 rounding allows; and the blocked
// ops' pieces match their plain references on random data of ragged sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "core/cast.hpp"
#include "kernels/dnnl/dnnl_common.hpp"
#include "nnaccel/train.hpp"
#include "ops/op_test_util.hpp"
#include "train/autograd/autograd.hpp"
#include "train/autograd/blocked_layout.hpp"
#include "train/autograd/blocked_ops.hpp"
#include "train/autograd_test_util.hpp"
#include "train/block_activations.hpp"

namespace nnaccel::testing {
namespace {

struct Step {
  double loss = 0;
  std::map<std::string, Tensor> grads, stats;
  int rewritten = 0;
  std::set<std::string> ops;  // domain::op of the training graph's nodes
};

// One forward and backward of resnet-s on 5 random 3x12x10 images (ragged sizes: the strided
// stages give 6x5 and 3x3).
Step resnet_step(bool blocked, DType dtype, bool bf16_products) {
  ClassifierSpec spec;
  spec.arch = "resnet-s";
  spec.channels = 3;
  spec.height = 12;
  spec.width = 10;
  spec.seed = 3;
  Model m = build_classifier(spec);
  TrainingGraph tg = make_training_graph(m);
  Step s;
  if (blocked) s.rewritten = block_activations(tg, dnnl_kernels::channel_block(), dtype);
  for (const Node& n : tg.graph.nodes) s.ops.insert(n.domain + "::" + n.op_type);
  Autograd ag(tg.graph, tg.params, tg.loss);
  ag.set_bf16_products(bf16_products);
  Tensor labels(DType::i64, {5});
  for (int64_t i = 0; i < 5; ++i) labels.data<int64_t>()[i] = (i * 7) % 10;
  ag.forward({{tg.input, random_f32({5, 3, 12, 10}, 11)}, {tg.labels, labels}});
  s.loss = ag.value(tg.loss).at_f64(0);
  s.grads = ag.backward();
  for (const BatchNormStat& b : tg.bn_stats) s.stats[b.initializer] = ag.value(b.updated);
  return s;
}

class BlockedActivations : public ::testing::Test {
 protected:
  void SetUp() override {
    if (dnnl_kernels::channel_block() == 0) GTEST_SKIP() << "oneDNN has no blocked layout here";
  }
};

// The tolerances hold while no ReLU input lies within float rounding of 0 (then one side or the
// other is taken and that gradient entry differs whole); on these inputs none does.
TEST_F(BlockedActivations, F32StepMatchesThePlainGraph) {
  const Step plain = resnet_step(false, DType::f32, false);
  const Step blocked = resnet_step(true, DType::f32, false);
  // 9 Convs, 9 BatchNorms (4 with their ReLU), 3 Adds (with their ReLU).
  EXPECT_EQ(blocked.rewritten, 28);
  EXPECT_EQ(plain.ops.count("ai.nnaccel.training::Conv"), 0u);
  for (const char* op : {"Conv", "BatchNormalization", "Add", "ToPlain"})
    EXPECT_EQ(blocked.ops.count(std::string("ai.nnaccel.training::") + op), 1u) << op;
  EXPECT_EQ(blocked.ops.count("::Conv"), 0u);
  EXPECT_EQ(blocked.ops.count("::Relu"), 0u);
  EXPECT_NEAR(blocked.loss, plain.loss, 1e-5 * std::fabs(plain.loss));
  ASSERT_EQ(blocked.grads.size(), plain.grads.size());
  for (const auto& [name, g] : plain.grads)
    EXPECT_LT(relative_error(blocked.grads.at(name), g), 1e-4) << name;
  for (const auto& [name, t] : plain.stats)
    EXPECT_LT(relative_error(blocked.stats.at(name), t), 1e-5) << name;
}

TEST_F(BlockedActivations, Bf16StepMatchesThePlainGraphWithinBf16Rounding) {
  if (!dnnl_kernels::cpu_has_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  const Step plain = resnet_step(false, DType::f32, false);
  const Step bf16 = resnet_step(true, DType::bf16, true);
  EXPECT_EQ(bf16.rewritten, 28);
  const Step mixed = resnet_step(false, DType::f32, true);
  EXPECT_NEAR(bf16.loss, plain.loss, 2e-2 * std::fabs(plain.loss));
  EXPECT_NE(bf16.loss, plain.loss);
  // This tiny batch makes BatchNorm's gradients cancel heavily, so bf16 is far off f32 here
  // (0.1-0.5 of the largest value) with plain bf16 products too: blocked bf16 activations must
  // be about as close as those are, gradient by gradient and over all.
  double worst = 0, sum_blocked = 0, sum_products = 0;
  for (const auto& [name, g] : plain.grads) {
    const Tensor& b = bf16.grads.at(name);
    ASSERT_EQ(b.dtype(), DType::f32) << name;
    const double e = relative_error(b, g), e_products = relative_error(mixed.grads.at(name), g);
    worst = std::max(worst, e);
    sum_blocked += e;
    sum_products += e_products;
    EXPECT_LT(e, 2 * e_products + 5e-3) << name;
  }
  EXPECT_LT(sum_blocked, 1.25 * sum_products);
  EXPECT_GT(worst, 1e-4) << "no gradient differs from f32: did bf16 run?";
  for (const auto& [name, t] : plain.stats)
    EXPECT_LT(relative_error(bf16.stats.at(name), t), 2e-2) << name;
}

TEST_F(BlockedActivations, LayersTheBlockDoesNotDivideStayStandard) {
  // LeNet-5's convolutions have 6 and 16 channels and biases: none is rewritten.
  ClassifierSpec spec;
  spec.arch = "lenet5";
  Model m = build_classifier(spec);
  TrainingGraph tg = make_training_graph(m);
  const size_t nodes = tg.graph.nodes.size();
  EXPECT_EQ(block_activations(tg, dnnl_kernels::channel_block(), DType::f32), 0);
  EXPECT_EQ(tg.graph.nodes.size(), nodes);
}

TEST_F(BlockedActivations, LayoutConversionsRoundTrip) {
  const int64_t b = dnnl_kernels::channel_block();
  const Tensor x = random_f32({3, 2 * b, 5, 7}, 21);
  const Tensor blocked = grad::plain_to_blocked(x, b, DType::f32);
  EXPECT_EQ(blocked.shape(), (Shape{3, 2, 5, 7, b}));
  // Element (n, c, h, w) sits at [n][c / b][h][w][c % b].
  const int64_t n = 2, c = b + 3, h = 4, w = 6;
  EXPECT_EQ(blocked.data<float>()[(((n * 2 + c / b) * 5 + h) * 7 + w) * b + c % b],
            x.data<float>()[((n * 2 * b + c) * 5 + h) * 7 + w]);
  const Tensor back = grad::blocked_to_plain(blocked);
  EXPECT_EQ(back.shape(), x.shape());
  EXPECT_EQ(std::memcmp(back.raw(), x.raw(), static_cast<size_t>(x.numel()) * 4), 0);
  const Tensor bf = grad::plain_to_blocked(x, b, DType::bf16);
  EXPECT_EQ(bf.dtype(), DType::bf16);
  EXPECT_LT(relative_error(grad::blocked_to_plain(bf), x), 4e-3);
}

TEST_F(BlockedActivations, ReluGradientFromOutputMasksNonPositives) {
  for (DType t : {DType::f32, DType::bf16}) {
    Tensor y32 = random_f32({1001}, 5);  // odd length: no whole vector at the end
    // Exact zeros and negative zeros pass no gradient.
    y32.data<float>()[10] = 0.0f;
    y32.data<float>()[11] = -0.0f;
    const Tensor y = cast_tensor(y32, t);
    const Tensor dy = cast_tensor(random_f32({1001}, 6), t);
    const Tensor dx = grad::relu_backward_from_output(y, dy);
    for (int64_t i = 0; i < 1001; ++i)
      ASSERT_EQ(dx.at_f64(i), y.at_f64(i) > 0 ? dy.at_f64(i) : 0.0) << i;
  }
}

TEST_F(BlockedActivations, AddWithReluMatchesReference) {
  for (DType t : {DType::f32, DType::bf16}) {
    const Tensor a = cast_tensor(random_f32({3, 2, 5, 3, 16}, 7), t);
    const Tensor b = cast_tensor(random_f32({3, 2, 5, 3, 16}, 8), t);
    const Tensor y = grad::blocked_add(a, b, true);
    ASSERT_EQ(y.dtype(), t);
    for (int64_t i = 0; i < y.numel(); ++i) {
      const double want = std::max(0.0, a.at_f64(i) + b.at_f64(i));
      ASSERT_NEAR(y.at_f64(i), want, t == DType::bf16 ? 1e-2 * std::fabs(want) + 1e-30 : 1e-6) << i;
    }
  }
}

}  // namespace
}  // namespace nnaccel::testing
