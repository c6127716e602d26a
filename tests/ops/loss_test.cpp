// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: reductions, weights, ignore_index,
// N-d inputs, the log_prob output, shapes and errors.
#include "ops/nn_test_util.hpp"

namespace nnaccel::testing {
namespace {

Node loss(const std::string& op, int inputs, int outputs, const std::string& reduction,
          std::vector<Attribute> extra = {}) {
  extra.push_back(Attribute::of_string("reduction", reduction));
  return make_node(op, inputs, outputs, std::move(extra));
}

TEST(Loss, NllReductionsAndWeights) {
  Tensor x = Tensor::from_f32({2, 3}, {-1, -2, -3, -4, -5, -6});
  Tensor t = Tensor::from_i64({2}, {0, 2});
  const std::string nll = "NegativeLogLikelihoodLoss";
  expect_values(run_op(loss(nll, 2, 1, "none"), {x, t})[0], {2}, {1, 6});
  expect_values(run_op(loss(nll, 2, 1, "sum"), {x, t})[0], {}, {7});
  expect_values(run_op(loss(nll, 2, 1, "mean"), {x, t})[0], {}, {3.5});
  Tensor w = Tensor::from_f32({3}, {1, 2, 3});
  expect_values(run_op(loss(nll, 3, 1, "none"), {x, t, w})[0], {2}, {1, 18});
  expect_values(run_op(loss(nll, 3, 1, "mean"), {x, t, w})[0], {}, {19.0 / 4});
  // int32 targets work too.
  expect_values(run_op(loss(nll, 2, 1, "sum"), {x, cast_tensor(t, DType::i32)})[0], {}, {7});
}

TEST(Loss, NllIgnoreIndexDropsTargetsFromSumAndMean) {
  Tensor x = Tensor::from_f32({3, 2}, {-1, -2, -3, -4, -5, -6});
  Tensor t = Tensor::from_i64({3}, {1, -1, 0});
  Tensor w = Tensor::from_f32({2}, {2, 3});
  const std::string nll = "NegativeLogLikelihoodLoss";
  Node none = loss(nll, 3, 1, "none", {Attribute::of_int("ignore_index", -1)});
  expect_values(run_op(none, {x, t, w})[0], {3}, {6, 0, 10});
  Node mean = loss(nll, 3, 1, "mean", {Attribute::of_int("ignore_index", -1)});
  expect_values(run_op(mean, {x, t, w})[0], {}, {16.0 / 5});
  // An ignore_index outside [0, C) is fine; other out-of-range targets are errors.
  Node high = loss(nll, 2, 1, "sum", {Attribute::of_int("ignore_index", 10)});
  expect_values(run_op(high, {x, Tensor::from_i64({3}, {10, 1, 10})})[0], {}, {4});
  EXPECT_THROW(run_op(loss(nll, 2, 1, "sum"), {x, t}), Error);
  EXPECT_THROW(run_op(loss(nll, 2, 1, "sum"), {x, Tensor::from_i64({3}, {0, 2, 0})}), Error);
}

TEST(Loss, NllOverSpatialDimsEqualsFlattenedPositions) {
  // [N, C, d1, d2] scores: each (n, d1, d2) position is one sample.
  Tensor x = random_f32({2, 4, 3, 2}, 1, -3, 0);
  Tensor t(DType::i64, {2, 3, 2});
  for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = (i * 7) % 4;
  Tensor y = run_op(loss("NegativeLogLikelihoodLoss", 2, 1, "none"), {x, t})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 3, 2}));
  double sum = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t d = 0; d < 6; ++d) {
      const int64_t cls = t.data<int64_t>()[n * 6 + d];
      const double expected = -x.data<float>()[(n * 4 + cls) * 6 + d];
      EXPECT_NEAR(y.data<float>()[n * 6 + d], expected, 1e-6);
      sum += expected;
    }
  expect_values(run_op(loss("NegativeLogLikelihoodLoss", 2, 1, "mean"), {x, t})[0], {}, {sum / 12});
}

TEST(Loss, SoftmaxCrossEntropyIsNllOfLogSoftmax) {
  Tensor x = random_f32({3, 5, 4}, 2, -2, 2);
  Tensor t(DType::i64, {3, 4});
  for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = (i * 3) % 5;
  t.data<int64_t>()[5] = -7;  // ignored
  Tensor w = random_f32({5}, 3, 0.5f, 2);
  std::vector<Attribute> ii = {Attribute::of_int("ignore_index", -7)};
  for (const char* red : {"none", "sum", "mean"}) {
    std::vector<Tensor> sce = run_op(loss("SoftmaxCrossEntropyLoss", 3, 2, red, ii), {x, t, w});
    Tensor log_prob = run_op(make_node("LogSoftmax", 1, 1, {Attribute::of_int("axis", 1)}), {x})[0];
    expect_close(sce[1], log_prob, 1e-6);
    Tensor nll = run_op(loss("NegativeLogLikelihoodLoss", 3, 1, red, ii), {log_prob, t, w})[0];
    expect_close(sce[0], nll, 1e-6);
  }
  // Default reduction is mean; the log_prob output is optional.
  Tensor m = run_op(make_node("SoftmaxCrossEntropyLoss", 2, 1),
                    {x, Tensor::from_i64({3, 4}, std::vector<int64_t>(12, 1))})[0];
  EXPECT_EQ(m.shape(), Shape{});
  EXPECT_GT(m.data<float>()[0], 0);
}

TEST(Loss, ShapesAndErrors) {
  Node none = loss("SoftmaxCrossEntropyLoss", 2, 2, "none");
  std::vector<TypeInfo> t = infer_op(none, {ti(DType::f32, {3, 5, 6}), ti(DType::i64, {3, 6})});
  EXPECT_EQ(dims_of(t[0]), (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(dims_of(t[1]), (std::vector<int64_t>{3, 5, 6}));
  t = infer_op(loss("NegativeLogLikelihoodLoss", 2, 1, "mean"),
               {ti(DType::f32, {3, 5}), ti(DType::i64, {3})});
  EXPECT_TRUE(t[0].has_shape);
  EXPECT_TRUE(t[0].dims.empty());
  // Target shape must be scores' shape without the class axis; weight one per class.
  EXPECT_THROW(infer_op(none, {ti(DType::f32, {3, 5, 6}), ti(DType::i64, {3, 5})}), Error);
  Tensor x = random_f32({2, 3}, 4);
  Tensor tgt = Tensor::from_i64({2}, {0, 1});
  EXPECT_THROW(run_op(loss("NegativeLogLikelihoodLoss", 2, 1, "mean"),
                      {x, Tensor::from_i64({3}, {0, 1, 2})}),
               Error);
  EXPECT_THROW(run_op(loss("NegativeLogLikelihoodLoss", 3, 1, "mean"),
                      {x, tgt, Tensor::from_f32({2}, {1, 1})}),
               Error);
  EXPECT_THROW(run_op(loss("NegativeLogLikelihoodLoss", 2, 1, "avg"), {x, tgt}), Error);
  EXPECT_THROW(
      run_op(loss("NegativeLogLikelihoodLoss", 2, 1, "sum"), {x, cast_tensor(tgt, DType::f32)}),
      Error);
}

}  // namespace
}  // namespace nnaccel::testing
