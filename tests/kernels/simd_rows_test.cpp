// The simd Softmax/LogSoftmax, LayerNormalization, Reduce* and Transpose kernels against the
// reference kernels, on ragged sizes and every axis.
#include "kernels/simd_test_util.hpp"

namespace nnaccel::testing {
namespace {

TEST(SimdSoftmax, EveryAxisMatchesReference) {
  const std::vector<Shape> shapes = {{1}, {7}, {33}, {1003}, {3, 17}, {2, 5, 33}, {4, 3, 7, 19}};
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    for (size_t si = 0; si < shapes.size(); ++si) {
      const Shape& shape = shapes[si];
      const Tensor x = random_nonzero(shape, static_cast<uint32_t>(si), -20, 20);
      for (int64_t axis = -static_cast<int64_t>(shape.size()); axis < 0; ++axis) {
        const Node node = make_node(op, 1, 1, {Attribute::of_int("axis", axis)});
        const std::string what =
            std::string(op) + " " + shape_str(shape) + " axis " + std::to_string(axis);
        std::vector<ValueDesc> outs;
        auto k = make_simd_kernel(node, {x}, {shape}, outs);
        if (!simd_on()) {
          EXPECT_EQ(k, nullptr);
          continue;
        }
        ASSERT_NE(k, nullptr) << what;
        expect_close(run_kernel(*k, {x}, outs)[0], run_op(node, {x})[0], 2e-5f, 1e-6f, what);
      }
    }
  }
}

TEST(SimdSoftmax, LargeRowsAcrossThreads) {
  const Shape shape = {160, 4099};  // more than one parallel chunk
  const Tensor x = random_nonzero(shape, 3, -80, 80);
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    const Node node = make_node(op, 1, 1);
    std::vector<ValueDesc> outs;
    auto k = make_simd_kernel(node, {x}, {shape}, outs);
    if (!simd_on()) GTEST_SKIP() << "simd disabled by NNACCEL_MAX_ISA";
    ASSERT_NE(k, nullptr);
    expect_close(run_kernel(*k, {x}, outs)[0], run_op(node, {x})[0], 2e-5f, 1e-30f, op);
  }
}

TEST(SimdLayerNorm, MatchesReferenceWithStatistics) {
  struct Case {
    Shape x;
    int64_t axis;
    bool bias;
  };
  const std::vector<Case> cases = {{{2, 7}, -1, true},    {{3, 1003}, -1, false},
                                   {{2, 4, 33}, 1, true}, {{5, 17}, -1, true},
                                   {{1, 1}, -1, true},    {{64, 768}, -1, true}};
  for (const Case& c : cases) {
    const size_t axis =
        static_cast<size_t>(c.axis < 0 ? c.axis + static_cast<int64_t>(c.x.size()) : c.axis);
    const Shape norm(c.x.begin() + static_cast<std::ptrdiff_t>(axis), c.x.end());
    // An offset mean, so that a one-pass variance would lose digits.
    const Tensor x = random_nonzero(c.x, 1, 90, 110);
    const Tensor scale = random_nonzero(norm, 2, -2, 2);
    const Tensor bias = c.bias ? random_nonzero(norm, 3, -1, 1) : Tensor();
    const Node node =
        make_node("LayerNormalization", 3, 3,
                  {Attribute::of_int("axis", c.axis), Attribute::of_float("epsilon", 1e-4f)});
    const std::vector<Tensor> in = {x, scale, bias};
    const std::vector<Tensor> want = run_op(node, in);
    std::vector<ValueDesc> outs;
    auto k = make_simd_kernel(node, in, {want[0].shape(), want[1].shape(), want[2].shape()}, outs);
    const std::string what = "LayerNormalization " + shape_str(c.x);
    if (!simd_on()) {
      EXPECT_EQ(k, nullptr);
      continue;
    }
    ASSERT_NE(k, nullptr) << what;
    const std::vector<Tensor> got = run_kernel(*k, in, outs);
    expect_close(got[0], want[0], 2e-5f, 2e-5f, what);
    expect_close(got[1], want[1], 1e-6f, 0, what + " Mean");
    expect_close(got[2], want[2], 2e-5f, 0, what + " InvStdDev");
  }
}

TEST(SimdLayerNorm, OmittedMeanOutput) {
  Node node = make_node("LayerNormalization", 2, 3);
  node.outputs[1] = "";
  const Tensor x = random_nonzero({3, 37}, 1, -4, 4), scale = random_nonzero({37}, 2, -2, 2);
  const std::vector<Tensor> want = run_op(node, {x, scale});
  std::vector<ValueDesc> outs;
  auto k = make_simd_kernel(node, {x, scale}, {x.shape(), {}, want[2].shape()}, outs);
  if (!simd_on()) GTEST_SKIP() << "simd disabled by NNACCEL_MAX_ISA";
  ASSERT_NE(k, nullptr);
  const std::vector<Tensor> got = run_kernel(*k, {x, scale}, outs);
  EXPECT_FALSE(got[1].defined());
  expect_close(got[0], want[0], 2e-5f, 2e-5f, "Y");
  expect_close(got[2], want[2], 2e-5f, 0, "InvStdDev");
}

