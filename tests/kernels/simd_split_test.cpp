// The simd Split kernel against the reference; it copies bytes, so results must be identical.
#include "kernels/simd_test_util.hpp"

namespace nnaccel::testing {
namespace {

TEST(SimdSplit, UnequalPartsOnEveryAxis) {
  const Tensor x = random_nonzero({4, 33, 6}, 1, -9, 9);
  const std::vector<std::vector<int64_t>> splits = {{1, 3, 0}, {10, 16, 7}, {2, 1, 3}};
  for (int64_t axis = -3; axis < 3; ++axis) {
    const std::vector<int64_t>& parts = splits[static_cast<size_t>((axis + 3) % 3)];
    const Node node = make_node("Split", 2, 3, {Attribute::of_int("axis", axis)});
    const std::vector<Tensor> in = {x,
                                    Tensor::from_i64({static_cast<int64_t>(parts.size())}, parts)};
    const std::vector<Tensor> want = run_op(node, in);
    std::vector<ValueDesc> outs;
    auto k = make_simd_kernel(node, in, {want[0].shape(), want[1].shape(), want[2].shape()}, outs,
                              {false, true});
    if (!simd_on()) {
      EXPECT_EQ(k, nullptr);
      continue;
    }
    ASSERT_NE(k, nullptr) << axis;
    const std::vector<Tensor> got = run_kernel(*k, in, outs);
    for (size_t i = 0; i < 3; ++i)
      expect_close(got[i], want[i], 0, 0, "Split axis " + std::to_string(axis));
  }
}

TEST(SimdSplit, DeclinesMismatchedParts) {
  const Node node = make_node("Split", 1, 2, {Attribute::of_int("axis", 1)});
  std::vector<ValueDesc> outs;
  EXPECT_EQ(make_simd_kernel(node, {random_f32({2, 6}, 1)}, {{2, 3}, {2, 2}}, outs), nullptr);
}

}  // namespace
}  // namespace nnaccel::testing
