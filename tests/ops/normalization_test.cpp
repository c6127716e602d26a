// Normalization family: BatchNorm (inference and training), Instance/Layer/MeanVariance/Lp
// normalization, LRN, the softmax family and Dropout.
#include "ops/nn_test_util.hpp"

namespace nnaccel::testing {
namespace {

// Mean and population variance of channel c of an [N, C, ...] float tensor.
std::pair<double, double> channel_stats(const Tensor& t, int64_t c) {
  const int64_t n = t.dim(0), ch = t.dim(1), inner = t.numel() / (n * ch);
  double s = 0, sq = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < inner; ++i) s += t.at_f64((b * ch + c) * inner + i);
  const double mean = s / static_cast<double>(n * inner);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < inner; ++i) {
      const double d = t.at_f64((b * ch + c) * inner + i) - mean;
      sq += d * d;
    }
  return {mean, sq / static_cast<double>(n * inner)};
}

TEST(Normalization, BatchNormInference) {
  Tensor x = Tensor::from_f32({1, 2, 1, 2}, {1, 2, 3, 4});
  Tensor scale = Tensor::from_f32({2}, {1, 2}), bias = Tensor::from_f32({2}, {0, 1});
  Tensor mean = Tensor::from_f32({2}, {1, 3}), var = Tensor::from_f32({2}, {4, 1});
  Node n = make_node("BatchNormalization", 5, 1, {Attribute::of_float("epsilon", 0)});
  expect_values(run_op(n, {x, scale, bias, mean, var})[0], {1, 2, 1, 2}, {0, 0.5, 1, 3});
  // Half precision input with float statistics (T, T1 and T2 may differ in opset 15).
  Tensor yh = run_op(n, {cast_tensor(x, DType::f16), scale, bias, mean, var})[0];
  ASSERT_EQ(yh.dtype(), DType::f16);
  expect_values(yh, {1, 2, 1, 2}, {0, 0.5, 1, 3});
  EXPECT_THROW(run_op(n, {x, Tensor::from_f32({3}, {1, 1, 1}), bias, mean, var}), Error);
  EXPECT_THROW(infer_op(n, {ti(DType::f32, {1, 2, 4}), ti(DType::f32, {3}), ti(DType::f32, {2}),
                            ti(DType::f32, {2}), ti(DType::f32, {2})}),
               Error);
}

TEST(Normalization, BatchNormTrainingUsesBatchStatisticsAndUpdatesRunningOnes) {
  Tensor x = random_f32({3, 2, 5}, 1, -2, 3);
  Tensor scale = Tensor::from_f32({2}, {1.5f, 0.5f}), bias = Tensor::from_f32({2}, {0.25f, -1});
  Tensor mean = Tensor::from_f32({2}, {0.1f, 0.2f}), var = Tensor::from_f32({2}, {1, 2});
  Node n = make_node("BatchNormalization", 5, 3,
                     {Attribute::of_int("training_mode", 1), Attribute::of_float("momentum", 0.8f), Attribute::of_float("epsilon", 0)});
  std::vector<Tensor> r = run_op(n, {x, scale, bias, mean, var});
  for (int64_t c = 0; c < 2; ++c) {
    const auto [bm, bv] = channel_stats(x, c);
    const auto [ym, yv] = channel_stats(r[0], c);
    EXPECT_NEAR(ym, bias.data<float>()[c], 1e-5);
    EXPECT_NEAR(yv, scale.data<float>()[c] * scale.data<float>()[c], 1e-5);
    EXPECT_NEAR(r[1].data<float>()[c], mean.data<float>()[c] * 0.8 + bm * 0.2, 1e-5);
    EXPECT_NEAR(r[2].data<float>()[c], var.data<float>()[c] * 0.8 + bv * 0.2, 1e-5);
  }
  std::vector<TypeInfo> t =
      infer_op(n, {ti(DType::f32, {3, 2, 5}), ti(DType::f32, {2}), ti(DType::f32, {2}),
                   ti(DType::f32, {2}), ti(DType::f32, {2})});
  EXPECT_EQ(dims_of(t[1]), (std::vector<int64_t>{2}));
}