TEST(SimdLayerNorm, DeclinesBroadcastScale) {
  const Node node = make_node("LayerNormalization", 2, 1);
  std::vector<ValueDesc> outs;
  EXPECT_EQ(
      make_simd_kernel(node, {random_f32({2, 3, 8}, 1), random_f32({1}, 2)}, {{2, 3, 8}}, outs),
      nullptr);
}

TEST(SimdReduce, TrailingAxesMatchReference) {
  struct Case {
    Shape x;
    std::vector<int64_t> axes;
  };
  const std::vector<Case> cases = {{{3, 1003}, {-1}},
                                   {{2, 3, 17}, {1, 2}},
                                   {{7}, {}},
                                   {{4, 5, 33}, {2}},
                                   {{2, 2, 3, 5}, {-1, -2}}};
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax"}) {
    for (const Case& c : cases) {
      for (int64_t keepdims : {0, 1}) {
        const std::string what = std::string(op) + " " + shape_str(c.x);
        const Tensor x = random_nonzero(c.x, 4, -10, 10);
        Tensor axes(DType::i64, {static_cast<int64_t>(c.axes.size())});
        for (size_t i = 0; i < c.axes.size(); ++i) axes.data<int64_t>()[i] = c.axes[i];
        // ReduceSum takes axes as an input (opset 13); the others as an attribute (until 18).
        const bool input_axes = std::string(op) == "ReduceSum";
        std::vector<Attribute> attrs = {Attribute::of_int("keepdims", keepdims)};
        if (!input_axes && !c.axes.empty()) attrs.push_back(Attribute::of_ints("axes", c.axes));
        const Node node = make_node(op, input_axes ? 2 : 1, 1, attrs);
        std::vector<Tensor> in = {x};
        if (input_axes) in.push_back(c.axes.empty() ? Tensor() : axes);
        const Tensor want = run_op(node, in)[0];
        std::vector<ValueDesc> outs;
        auto k = make_simd_kernel(node, in, {want.shape()}, outs, {false, true});
        if (!simd_on()) {
          EXPECT_EQ(k, nullptr);
          continue;
        }
        ASSERT_NE(k, nullptr) << what;
        expect_close(run_kernel(*k, in, outs)[0], want, 1e-5f, 1e-5f, what);
      }
    }
  }
}

TEST(SimdReduce, DeclinesLeadingAxes) {
  const Node node = make_node("ReduceMean", 1, 1, {Attribute::of_ints("axes", {0})});
  std::vector<ValueDesc> outs;
  EXPECT_EQ(make_simd_kernel(node, {random_f32({3, 5}, 1)}, {{1, 5}}, outs), nullptr);
}

TEST(SimdTranspose, BatchedPermutationsMatchReference) {
  struct Case {
    Shape x;
    std::vector<int64_t> perm;
  };
  const std::vector<Case> cases = {
      {{17, 33}, {1, 0}},           {{33, 17}, {}},
      {{3, 19, 21}, {0, 2, 1}},     {{2, 7, 3, 5}, {0, 2, 1, 3}},
      {{2, 3, 5, 7}, {0, 2, 3, 1}}, {{2, 3, 5, 7}, {0, 3, 1, 2}},
      {{4, 6, 5}, {1, 0, 2}},       {{130, 67}, {1, 0}},
      {{5, 3, 2}, {2, 0, 1}},
  };
  for (const Case& c : cases) {
    std::vector<Attribute> attrs;
    if (!c.perm.empty()) attrs.push_back(Attribute::of_ints("perm", c.perm));
    const Node node = make_node("Transpose", 1, 1, attrs);
    const Tensor x = random_nonzero(c.x, 5, -1, 1);
    const Tensor want = run_op(node, {x})[0];
    std::vector<ValueDesc> outs;
    auto k = make_simd_kernel(node, {x}, {want.shape()}, outs);
    const std::string what = "Transpose " + shape_str(c.x);
    if (!simd_on()) {
      EXPECT_EQ(k, nullptr);
      continue;
    }
    ASSERT_NE(k, nullptr) << what;
    expect_close(run_kernel(*k, {x}, outs)[0], want, 0, 0, what);
  }
  // [0, 3, 2, 1] is not a swap of two axis groups.
  std::vector<ValueDesc> outs;
  const Node odd = make_node("Transpose", 1, 1, {Attribute::of_ints("perm", {0, 3, 2, 1})});
  EXPECT_EQ(make_simd_kernel(odd, {random_f32({2, 3, 4, 5}, 1)}, {{2, 5, 4, 3}}, outs), nullptr);
}

}  // namespace
}  // namespace nnaccel::testing
