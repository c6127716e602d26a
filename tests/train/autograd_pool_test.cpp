#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

TEST(AutogradPool, MaxPool) {
  // Random values: ties (where the subgradient is ambiguous) have probability zero.
  check_gradients("MaxPool", {random_f64({2, 3, 6, 5}, 1)},
                  {attr_is("kernel_shape", {2, 2}), attr_is("strides", {2, 2})}, {.wrt = {0}});
  check_gradients("MaxPool", {random_f64({1, 2, 7, 7}, 2)},
                  {attr_is("kernel_shape", {3, 3}), attr_is("strides", {2, 2}),
                   attr_is("pads", {1, 1, 1, 1}), attr_i("ceil_mode", 1)},
                  {.wrt = {0}});
  check_gradients("MaxPool", {random_f64({1, 2, 9}, 3)},
                  {attr_is("kernel_shape", {3}), attr_is("dilations", {2})}, {.wrt = {0}});
}

TEST(AutogradPool, AveragePool) {
  for (int include = 0; include < 2; ++include)
    check_gradients(
        "AveragePool", {random_f64({2, 2, 6, 7}, 4)},
        {attr_is("kernel_shape", {3, 2}), attr_is("strides", {2, 2}), attr_is("pads", {1, 0, 1, 1}),
         attr_i("count_include_pad", include), attr_i("ceil_mode", include)},
        {.wrt = {0}});
}

TEST(AutogradPool, GlobalPools) {
  check_gradients("GlobalAveragePool", {random_f64({2, 3, 4, 5}, 5)}, {}, {.wrt = {0}});
  check_gradients("GlobalMaxPool", {random_f64({2, 3, 4, 5}, 6)}, {}, {.wrt = {0}});
}

}  // namespace
}  // namespace nnaccel::testing