TEST(Normalization, InstanceNorm) {
  Tensor x = Tensor::from_f32({1, 1, 1, 4}, {1, 2, 3, 4});
  Tensor y = run_op(make_node("InstanceNormalization", 3, 1, {Attribute::of_float("epsilon", 0)}),
                    {x, Tensor::from_f32({1}, {2}), Tensor::from_f32({1}, {1})})[0];
  const double s = std::sqrt(1.25);
  expect_values(y, {1, 1, 1, 4}, {1 - 3 / s, 1 - 1 / s, 1 + 1 / s, 1 + 3 / s});
  Tensor r = random_f32({2, 3, 4, 5}, 2);
  Tensor yr = run_op(make_node("InstanceNormalization", 3, 1),
                     {r, Tensor::from_f32({3}, {1, 2, 3}), Tensor::from_f32({3}, {0, 0, 0})})[0];
  // Each (n, c) plane comes out with mean 0 and standard deviation |scale|.
  Tensor plane = slice_axis1(yr, 2, 3);
  const auto [m, v] = channel_stats(plane.reshaped({2, 1, 20}), 0);
  EXPECT_NEAR(m, 0, 1e-5);
  EXPECT_NEAR(v, 9, 1e-2);
}

TEST(Normalization, LayerNormOverTrailingAxesWithBroadcastScale) {
  Tensor x = random_f32({2, 3, 4}, 3);
  Tensor scale = random_f32({4}, 4), bias = random_f32({3, 4}, 5);
  Node n = make_node("LayerNormalization", 3, 3, {Attribute::of_int("axis", 1), Attribute::of_float("epsilon", 1e-3f)});
  std::vector<Tensor> r = run_op(n, {x, scale, bias});
  ASSERT_EQ(r[1].shape(), (Shape{2, 1, 1}));
  ASSERT_EQ(r[2].dtype(), DType::f32);
  for (int64_t b = 0; b < 2; ++b) {
    double s = 0, sq = 0;
    for (int64_t i = 0; i < 12; ++i) s += x.data<float>()[b * 12 + i];
    const double mean = s / 12;
    for (int64_t i = 0; i < 12; ++i) sq += std::pow(x.data<float>()[b * 12 + i] - mean, 2);
    const double inv = 1 / std::sqrt(sq / 12 + 1e-3);
    EXPECT_NEAR(r[1].data<float>()[b], mean, 1e-6);
    EXPECT_NEAR(r[2].data<float>()[b], inv, 1e-5);
    for (int64_t i = 0; i < 12; ++i)
      EXPECT_NEAR(r[0].data<float>()[b * 12 + i],
                  (x.data<float>()[b * 12 + i] - mean) * inv * scale.data<float>()[i % 4] +
                      bias.data<float>()[i],
                  1e-5);
  }
  std::vector<TypeInfo> t =
      infer_op(n, {ti(DType::f32, {2, 3, 4}), ti(DType::f32, {4}), ti(DType::f32, {3, 4})});
  EXPECT_EQ(dims_of(t[2]), (std::vector<int64_t>{2, 1, 1}));
  // Default axis -1 without bias; a scale that does not broadcast is an error.
  Tensor y = run_op(make_node("LayerNormalization", 2, 1), {x, scale})[0];
  EXPECT_EQ(y.shape(), x.shape());
  EXPECT_THROW(run_op(make_node("LayerNormalization", 2, 1), {x, random_f32({3}, 6)}), Error);
  EXPECT_THROW(run_op(make_node("LayerNormalization", 2, 1, {Attribute::of_int("axis", 3)}), {x, scale}),
               Error);
}

