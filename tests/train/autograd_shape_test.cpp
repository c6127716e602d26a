#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

TEST(AutogradShape, ReshapeFlattenSqueezeUnsqueeze) {
  const Tensor x = random_f64({2, 3, 4}, 1);
  check_gradients("Reshape", {x, Tensor::from_i64({2}, {4, -1})}, {}, {.wrt = {0}});
  check_gradients("Flatten", {x}, {attr_i("axis", 2)}, {.wrt = {0}});
  check_gradients("Unsqueeze", {x, Tensor::from_i64({1}, {1})}, {}, {.wrt = {0}});
  check_gradients("Squeeze", {random_f64({2, 1, 3}, 2), Tensor::from_i64({1}, {1})}, {},
                  {.wrt = {0}});
}

TEST(AutogradShape, Transpose) {
  check_gradients("Transpose", {random_f64({2, 3, 4}, 3)}, {attr_is("perm", {2, 0, 1})},
                  {.wrt = {0}});
}

TEST(AutogradShape, Concat) {
  check_gradients("Concat", {random_f64({2, 3}, 4), random_f64({2, 1}, 5), random_f64({2, 2}, 6)},
                  {attr_i("axis", 1)}, {.wrt = {0, 1, 2}});
}

TEST(AutogradShape, SliceWithSteps) {
  check_gradients(
      "Slice",
      {random_f64({5, 6}, 7), Tensor::from_i64({2}, {4, 1}), Tensor::from_i64({2}, {0, 6}),
       Tensor::from_i64({2}, {0, 1}), Tensor::from_i64({2}, {-2, 2})},
      {}, {.wrt = {0}});
}

TEST(AutogradShape, GatherRepeatedIndices) {
  const auto grads =
      check_gradients("Gather", {random_f64({4, 3}, 8), Tensor::from_i64({2, 2}, {1, 3, 1, -4})},
                      {attr_i("axis", 0)}, {.wrt = {0}});
  // Row 1 read twice, row 0 once (-4), row 2 never: its gradient is exactly zero.
  for (int j = 0; j < 3; ++j) EXPECT_EQ(grads.at(0).at_f64(2 * 3 + j), 0.0);
}

TEST(AutogradShape, ExpandTileSplit) {
  check_gradients("Expand", {random_f64({3, 1}, 9), Tensor::from_i64({3}, {2, 3, 4})}, {},
                  {.wrt = {0}});
  check_gradients("Tile", {random_f64({2, 3}, 10), Tensor::from_i64({2}, {2, 2})}, {},
                  {.wrt = {0}});
  check_gradients("Split", {random_f64({5, 2}, 11), Tensor::from_i64({2}, {2, 3})}, {},
                  {.wrt = {0}, .outputs = {0, 1}}, 2);
}

TEST(AutogradShape, PadModes) {
  const Tensor x = random_f64({2, 3, 4}, 14);
  const Tensor pads = Tensor::from_i64({6}, {0, 1, 2, 0, 2, 1});
  Tensor value(DType::f64, {});
  value.data<double>()[0] = 0.5;
  check_gradients("Pad", {x, pads, value}, {}, {.wrt = {0}});
  for (const char* mode : {"reflect", "edge"})
    check_gradients("Pad", {x, pads}, {attr_s("mode", mode)}, {.wrt = {0}});
}

TEST(AutogradShape, Where) {
  Tensor cond(DType::boolean, {2, 3});
  for (int i = 0; i < 6; ++i) cond.data<bool>()[i] = i % 4 != 1;
  check_gradients("Where", {cond, random_f64({2, 3}, 15), random_f64({3}, 16)}, {},
                  {.wrt = {1, 2}});
}

TEST(AutogradShape, ReduceSumMean) {
  const Tensor x = random_f64({2, 3, 4}, 12);
  for (int keep = 0; keep < 2; ++keep) {
    check_gradients("ReduceSum", {x, Tensor::from_i64({2}, {0, -1})}, {attr_i("keepdims", keep)},
                    {.wrt = {0}});
    check_gradients("ReduceMean", {x}, {attr_i("keepdims", keep), attr_is("axes", {1})},
                    {.wrt = {0}});
    check_gradients("ReduceMean", {x}, {attr_i("keepdims", keep)}, {.wrt = {0}});
    check_gradients("ReduceSumSquare", {x}, {attr_i("keepdims", keep), attr_is("axes", {2})},
                    {.wrt = {0}});
  }
}

TEST(AutogradShape, SoftmaxLogSoftmax) {
  const Tensor x = random_f64({2, 3, 4}, 13, -2, 2);
  for (int axis : {-1, 1, 0}) {
    check_gradients("Softmax", {x}, {attr_i("axis", axis)}, {.wrt = {0}});
    check_gradients("LogSoftmax", {x}, {attr_i("axis", axis)}, {.wrt = {0}});
  }
}

}  // namespace
}  // namespace nnaccel::testing
