// The ai.nnaccel fused ops against the standard ops they replace, run one by one.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/op_test_util.hpp"

namespace nnaccel {
namespace {

using namespace testing;

Node fused(const std::string& op, int inputs, std::vector<Attribute> attrs) {
  Node n = make_node(op, inputs, 1, std::move(attrs));
  n.domain = "ai.nnaccel";
  return n;
}

void expect_near_all(const Tensor& got, const Tensor& want, float tol = 1e-5f) {
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < got.numel(); ++i)
    ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i],
                tol * (1.0f + std::fabs(want.data<float>()[i])))
        << "at " << i;
}

Tensor unary(const std::string& op, const Tensor& x, std::vector<Attribute> attrs = {}) {
  return run_op(make_node(op, 1, 1, std::move(attrs)), {x})[0];
}

Tensor binary(const std::string& op, const Tensor& a, const Tensor& b) {
  return run_op(make_node(op, 2, 1), {a, b})[0];
}

TEST(FusedOps, FusedConvIsConvPlusBiasPlusZThenActivation) {
  std::vector<Attribute> conv_attrs = {Attribute::of_ints("pads", {1, 0, 1, 0}),
                                       Attribute::of_ints("strides", {1, 2}),
                                       Attribute::of_int("group", 2)};
  Tensor x = random_f32({2, 4, 5, 7}, 1), w = random_f32({6, 2, 3, 2}, 2);
  Tensor b = random_f32({6}, 3), z = random_f32({2, 6, 5, 3}, 4);
  Tensor conv = run_op(make_node("Conv", 3, 1, conv_attrs), {x, w, b})[0];
  ASSERT_EQ(conv.shape(), (Shape{2, 6, 5, 3}));
  Tensor want;
  Tensor lo(DType::f32, {}), hi(DType::f32, {});
  lo.data<float>()[0] = -0.25f;
  hi.data<float>()[0] = 0.5f;
  want = run_op(make_node("Clip", 3, 1), {binary("Add", conv, z), lo, hi})[0];
  std::vector<Attribute> attrs = conv_attrs;
  attrs.push_back(Attribute::of_string("activation", "Clip"));
  attrs.push_back(Attribute::of_floats("activation_params", {-0.25f, 0.5f}));
  expect_near_all(run_op(fused("FusedConv", 4, attrs), {x, w, b, z})[0], want);

  // No bias, no Z, HardSwish.
  attrs = conv_attrs;
  attrs.push_back(Attribute::of_string("activation", "HardSwish"));
  Tensor conv_nb = run_op(make_node("Conv", 2, 1, conv_attrs), {x, w})[0];
  expect_near_all(run_op(fused("FusedConv", 2, attrs), {x, w})[0], unary("HardSwish", conv_nb));
  // Z without bias (the bias input omitted).
  attrs = conv_attrs;
  attrs.push_back(Attribute::of_string("activation", "Relu"));
  expect_near_all(run_op(fused("FusedConv", 4, attrs), {x, w, Tensor(), z})[0],
                  unary("Relu", binary("Add", conv_nb, z)));
}

TEST(FusedOps, FusedConvRejectsAZOfAnotherShapeAndUnknownActivations) {
  Tensor x = random_f32({1, 2, 4, 4}, 1), w = random_f32({3, 2, 3, 3}, 2);
  EXPECT_THROW(run_op(fused("FusedConv", 4, {}), {x, w, Tensor(), random_f32({1, 3, 4, 4}, 3)}),
               Error);
  EXPECT_THROW(run_op(fused("FusedConv", 2, {Attribute::of_string("activation", "Swish")}), {x, w}),
               Error);
  EXPECT_THROW(
      run_op(fused("FusedConv", 2, {Attribute::of_string("activation", "LeakyRelu")}), {x, w}),
      Error);
}