TEST(Normalization, MeanVarianceNormalization) {
  Tensor x = random_f32({2, 3, 4, 5}, 7, 0, 4);
  Tensor y = run_op(make_node("MeanVarianceNormalization", 1, 1), {x})[0];
  for (int64_t c = 0; c < 3; ++c) {
    const auto [m, v] = channel_stats(y, c);
    EXPECT_NEAR(m, 0, 1e-5);
    EXPECT_NEAR(v, 1, 1e-5);
  }
  Tensor small = Tensor::from_f32({1, 4}, {1, 2, 3, 4});
  Tensor ys =
      run_op(make_node("MeanVarianceNormalization", 1, 1, {Attribute::of_ints("axes", {1})}), {small})[0];
  const double s = std::sqrt(1.25);
  expect_values(ys, {1, 4}, {-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s});
  EXPECT_THROW(
      run_op(make_node("MeanVarianceNormalization", 1, 1, {Attribute::of_ints("axes", {1, -1})}), {small}),
      Error);
}

TEST(Normalization, LpNormalizationAndLRN) {
  Tensor x = Tensor::from_f32({2, 2}, {3, 4, 0, 0});
  expect_values(run_op(make_node("LpNormalization", 1, 1), {x})[0], {2, 2}, {0.6, 0.8, 0, 0});
  expect_values(run_op(make_node("LpNormalization", 1, 1, {Attribute::of_int("p", 1)}), {x})[0], {2, 2},
                {3.0 / 7, 4.0 / 7, 0, 0});
  expect_values(run_op(make_node("LpNormalization", 1, 1, {Attribute::of_int("axis", 0)}), {x})[0], {2, 2},
                {1, 1, 0, 0});
  EXPECT_THROW(run_op(make_node("LpNormalization", 1, 1, {Attribute::of_int("p", 3)}), {x}), Error);
  Tensor c = Tensor::from_f32({1, 3, 1, 1}, {1, 2, 3});
  Node lrn = make_node(
      "LRN", 1, 1, {Attribute::of_int("size", 3), Attribute::of_float("alpha", 3), Attribute::of_float("beta", 1), Attribute::of_float("bias", 1)});
  expect_values(run_op(lrn, {c})[0], {1, 3, 1, 1}, {1.0 / 6, 2.0 / 15, 3.0 / 14});
  // Even size: no channel before, one after (floor and ceil of (size - 1) / 2).
  Node even = make_node(
      "LRN", 1, 1, {Attribute::of_int("size", 2), Attribute::of_float("alpha", 2), Attribute::of_float("beta", 1), Attribute::of_float("bias", 1)});
  expect_values(run_op(even, {c})[0], {1, 3, 1, 1}, {1.0 / 6, 2.0 / 14, 3.0 / 10});
  EXPECT_THROW(run_op(make_node("LRN", 1, 1), {c}), Error);  // size is required
}

TEST(Normalization, SoftmaxFamily) {
  Tensor x = Tensor::from_f32({1, 3}, {1, 2, 3});
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  expect_values(run_op(make_node("Softmax", 1, 1), {x})[0], {1, 3},
                {std::exp(1.0) / z, std::exp(2.0) / z, std::exp(3.0) / z}, 1e-6);
  expect_values(run_op(make_node("LogSoftmax", 1, 1), {x})[0], {1, 3},
                {1 - std::log(z), 2 - std::log(z), 3 - std::log(z)}, 1e-6);
  Tensor big = Tensor::from_f32({2}, {1000, 1001});
  Tensor sb = run_op(make_node("Softmax", 1, 1), {big})[0];
  EXPECT_NEAR(sb.data<float>()[1], 1 / (1 + std::exp(-1.0)), 1e-6);
  // Along axis 0 of a 3-D tensor every column sums to 1, and LogSoftmax is log(Softmax).
  Tensor r = random_f32({3, 4, 5}, 8, -3, 3);
  Tensor s = run_op(make_node("Softmax", 1, 1, {Attribute::of_int("axis", 0)}), {r})[0];
  Tensor l = run_op(make_node("LogSoftmax", 1, 1, {Attribute::of_int("axis", -3)}), {r})[0];
  for (int64_t i = 0; i < 20; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < 3; ++j) {
      sum += s.data<float>()[j * 20 + i];
      EXPECT_NEAR(std::log(s.data<float>()[j * 20 + i]), l.data<float>()[j * 20 + i], 1e-5);
    }
    EXPECT_NEAR(sum, 1, 1e-6);
  }
  Tensor h = Tensor::from_f32({2, 3}, {1, 3, 3, -1, -2, -5});
  expect_values(run_op(make_node("Hardmax", 1, 1), {h})[0], {2, 3}, {0, 1, 0, 1, 0, 0});
  expect_values(run_op(make_node("Hardmax", 1, 1, {Attribute::of_int("axis", 0)}), {h})[0], {2, 3},
                {1, 1, 1, 0, 0, 0});
  EXPECT_THROW(run_op(make_node("Softmax", 1, 1, {Attribute::of_int("axis", 2)}), {h}), Error);
  EXPECT_THROW(infer_op(make_node("Hardmax", 1, 1, {Attribute::of_int("axis", -3)}), {ti(DType::f32, {2, 3})}),
               Error);
  Tensor d = run_op(make_node("Softmax", 1, 1), {cast_tensor(x, DType::f64)})[0];
  EXPECT_EQ(d.dtype(), DType::f64);
  EXPECT_NEAR(d.data<double>()[2], std::exp(3.0) / z, 1e-15);
}

