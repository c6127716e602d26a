// The simd unary kernels against the reference kernels (and Gelu against its formula), on
// random data with negative and large values, at sizes that leave every vector-tail length.
#include <limits>

#include "kernels/simd_test_util.hpp"
#include "ops/fused_activation.hpp"

namespace nnaccel::testing {
namespace {

const std::vector<Shape> kShapes = {{1}, {7}, {15}, {17}, {33}, {1003}, {3, 5, 67}, {600001}};

struct UnaryCase {
  const char* op;
  float lo, hi;
  float rel, abs;
  std::vector<Attribute> attrs = {};
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"Relu", -10, 10, 0, 0},
      {"LeakyRelu", -10, 10, 1e-7f, 0, {Attribute::of_float("alpha", 0.1f)}},
      {"LeakyRelu", -10, 10, 1e-7f, 0},
      {"Sigmoid", -30, 30, 1e-5f, 1e-7f},
      {"Sigmoid", -100, 100, 1e-5f, 1e-7f},
      {"Tanh", -3, 3, 1e-5f, 1e-7f},
      {"Tanh", -50, 50, 1e-5f, 1e-7f},
      {"Exp", -20, 20, 1e-5f, 0},
      {"Exp", -100, 100, 1e-5f, 1e-30f},
      {"Log", 1e-3f, 1e4f, 1e-5f, 1e-6f},
      {"Sqrt", 1e-3f, 1e4f, 1e-6f, 0},
      {"Neg", -10, 10, 0, 0},
      {"Abs", -10, 10, 0, 0},
      {"Erf", -0.6f, 0.6f, 2e-6f, 1e-7f},
      {"Erf", -6, 6, 1e-5f, 1e-6f},
      {"HardSigmoid", -10, 10, 1e-6f, 1e-7f},
      {"HardSigmoid",
       -10,
       10,
       1e-6f,
       1e-7f,
       {Attribute::of_float("alpha", 0.3f), Attribute::of_float("beta", 0.4f)}},
      {"HardSwish", -10, 10, 1e-6f, 1e-7f},
      {"Elu", -10, 10, 1e-5f, 1e-7f},
      {"Elu", -10, 10, 1e-5f, 1e-7f, {Attribute::of_float("alpha", 0.7f)}},
      {"Softplus", -30, 30, 1e-5f, 1e-7f},
      {"Softplus", -100, 100, 1e-5f, 1e-7f},
      {"Reciprocal", -10, 10, 1e-6f, 0},
      {"Clip", -10, 10, 0, 0},
  };
}

TEST(SimdUnary, MatchesReference) {
  for (const UnaryCase& c : unary_cases()) {
    for (size_t si = 0; si < kShapes.size(); ++si) {
      const Shape& shape = kShapes[si];
      const Node node = make_node(c.op, 1, 1, c.attrs);
      const Tensor x = random_nonzero(shape, static_cast<uint32_t>(17 + si), c.lo, c.hi);
      std::vector<ValueDesc> outs;
      auto k = make_simd_kernel(node, {x}, {shape}, outs);
      const std::string what = std::string(c.op) + " " + shape_str(shape);
      if (!simd_on()) {
        EXPECT_EQ(k, nullptr) << what;
        continue;
      }
      ASSERT_NE(k, nullptr) << what;
      EXPECT_EQ(k->inplace_input(0), 0);
      const Tensor want = run_op(node, {x})[0];
      expect_close(run_kernel(*k, {x}, outs)[0], want, c.rel, c.abs, what);
    }
  }
}

TEST(SimdUnary, ErfIsAccurateEverywhere) {
  if (!simd_on()) GTEST_SKIP() << "simd disabled by NNACCEL_MAX_ISA";
  // A dense sweep across both polynomial regions and the saturation, against libm's erf.
  Tensor x(DType::f32, {40001});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = -8.0f + 16.0f * i / 40000.0f;
  const Node node = make_node("Erf", 1, 1);
  std::vector<ValueDesc> outs;
  auto k = make_simd_kernel(node, {x}, {x.shape()}, outs);
  ASSERT_NE(k, nullptr);
  Tensor want(DType::f32, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) want.data<float>()[i] = std::erf(x.data<float>()[i]);
  expect_close(run_kernel(*k, {x}, outs)[0], want, 1e-6f, 3e-7f, "Erf sweep");
}

