#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

Tensor targets(const Shape& shape, int64_t classes, uint32_t seed, int64_t ignore = -100) {
  Tensor t(DType::i64, shape);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) {
    t.data<int64_t>()[i] = static_cast<int64_t>(rng() % static_cast<uint32_t>(classes));
    if (ignore >= 0 && i % 3 == 1) t.data<int64_t>()[i] = ignore;
  }
  return t;
}

TEST(AutogradLoss, SoftmaxCrossEntropyReductions) {
  for (const char* red : {"mean", "sum", "none"})
    check_gradients("SoftmaxCrossEntropyLoss", {random_f64({5, 4}, 1, -2, 2), targets({5}, 4, 2)},
                    {attr_s("reduction", red)}, {.wrt = {0}});
}

TEST(AutogradLoss, SoftmaxCrossEntropyWeightsIgnoreSpatial) {
  for (const char* red : {"mean", "sum", "none"})
    check_gradients("SoftmaxCrossEntropyLoss",
                    {random_f64({3, 4, 2, 2}, 3, -2, 2), targets({3, 2, 2}, 4, 4, 2),
                     random_f64({4}, 5, 0.2, 2)},
                    {attr_s("reduction", red), attr_i("ignore_index", 2)}, {.wrt = {0}});
}

TEST(AutogradLoss, SoftmaxCrossEntropyLogProbOutput) {
  // Both the loss and the log-probabilities feed the scalar.
  check_gradients("SoftmaxCrossEntropyLoss", {random_f64({4, 3}, 6), targets({4}, 3, 7)}, {},
                  {.wrt = {0}, .outputs = {0, 1}}, 2);
}

TEST(AutogradLoss, NegativeLogLikelihood) {
  for (const char* red : {"mean", "sum", "none"}) {
    check_gradients("NegativeLogLikelihoodLoss", {random_f64({5, 4}, 8), targets({5}, 4, 9)},
                    {attr_s("reduction", red)}, {.wrt = {0}});
    check_gradients(
        "NegativeLogLikelihoodLoss",
        {random_f64({3, 4, 3}, 10), targets({3, 3}, 4, 11, 1), random_f64({4}, 12, 0.2, 2)},
        {attr_s("reduction", red), attr_i("ignore_index", 1)}, {.wrt = {0}});
  }
}

}  // namespace
}  // namespace nnaccel::testing