TEST(Normalization, DropoutInferenceIsIdentityWithATrueMask) {
  Tensor x = random_f32({3, 4}, 9);
  std::vector<Tensor> r = run_op(make_node("Dropout", 2, 2), {x, Tensor::scalar_f32(0.5f)});
  expect_close(r[0], x, 0);
  ASSERT_EQ(r[1].dtype(), DType::boolean);
  for (int64_t i = 0; i < 12; ++i) EXPECT_TRUE(r[1].data<bool>()[i]);
  EXPECT_FALSE(OpRegistry::instance().find("", "Dropout")->deterministic);
}

Tensor bool_scalar(bool v) {
  Tensor t(DType::boolean, {});
  t.data<bool>()[0] = v;
  return t;
}

TEST(Normalization, DropoutTrainingWithSeedMatchesNumpyDraws) {
  // numpy: np.random.seed(0); np.random.uniform(0, 1, 3) = [0.5488135, 0.7151894, 0.6027634];
  // an element is kept when its draw >= ratio.
  Tensor x = Tensor::from_f32({3}, {1, 2, 3});
  Node n = make_node("Dropout", 3, 2, {Attribute::of_int("seed", 0)});
  std::vector<Tensor> r = run_op(n, {x, Tensor::scalar_f32(0.6f), bool_scalar(true)});
  EXPECT_EQ(r[1].to_i64_vector(), (std::vector<int64_t>{0, 1, 1}));
  expect_values(r[0], {3}, {0, 5, 7.5}, 1e-5);
  r = run_op(n, {x, Tensor::scalar_f32(0.5f), bool_scalar(true)});
  EXPECT_EQ(r[1].to_i64_vector(), (std::vector<int64_t>{1, 1, 1}));
  // Large tensor: the kept fraction is close to 1 - ratio.
  Tensor big = random_f32({100, 100}, 10);
  r = run_op(n, {big, Tensor::scalar_f32(0.3f), bool_scalar(true)});
  int64_t kept = 0;
  for (int64_t i = 0; i < big.numel(); ++i) kept += r[1].data<bool>()[i];
  EXPECT_NEAR(static_cast<double>(kept) / big.numel(), 0.7, 0.02);
  // ratio 0 in training is the identity; invalid ratio and training_mode are errors.
  expect_close(run_op(n, {x, Tensor::scalar_f32(0), bool_scalar(true)})[0], x, 0);
  EXPECT_THROW(run_op(n, {x, Tensor::scalar_f32(1), bool_scalar(true)}), Error);
  EXPECT_THROW(run_op(n, {x, Tensor::scalar_f32(0.5f), Tensor::scalar_f32(1)}), Error);
}

}  // namespace
}  // namespace nnaccel::testing
