#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

TEST(AutogradMatMul, GemmPlain) {
  check_gradients("Gemm", {random_f64({3, 4}, 1), random_f64({4, 5}, 2), random_f64({3, 5}, 3)}, {},
                  {.wrt = {0, 1, 2}});
}

TEST(AutogradMatMul, GemmTransposedScaledBroadcastBias) {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Shape sa = ta ? Shape{4, 3} : Shape{3, 4};
      Shape sb = tb ? Shape{5, 4} : Shape{4, 5};
      check_gradients("Gemm", {random_f64(sa, 4), random_f64(sb, 5), random_f64({5}, 6)},
                      {attr_i("transA", ta), attr_i("transB", tb), attr_f("alpha", 0.75f),
                       attr_f("beta", 1.5f)},
                      {.wrt = {0, 1, 2}});
    }
}

TEST(AutogradMatMul, GemmScalarBiasAndNoBias) {
  check_gradients("Gemm", {random_f64({2, 3}, 7), random_f64({3, 2}, 8), random_f64({1}, 9)}, {},
                  {.wrt = {0, 1, 2}});
  check_gradients("Gemm", {random_f64({2, 3}, 7), random_f64({3, 2}, 8)}, {}, {.wrt = {0, 1}});
}

TEST(AutogradMatMul, MatMul2D) {
  check_gradients("MatMul", {random_f64({3, 4}, 1), random_f64({4, 2}, 2)}, {}, {.wrt = {0, 1}});
}

TEST(AutogradMatMul, MatMulBatchedBroadcast) {
  check_gradients("MatMul", {random_f64({2, 3, 3, 4}, 1), random_f64({3, 4, 2}, 2)}, {},
                  {.wrt = {0, 1}});
  check_gradients("MatMul", {random_f64({2, 1, 3, 4}, 3), random_f64({1, 3, 4, 2}, 4)}, {},
                  {.wrt = {0, 1}});
}

TEST(AutogradMatMul, MatMulVectors) {
  check_gradients("MatMul", {random_f64({4}, 1), random_f64({2, 4, 3}, 2)}, {}, {.wrt = {0, 1}});
  check_gradients("MatMul", {random_f64({2, 3, 4}, 3), random_f64({4}, 4)}, {}, {.wrt = {0, 1}});
  check_gradients("MatMul", {random_f64({4}, 5), random_f64({4}, 6)}, {}, {.wrt = {0, 1}});
}

}  // namespace
}  // namespace nnaccel::testing