TEST(SimdUnary, ClipWithConstantBounds) {
  const Node node = make_node("Clip", 3, 1);
  const Tensor x = random_nonzero({1003}, 5, -3, 3);
  Tensor lo(DType::f32, {}), hi(DType::f32, {});
  lo.data<float>()[0] = -0.5f;
  hi.data<float>()[0] = 0.7f;
  std::vector<ValueDesc> outs;
  auto k = make_simd_kernel(node, {x, lo, hi}, {x.shape()}, outs, {false, true, true});
  if (!simd_on()) GTEST_SKIP() << "simd disabled by NNACCEL_MAX_ISA";
  ASSERT_NE(k, nullptr);
  expect_close(run_kernel(*k, {x, lo, hi}, outs)[0], run_op(node, {x, lo, hi})[0], 0, 0, "Clip");
  // Bounds computed at run time are left to the reference.
  EXPECT_EQ(make_simd_kernel(node, {x, lo, hi}, {x.shape()}, outs, {false, false, true}), nullptr);
}

TEST(SimdUnary, SpecialValuesAsLibm) {
  if (!simd_on()) GTEST_SKIP() << "simd disabled by NNACCEL_MAX_ISA";
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x(DType::f32, {9});
  const float values[] = {0.0f, -1.0f, inf, -inf, nan, 88.0f, 89.0f, 200.0f, -200.0f};
  for (int i = 0; i < 9; ++i) x.data<float>()[i] = values[i];
  for (const char* op : {"Exp", "Log", "Relu", "Sigmoid", "Tanh", "Erf"}) {
    const Node node = make_node(op, 1, 1);
    std::vector<ValueDesc> outs;
    auto k = make_simd_kernel(node, {x}, {x.shape()}, outs);
    ASSERT_NE(k, nullptr);
    expect_close(run_kernel(*k, {x}, outs)[0], run_op(node, {x})[0], 1e-5f, 1e-30f, op);
  }
}

TEST(SimdUnary, GeluMatchesItsFormula) {
  for (const char* approximate : {"none", "tanh"}) {
    Node node = make_node("Gelu", 1, 1, {Attribute::of_string("approximate", approximate)});
    node.domain = "ai.nnaccel";
    FusedActivation a;
    a.kind = std::string(approximate) == "tanh" ? ActivationKind::gelu_tanh : ActivationKind::gelu;
    for (const Shape& shape : kShapes) {
      const Tensor x = random_nonzero(shape, 3, -10, 10);
      std::vector<ValueDesc> outs;
      auto k = make_simd_kernel(node, {x}, {shape}, outs);
      if (!simd_on()) {
        EXPECT_EQ(k, nullptr);
        continue;
      }
      ASSERT_NE(k, nullptr);
      Tensor want(DType::f32, shape);
      for (int64_t i = 0; i < x.numel(); ++i)
        want.data<float>()[i] = apply_activation(a, x.data<float>()[i]);
      const Tensor got = run_kernel(*k, {x}, outs)[0];
      const std::string what = std::string("Gelu ") + approximate + " " + shape_str(shape);
      expect_close(got, want, 1e-5f, 2e-6f, what);
      expect_close(got, run_op(node, {x})[0], 1e-5f, 2e-6f, what + " vs reference op");
    }
  }
}

TEST(SimdUnary, BlockedOnlyWhenZeroStaysZero) {
  const Shape shape = {2, 19, 3, 5};
  const Tensor x = random_nonzero(shape, 11, -4, 4);
  for (int64_t block : {8, 16}) {
    const Tensor xb = to_blocked(x, block);
    for (const char* op : {"Relu", "Tanh", "Erf", "HardSwish", "Abs", "Neg"}) {
      const Node node = make_node(op, 1, 1);
      std::vector<ValueDesc> outs;
      auto k = make_simd_kernel(node, {x}, {shape}, outs, {}, {block});
      if (!simd_on()) {
        EXPECT_EQ(k, nullptr);
        continue;
      }
      ASSERT_NE(k, nullptr) << op;
      ASSERT_EQ(outs[0].block, block) << op;
      const Tensor yb = run_kernel(*k, {xb}, outs)[0];
      expect_close(from_blocked(yb, shape, block), run_op(node, {x})[0], 1e-5f, 1e-7f, op);
      // Padding channels 19..block*3 stay zero.
      expect_close(yb, to_blocked(from_blocked(yb, shape, block), block), 0, 0,
                   std::string(op) + " padding");
    }
    for (const char* op : {"Sigmoid", "Exp", "Log", "Softplus", "Reciprocal", "HardSigmoid"}) {
      const Node node = make_node(op, 1, 1);
      std::vector<ValueDesc> outs;
      EXPECT_EQ(make_simd_kernel(node, {x}, {shape}, outs, {}, {block}), nullptr) << op;
    }
  }
}

}  // namespace
}  // namespace nnaccel::testing
