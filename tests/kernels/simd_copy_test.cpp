// The simd Concat, Split and Slice kernels against the reference, on every axis and ragged
// sizes; they copy bytes, so results must be identical.
#include "kernels/simd_test_util.hpp"

namespace nnaccel::testing {
namespace {

Tensor constant_i64(std::vector<int64_t> v) {
  return Tensor::from_i64({static_cast<int64_t>(v.size())}, v);
}

TEST(SimdCopy, ConcatEveryAxis) {
  const Shape base = {3, 5, 7};
  for (int64_t axis = -3; axis < 3; ++axis) {
    const size_t a = static_cast<size_t>((axis + 3) % 3);
    std::vector<Tensor> in;
    for (int64_t extent : {2, 1, 4, 0}) {
      Shape s = base;
      s[a] = extent;
      in.push_back(random_nonzero(s, static_cast<uint32_t>(extent + 10 * a), -9, 9));
    }
    const Node node = make_node("Concat", 4, 1, {Attribute::of_int("axis", axis)});
    const Tensor want = run_op(node, in)[0];
    std::vector<ValueDesc> outs;
    auto k = make_simd_kernel(node, in, {want.shape()}, outs);
    if (!simd_on()) {
      EXPECT_EQ(k, nullptr);
      continue;
    }
    ASSERT_NE(k, nullptr) << axis;
    expect_close(run_kernel(*k, in, outs)[0], want, 0, 0, "Concat axis " + std::to_string(axis));
  }
}

TEST(SimdCopy, SplitIntoUnequalParts) {
  const Tensor x = random_nonzero({4, 33, 6}, 1, -9, 9);
  const Node node = make_node("Split", 2, 3, {Attribute::of_int("axis", 1)});
  const std::vector<Tensor> in = {x, constant_i64({10, 16, 7})};
  const std::vector<Tensor> want = run_op(node, in);
  std::vector<ValueDesc> outs;
  auto k = make_simd_kernel(node, in, {want[0].shape(), want[1].shape(), want[2].shape()}, outs,
                            {false, true});
  if (!simd_on()) GTEST_SKIP() << "simd disabled by NNACCEL_MAX_ISA";
  ASSERT_NE(k, nullptr);
  const std::vector<Tensor> got = run_kernel(*k, in, outs);
  for (size_t i = 0; i < 3; ++i) expect_close(got[i], want[i], 0, 0, "Split part");
}

TEST(SimdCopy, SliceUnitSteps) {
  const Tensor x = random_nonzero({5, 17, 9}, 2, -9, 9);
  struct Case {
    std::vector<int64_t> starts, ends, axes;
  };
  const std::vector<Case> cases = {{{1, 2}, {4, -3}, {0, 2}},
                                   {{-10}, {1000}, {1}},
                                   {{0, 3, 1}, {5, 16, 8}, {}},
                                   {{2}, {3}, {-1}}};
  for (const Case& c : cases) {
    const Node node = make_node("Slice", c.axes.empty() ? 3 : 4, 1);
    std::vector<Tensor> in = {x, constant_i64(c.starts), constant_i64(c.ends)};
    if (!c.axes.empty()) in.push_back(constant_i64(c.axes));
    const Tensor want = run_op(node, in)[0];
    std::vector<ValueDesc> outs;
    auto k = make_simd_kernel(node, in, {want.shape()}, outs, {false, true, true, true});
    if (!simd_on()) {
      EXPECT_EQ(k, nullptr);
      continue;
    }
    ASSERT_NE(k, nullptr) << shape_str(want.shape());
    expect_close(run_kernel(*k, in, outs)[0], want, 0, 0, "Slice " + shape_str(want.shape()));
  }
  // Steps other than 1, and run-time starts: the reference.
  const Node stepped = make_node("Slice", 5, 1);
  const std::vector<Tensor> in = {x, constant_i64({0}), constant_i64({5}), constant_i64({0}),
                                  constant_i64({2})};
  std::vector<ValueDesc> outs;
  EXPECT_EQ(make_simd_kernel(stepped, in, {{3, 17, 9}}, outs, {false, true, true, true, true}),
            nullptr);
  EXPECT_EQ(make_simd_kernel(make_node("Slice", 3, 1), {x, constant_i64({0}), constant_i64({2})},
                             {{2, 17, 9}}, outs, {false, false, true}),
            nullptr);
}

}  // namespace
}  // namespace nnaccel::testing