TEST(FusedOps, FusedGemmIsGemmThenActivation) {
  std::vector<Attribute> gemm_attrs = {Attribute::of_int("transB", 1),
                                       Attribute::of_float("alpha", 0.7f)};
  Tensor a = random_f32({5, 7}, 1), b = random_f32({3, 7}, 2), c = random_f32({3}, 3);
  Tensor gemm = run_op(make_node("Gemm", 3, 1, gemm_attrs), {a, b, c})[0];
  std::vector<Attribute> attrs = gemm_attrs;
  attrs.push_back(Attribute::of_string("activation", "LeakyRelu"));
  attrs.push_back(Attribute::of_floats("activation_params", {0.1f}));
  expect_near_all(run_op(fused("FusedGemm", 3, attrs), {a, b, c})[0],
                  unary("LeakyRelu", gemm, {Attribute::of_float("alpha", 0.1f)}));
}

TEST(FusedOps, FusedMatMulAddsTheBiasOnTheLastDimThenActivates) {
  Tensor a = random_f32({2, 3, 5}, 1), b = random_f32({5, 4}, 2), bias = random_f32({4}, 3);
  Tensor mm = run_op(make_node("MatMul", 2, 1), {a, b})[0];
  Tensor want = unary("Sigmoid", binary("Add", mm, bias));
  expect_near_all(run_op(fused("FusedMatMul", 3, {Attribute::of_string("activation", "Sigmoid")}),
                         {a, b, bias})[0],
                  want);
  expect_near_all(run_op(fused("FusedMatMul", 2, {}), {a, b})[0], mm);
  EXPECT_THROW(run_op(fused("FusedMatMul", 3, {}), {a, b, random_f32({5}, 4)}), Error);
}

TEST(FusedOps, GeluMatchesItsDefinitions) {
  Tensor x = random_f32({3, 17}, 5, -4, 4);
  Tensor exact = run_op(fused("Gelu", 1, {}), {x})[0];
  Tensor approx = run_op(fused("Gelu", 1, {Attribute::of_string("approximate", "tanh")}), {x})[0];
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double v = x.data<float>()[i];
    EXPECT_NEAR(exact.data<float>()[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 1e-5);
    EXPECT_NEAR(approx.data<float>()[i],
                0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))), 1e-5);
  }
  EXPECT_THROW(run_op(fused("Gelu", 1, {Attribute::of_string("approximate", "fast")}), {x}), Error);
}

TEST(FusedOps, ElementwiseChainEqualsTheOpsOneByOne) {
  // Operands of several broadcast shapes, reversed binary ops and parametrized steps.
  Tensor x = random_f32({2, 3, 4}, 1);
  Tensor o1 = random_f32({4}, 2), o2 = random_f32({3, 1}, 3), o3 = random_f32({2, 1, 4}, 4);
  Tensor o4 = random_f32({1}, 5, 0.5f, 2.0f);
  Node chain = fused("ElementwiseChain", 5,
                     {Attribute::of_strings("steps", {"RSub", "Mul", "Sigmoid", "Max", "RDiv",
                                                      "LeakyRelu", "Clip", "Tanh"}),
                      Attribute::of_floats("params", {0.3f, -0.5f, 0.75f})});
  Tensor want = binary("Sub", o1, x);
  want = binary("Mul", want, o2);
  want = unary("Sigmoid", want);
  want = binary("Max", want, o3);
  want = binary("Div", o4, want);
  want = unary("LeakyRelu", want, {Attribute::of_float("alpha", 0.3f)});
  Tensor lo(DType::f32, {}), hi(DType::f32, {});
  lo.data<float>()[0] = -0.5f;
  hi.data<float>()[0] = 0.75f;
  want = run_op(make_node("Clip", 3, 1), {want, lo, hi})[0];
  want = unary("Tanh", want);
  expect_near_all(run_op(chain, {x, o1, o2, o3, o4})[0], want);
}

TEST(FusedOps, ElementwiseChainRejectsOperandsThatWouldGrowX) {
  Node chain = fused("ElementwiseChain", 2, {Attribute::of_strings("steps", {"Add", "Relu"})});
  EXPECT_THROW(run_op(chain, {random_f32({3, 1}, 1), random_f32({3, 4}, 2)}), Error);
  EXPECT_THROW(run_op(chain, {random_f32({3}, 1), random_f32({2, 3}, 2)}), Error);
  Node missing = fused("ElementwiseChain", 1, {Attribute::of_strings("steps", {"Add", "Relu"})});
  EXPECT_THROW(run_op(missing, {random_f32({3}, 1)}), Error);
}

}  // namespace
}  // namespace nnaccel
