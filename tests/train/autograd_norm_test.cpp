#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

std::vector<Tensor> bn_inputs(uint32_t seed) {
  return {random_f64({3, 4, 2, 3}, seed, -2, 2), random_f64({4}, seed + 1, 0.5, 1.5),
          random_f64({4}, seed + 2), random_f64({4}, seed + 3), random_f64({4}, seed + 4, 0.5, 2)};
}

TEST(AutogradNorm, BatchNormTrainingThroughBatchStatistics) {
  check_gradients("BatchNormalization", bn_inputs(1),
                  {attr_i("training_mode", 1), attr_f("momentum", 0.8f)}, {.wrt = {0, 1, 2}});
  // The running statistics feed the loss too (mean and variance outputs).
  check_gradients("BatchNormalization", bn_inputs(6),
                  {attr_i("training_mode", 1), attr_f("momentum", 0.8f)},
                  {.wrt = {0, 1, 2, 3, 4}, .outputs = {0, 1, 2}}, 3);
}

TEST(AutogradNorm, BatchNormInference) {
  check_gradients("BatchNormalization", bn_inputs(11), {attr_f("epsilon", 1e-3f)},
                  {.wrt = {0, 1, 2, 3, 4}});
  Tensor x2 = random_f64({5, 3}, 16);  // no spatial axes
  check_gradients("BatchNormalization",
                  {x2, random_f64({3}, 17), random_f64({3}, 18), random_f64({3}, 19),
                   random_f64({3}, 20, 0.5, 2)},
                  {attr_i("training_mode", 1)}, {.wrt = {0, 1, 2}});
}

TEST(AutogradNorm, LayerNormalization) {
  const Tensor x = random_f64({2, 3, 4}, 21, -2, 2);
  check_gradients("LayerNormalization", {x, random_f64({4}, 22), random_f64({4}, 23)}, {},
                  {.wrt = {0, 1, 2}});
  check_gradients("LayerNormalization", {x, random_f64({3, 4}, 24), random_f64({4}, 25)},
                  {attr_i("axis", 1), attr_i("stash_type", 11)},
                  {.wrt = {0, 1, 2}, .outputs = {0, 1, 2}}, 3);
  check_gradients("LayerNormalization", {x, random_f64({1}, 26)}, {attr_i("axis", -2)},
                  {.wrt = {0, 1}});
}

TEST(AutogradNorm, DropoutTrainingUsesTheMask) {
  const Tensor x = random_f64({6, 7}, 27);
  Tensor ratio(DType::f64, {});
  ratio.data<double>()[0] = 0.25;
  Tensor train(DType::boolean, {});
  train.data<bool>()[0] = true;
  const auto g =
      check_gradients("Dropout", {x, ratio, train}, {attr_i("seed", 3)}, {.wrt = {0}}, 2);
  // The gradient is 0 or 1 / (1 - ratio), and both occur.
  int kept = 0, dropped = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double v = g.at(0).at_f64(i);
    EXPECT_TRUE(v == 0 || std::fabs(v - 1 / 0.75 * 1.0) < 2) << v;
    (v == 0 ? dropped : kept)++;
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(dropped, 0);
  // Inference: the identity.
  check_gradients("Dropout", {x, ratio}, {}, {.wrt = {0}});
}

}  // namespace
}  // namespace nnaccel::testing
