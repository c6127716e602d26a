// Optimizers, gradient clipping and learning-rate schedules against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "nnaccel/error.hpp"
#include "nnaccel/train.hpp"

namespace nnaccel {
namespace {

struct OneParam {
  std::map<std::string, Tensor> params;
  std::map<std::string, Tensor> grads;
  OneParam(Shape shape, float p) {
    params["w"] =
        Tensor::from_f32(shape, std::vector<float>(static_cast<size_t>(shape_numel(shape)), p));
    grads["w"] = Tensor(DType::f32, shape);
  }
  void set_grad(float g) {
    for (int64_t i = 0; i < grads["w"].numel(); ++i) grads["w"].data<float>()[i] = g;
  }
  float w() { return params["w"].data<float>()[0]; }
};

TEST(OptimizerTest, SgdMomentumMatchesPyTorchRule) {
  OptimizerConfig c;
  c.kind = OptimizerKind::sgd;
  c.momentum = 0.9f;
  Optimizer opt(c);
  OneParam p({3}, 1.0f);
  p.set_grad(0.5f);
  opt.step(p.params, p.grads, 0.1f);  // buf = 0.5, w = 1 - 0.05
  EXPECT_FLOAT_EQ(p.w(), 0.95f);
  opt.step(p.params, p.grads, 0.1f);  // buf = 0.9 * 0.5 + 0.5 = 0.95, w = 0.95 - 0.095
  EXPECT_FLOAT_EQ(p.w(), 0.855f);
  EXPECT_EQ(opt.steps(), 2);
  EXPECT_FLOAT_EQ(opt.state().at("w/momentum").data<float>()[2], 0.95f);
}

TEST(OptimizerTest, SgdNesterov) {
  OptimizerConfig c;
  c.momentum = 0.9f;
  c.nesterov = true;
  Optimizer opt(c);
  OneParam p({2}, 1.0f);
  p.set_grad(0.5f);
  opt.step(p.params, p.grads, 0.1f);  // buf = 0.5, d = 0.5 + 0.45 = 0.95
  EXPECT_FLOAT_EQ(p.w(), 0.905f);
  opt.step(p.params, p.grads, 0.1f);  // buf = 0.95, d = 0.5 + 0.855 = 1.355
  EXPECT_FLOAT_EQ(p.w(), 0.7695f);
}

TEST(OptimizerTest, WeightDecaySkipsBiasesAndScales) {
  OptimizerConfig c;
  c.momentum = 0.0f;
  c.weight_decay = 0.1f;
  Optimizer opt(c);
  std::map<std::string, Tensor> params{{"w", Tensor::from_f32({1, 1}, {1.0f})},
                                       {"b", Tensor::from_f32({1}, {1.0f})}};
  std::map<std::string, Tensor> grads{{"w", Tensor::from_f32({1, 1}, {0.5f})},
                                      {"b", Tensor::from_f32({1}, {0.5f})}};
  opt.step(params, grads, 0.1f);
  EXPECT_FLOAT_EQ(params["w"].data<float>()[0], 1.0f - 0.1f * (0.5f + 0.1f));
  EXPECT_FLOAT_EQ(params["b"].data<float>()[0], 0.95f);
}

// Kingma & Ba, Algorithm 1, written out in double.
double adam_reference(const std::vector<double>& g, double lr, double b1, double b2, double eps,
                      double w, double decoupled_wd = 0) {
  double m = 0, v = 0;
  for (size_t t = 1; t <= g.size(); ++t) {
    w -= lr * decoupled_wd * w;
    m = b1 * m + (1 - b1) * g[t - 1];
    v = b2 * v + (1 - b2) * g[t - 1] * g[t - 1];
    const double mhat = m / (1 - std::pow(b1, t)), vhat = v / (1 - std::pow(b2, t));
    w -= lr * mhat / (std::sqrt(vhat) + eps);
  }
  return w;
}

TEST(OptimizerTest, AdamTwoStepsMatchThePaper) {
  OptimizerConfig c;
  c.kind = OptimizerKind::adam;
  Optimizer opt(c);
  OneParam p({5}, 1.0f);
  p.set_grad(0.5f);
  opt.step(p.params, p.grads, 0.1f);
  EXPECT_NEAR(p.w(), 0.9, 1e-6);  // the first step moves by lr whatever the gradient's size
  p.set_grad(-0.25f);
  opt.step(p.params, p.grads, 0.1f);
  // m = 0.02, v = 3.1225e-4, m^ = 0.105263, v^ = 0.156203: w = 0.9 - 0.1 * 0.105263 / 0.395225
  EXPECT_NEAR(p.w(), 0.873367, 1e-5);
  EXPECT_NEAR(p.w(), adam_reference({0.5, -0.25}, 0.1, 0.9, 0.999, 1e-8, 1.0), 1e-6);
  EXPECT_NEAR(opt.state().at("w/m").data<float>()[0], 0.02, 1e-7);
  EXPECT_NEAR(opt.state().at("w/v").data<float>()[0], 3.1225e-4, 1e-8);  // 1 - 0.999f is inexact
}

TEST(OptimizerTest, AdamWDecouplesWeightDecay) {
  OptimizerConfig c;
  c.kind = OptimizerKind::adamw;
  c.weight_decay = 0.01f;
  Optimizer opt(c);
  OneParam p({2, 2}, 2.0f);
  const std::vector<double> g{0.3, 0.7, -0.2};
  for (double gi : g) {
    p.set_grad(static_cast<float>(gi));
    opt.step(p.params, p.grads, 0.05f);
  }
  EXPECT_NEAR(p.w(), adam_reference(g, 0.05, 0.9, 0.999, 1e-8, 2.0, 0.01), 1e-6);
  // Plain Adam with the same decay as L2 lands elsewhere: the two are really different.
  OptimizerConfig l2 = c;
  l2.kind = OptimizerKind::adam;
  Optimizer opt2(l2);
  OneParam q({2, 2}, 2.0f);
  for (double gi : g) {
    q.set_grad(static_cast<float>(gi));
    opt2.step(q.params, q.grads, 0.05f);
  }
  EXPECT_GT(std::abs(q.w() - p.w()), 1e-4);
}

TEST(OptimizerTest, RestoredStateContinuesIdentically) {
  OptimizerConfig c;
  c.kind = OptimizerKind::adam;
  Optimizer a(c), b(c);
  OneParam pa({4}, 1.0f), pb({4}, 1.0f);
  pa.set_grad(0.3f);
  a.step(pa.params, pa.grads, 0.01f);
  b.restore(a.state(), a.steps());
  pb.params["w"] = pa.params["w"].clone();
  pa.set_grad(-0.1f);
  pb.set_grad(-0.1f);
  a.step(pa.params, pa.grads, 0.01f);
  b.step(pb.params, pb.grads, 0.01f);
  EXPECT_EQ(pa.w(), pb.w());
}

TEST(OptimizerTest, MissingGradientAndBadConfigThrow) {
  Optimizer opt(OptimizerConfig{});
  std::map<std::string, Tensor> params{{"w", Tensor::from_f32({1}, {1.0f})}};
  std::map<std::string, Tensor> grads;
  EXPECT_THROW(opt.step(params, grads, 0.1f), Error);
  OptimizerConfig bad;
  bad.momentum = 1.5f;
  EXPECT_THROW(Optimizer{bad}, Error);
  EXPECT_THROW(parse_optimizer_kind("lion"), Error);
  EXPECT_EQ(parse_optimizer_kind("adamw"), OptimizerKind::adamw);
}

TEST(ClipTest, ScalesToTheGlobalNorm) {
  std::map<std::string, Tensor> g{{"a", Tensor::from_f32({1}, {3.0f})},
                                  {"b", Tensor::from_f32({1}, {4.0f})}};
  EXPECT_DOUBLE_EQ(clip_grad_global_norm(g, 1.0), 5.0);
  EXPECT_NEAR(g["a"].data<float>()[0], 0.6f, 1e-6);
  EXPECT_NEAR(g["b"].data<float>()[0], 0.8f, 1e-6);
  EXPECT_NEAR(clip_grad_global_norm(g, 10.0), 1.0, 1e-6);  // below the bound: unchanged
  EXPECT_NEAR(g["b"].data<float>()[0], 0.8f, 1e-6);
}

TEST(ScheduleTest, WarmupThenCosine) {
  ScheduleConfig c;
  c.kind = ScheduleKind::cosine;
  c.base_lr = 1.0f;
  c.warmup_steps = 4;
  c.total_steps = 14;
  EXPECT_FLOAT_EQ(learning_rate(c, 0), 0.25f);
  EXPECT_FLOAT_EQ(learning_rate(c, 1), 0.5f);
  EXPECT_FLOAT_EQ(learning_rate(c, 3), 1.0f);
  EXPECT_FLOAT_EQ(learning_rate(c, 4), 1.0f);
  EXPECT_NEAR(learning_rate(c, 9), 0.5f, 1e-6);  // half way: (1 + cos(pi/2)) / 2
  EXPECT_NEAR(learning_rate(c, 6), 0.5 * (1 + std::cos(M_PI * 0.2)), 1e-6);
  EXPECT_NEAR(learning_rate(c, 14), 0.0f, 1e-7);
  EXPECT_NEAR(learning_rate(c, 20), 0.0f, 1e-7);  // past the end: stays at min_lr
  c.min_lr = 0.1f;
  EXPECT_NEAR(learning_rate(c, 9), 0.55f, 1e-6);
}

TEST(ScheduleTest, StepDecayAndConstant) {
  ScheduleConfig c;
  c.kind = ScheduleKind::step;
  c.base_lr = 1.0f;
  c.step_size = 3;
  c.gamma = 0.1f;
  EXPECT_FLOAT_EQ(learning_rate(c, 2), 1.0f);
  EXPECT_FLOAT_EQ(learning_rate(c, 3), 0.1f);
  EXPECT_FLOAT_EQ(learning_rate(c, 6), 0.01f);
  c.kind = ScheduleKind::constant;
  c.warmup_steps = 2;
  EXPECT_FLOAT_EQ(learning_rate(c, 0), 0.5f);
  EXPECT_FLOAT_EQ(learning_rate(c, 100), 1.0f);
  c.kind = ScheduleKind::cosine;
  c.total_steps = 2;  // not longer than the warm-up
  EXPECT_THROW(learning_rate(c, 5), Error);
  EXPECT_THROW(parse_schedule_kind("linear"), Error);
}

}  // namespace
}  // namespace nnaccel
