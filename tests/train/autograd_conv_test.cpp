#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

TEST(AutogradConv, Conv2DPlain) {
  check_gradients("Conv",
                  {random_f64({2, 3, 5, 6}, 1), random_f64({4, 3, 3, 3}, 2), random_f64({4}, 3)},
                  {}, {.wrt = {0, 1, 2}});
}

TEST(AutogradConv, Conv2DStridesPadsDilationsGroups) {
  check_gradients("Conv",
                  {random_f64({2, 4, 7, 6}, 4), random_f64({6, 2, 3, 2}, 5), random_f64({6}, 6)},
                  {attr_i("group", 2), attr_is("strides", {2, 1}), attr_is("pads", {1, 0, 2, 1}),
                   attr_is("dilations", {1, 2})},
                  {.wrt = {0, 1, 2}});
}

TEST(AutogradConv, Conv2DDepthwiseSamePad) {
  check_gradients(
      "Conv", {random_f64({1, 3, 5, 5}, 7), random_f64({3, 1, 3, 3}, 8)},
      {attr_i("group", 3), attr_s("auto_pad", "SAME_UPPER"), attr_is("strides", {2, 2})},
      {.wrt = {0, 1}});
}

TEST(AutogradConv, Conv1D) {
  check_gradients("Conv",
                  {random_f64({2, 2, 9}, 9), random_f64({3, 2, 4}, 10), random_f64({3}, 11)},
                  {attr_is("strides", {2}), attr_is("pads", {2, 1}), attr_is("dilations", {2})},
                  {.wrt = {0, 1, 2}});
}

TEST(AutogradConv, ConvTranspose2D) {
  check_gradients("ConvTranspose",
                  {random_f64({2, 4, 3, 4}, 12), random_f64({4, 3, 3, 2}, 13), random_f64({6}, 14)},
                  {attr_i("group", 2), attr_is("strides", {2, 1}), attr_is("pads", {1, 0, 0, 1}),
                   attr_is("output_padding", {1, 0}), attr_is("dilations", {1, 2})},
                  {.wrt = {0, 1, 2}});
}

TEST(AutogradConv, ConvTransposeOutputShapeAndSame) {
  check_gradients("ConvTranspose", {random_f64({1, 2, 3, 3}, 15), random_f64({2, 2, 3, 3}, 16)},
                  {attr_is("strides", {2, 2}), attr_is("output_shape", {6, 7})}, {.wrt = {0, 1}});
  check_gradients("ConvTranspose", {random_f64({1, 2, 4}, 17), random_f64({2, 3, 3}, 18)},
                  {attr_is("strides", {2}), attr_s("auto_pad", "SAME_LOWER")}, {.wrt = {0, 1}});
}

}  // namespace
}  // namespace nnaccel::testing
