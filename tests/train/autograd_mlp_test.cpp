#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

Tensor random_f32_tensor(const Shape& shape, uint32_t seed, float scale) {
  Tensor t(DType::f32, shape);
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0, scale);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

// A two-layer MLP (Gemm, Relu, Gemm with transB, SoftmaxCrossEntropyLoss) in f32 on random data
// with labels from a random linear teacher: 20 steps of plain gradient descent lower the loss.
TEST(AutogradMlp, LossFallsUnderGradientDescent) {
  const int64_t batch = 32, in = 10, hidden = 24, classes = 4;
  Graph g;
  g.inputs.push_back({"x", TypeInfo::of(DType::f32, {batch, in}), ""});
  g.inputs.push_back({"labels", TypeInfo::of(DType::i64, {batch}), ""});
  g.initializers["w1"] = random_f32_tensor({in, hidden}, 1, 0.3f);
  g.initializers["b1"] = Tensor(DType::f32, {hidden});
  g.initializers["w2"] = random_f32_tensor({classes, hidden}, 2, 0.3f);
  g.initializers["b2"] = Tensor(DType::f32, {classes});
  auto add = [&](const char* op, std::vector<std::string> ins, std::string out,
                 std::vector<Attribute> attrs = {}) {
    Node n;
    n.op_type = op;
    n.name = out;
    n.inputs = std::move(ins);
    n.outputs = {std::move(out)};
    n.attrs = std::move(attrs);
    g.nodes.push_back(n);
  };
  add("Gemm", {"x", "w1", "b1"}, "h");
  add("Relu", {"h"}, "hr");
  add("Gemm", {"hr", "w2", "b2"}, "logits", {Attribute::of_int("transB", 1)});
  add("SoftmaxCrossEntropyLoss", {"logits", "labels"}, "loss");

  const Tensor x = random_f32_tensor({batch, in}, 3, 1.0f);
  const Tensor teacher = random_f32_tensor({in, classes}, 4, 1.0f);
  Tensor labels(DType::i64, {batch});
  for (int64_t b = 0; b < batch; ++b) {
    int64_t best = 0;
    float best_v = -1e30f;
    for (int64_t c = 0; c < classes; ++c) {
      float v = 0;
      for (int64_t i = 0; i < in; ++i)
        v += x.data<float>()[b * in + i] * teacher.data<float>()[i * classes + c];
      if (v > best_v) best_v = v, best = c;
    }
    labels.data<int64_t>()[b] = best;
  }

  const std::vector<std::string> params = {"w1", "b1", "w2", "b2"};
  Autograd ag(g, params, "loss");
  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    ag.forward({{"x", x}, {"labels", labels}});
    losses.push_back(ag.value("loss").at_f64(0));
    auto grads = ag.backward();
    for (const std::string& p : params) {
      Tensor& w = g.initializers[p];
      const Tensor& dw = grads.at(p);
      ASSERT_EQ(dw.shape(), w.shape());
      for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] -= 0.5f * dw.data<float>()[i];
    }
  }
  EXPECT_GT(losses[0], 1.0);  // untrained: no better than chance (log 4 = 1.39)
  EXPECT_LT(losses.back(), 0.6 * losses[0]);
  int rises = 0;
  for (size_t i = 1; i < losses.size(); ++i) rises += losses[i] > losses[i - 1];
  EXPECT_LE(rises, 3);
}

}  // namespace
}  // namespace nnaccel::testing
