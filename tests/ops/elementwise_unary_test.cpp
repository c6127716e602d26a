// Unary elementwise ops: hand-checked values, identities on random data, integer and f16 paths,
// errors and shape functions.
#include <cmath>
#include <limits>
#include <numbers>

#include "elementwise_test_util.hpp"

namespace nnaccel::testing {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Case {
  const char* op;
  std::vector<float> in;
  std::vector<double> out;
};

TEST(ElementwiseUnary, MathFunctionsHandChecked) {
  const float pi = static_cast<float>(kPi);
  const std::vector<Case> cases = {
      {"Exp", {0, 1, -1}, {1, std::numbers::e, 1 / std::numbers::e}},
      {"Log", {1, static_cast<float>(std::numbers::e), 0}, {0, 1, -kInf}},
      {"Sqrt", {4, 2.25f, 0}, {2, 1.5, 0}},
      {"Reciprocal", {4, -0.5f, 8}, {0.25, -2, 0.125}},
      {"Sin", {0, pi / 2, -pi / 6}, {0, 1, -0.5}},
      {"Cos", {0, pi, pi / 3}, {1, -1, 0.5}},
      {"Tan", {0, pi / 4, -pi / 4}, {0, 1, -1}},
      {"Asin", {0, 1, -0.5f}, {0, kPi / 2, -kPi / 6}},
      {"Acos", {1, 0, -1}, {0, kPi / 2, kPi}},
      {"Atan", {0, 1, -1}, {0, kPi / 4, -kPi / 4}},
      {"Sinh", {0, 1}, {0, (std::numbers::e - 1 / std::numbers::e) / 2}},
      {"Cosh", {0, 1}, {1, (std::numbers::e + 1 / std::numbers::e) / 2}},
      {"Tanh", {0, 100, -100}, {0, 1, -1}},
      {"Asinh", {0, 1}, {0, std::log(1 + std::sqrt(2.0))}},
      {"Acosh", {1, 2}, {0, std::log(2 + std::sqrt(3.0))}},
      {"Atanh", {0, 0.5f}, {0, 0.5 * std::log(3.0)}},
      {"Erf", {0, 1, -1}, {0, 0.8427007929497149, -0.8427007929497149}},
      {"Ceil", {1.2f, -1.2f, 2, -0.5f}, {2, -1, 2, 0}},
      {"Floor", {1.8f, -1.2f, 2, -0.5f}, {1, -2, 2, -1}},
      // Half to even.
      {"Round",
       {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4f, 2.6f, -2.6f},
       {0, 2, 2, 0, -2, -2, 2, 3, -3}},
      {"Sqrt", {-1}, {kNaN}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    Tensor x(DType::f32, {static_cast<int64_t>(c.in.size())});
    for (size_t i = 0; i < c.in.size(); ++i) x.data<float>()[i] = c.in[i];
    Tensor y = run1(c.op, {x});
    EXPECT_EQ(y.dtype(), DType::f32);
    EXPECT_EQ(y.shape(), x.shape());
    expect_all_near(y, c.out, 2e-6);
  }
}

TEST(ElementwiseUnary, TrigIdentitiesOnRandomData) {
  Tensor x = random_f32({4, 7}, 11, -0.99f, 0.99f);
  Tensor s = run1("Sin", {x});
  Tensor c = run1("Cos", {x});
  Tensor as = run1("Asin", {s});
  Tensor t = run1("Tanh", {x});
  Tensor at = run1("Atanh", {t});
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float v = x.data<float>()[i];
    const float sv = s.data<float>()[i], cv = c.data<float>()[i];
    EXPECT_NEAR(sv * sv + cv * cv, 1.0f, 1e-6);
    EXPECT_NEAR(as.data<float>()[i], v, 1e-6);
    EXPECT_NEAR(at.data<float>()[i], v, 1e-5);
  }
}

TEST(ElementwiseUnary, ExpLogRoundTripInDouble) {
  Tensor x = cast_tensor(random_f32({3, 5}, 12, 0.1f, 20.0f), DType::f64);
  Tensor y = run1("Log", {run1("Exp", {x})});
  ASSERT_EQ(y.dtype(), DType::f64);
  for (int64_t i = 0; i < x.numel(); ++i)
    EXPECT_NEAR(y.data<double>()[i], x.data<double>()[i], 1e-12);
}

TEST(ElementwiseUnary, ActivationsHandChecked) {
  auto run = [&](const char* op, std::vector<Attribute> attrs = {}) {
    return run1(op, {tensor_of<float>({5}, {-2, -0.5f, 0, 0.5f, 3})}, std::move(attrs));
  };
  expect_all_near(run("Relu"), {0, 0, 0, 0.5, 3});
  expect_all_near(run("LeakyRelu"), {-0.02, -0.005, 0, 0.5, 3});
  expect_all_near(run("LeakyRelu", {Attribute::of_float("alpha", 0.5f)}), {-1, -0.25, 0, 0.5, 3});
  expect_all_near(run("ThresholdedRelu"), {0, 0, 0, 0, 3});
  expect_all_near(run("ThresholdedRelu", {Attribute::of_float("alpha", 0.25f)}), {0, 0, 0, 0.5, 3});
  expect_all_near(run("Elu"), {std::expm1(-2.0), std::expm1(-0.5), 0, 0.5, 3});
  expect_all_near(run("Elu", {Attribute::of_float("alpha", 2)}),
                  {2 * std::expm1(-2.0), 2 * std::expm1(-0.5), 0, 0.5, 3});
  expect_all_near(run("Celu", {Attribute::of_float("alpha", 2)}),
                  {2 * std::expm1(-1.0), 2 * std::expm1(-0.25), 0, 0.5, 3});
  const double a = 1.67326319217681884765625, g = 1.05070102214813232421875;
  expect_all_near(run("Selu"),
                  {g * a * std::expm1(-2.0), g * a * std::expm1(-0.5), 0, g * 0.5, g * 3}, 1e-6);
  expect_all_near(run("HardSigmoid"), {0.1, 0.4, 0.5, 0.6, 1});
  expect_all_near(run("HardSigmoid", {Attribute::of_float("alpha", 0.5f), Attribute::of_float("beta", 0.25f)}),
                  {0, 0, 0.25, 0.5, 1});
  expect_all_near(run("HardSwish"), {-2 * (1.0 / 6), -0.5 * (5.0 / 12), 0, 0.5 * (7.0 / 12), 3});
  expect_all_near(run("Sigmoid"), {1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(0.5)), 0.5,
                                   1 / (1 + std::exp(-0.5)), 1 / (1 + std::exp(-3.0))});
  expect_all_near(run("Softplus"),
                  {std::log1p(std::exp(-2.0)), std::log1p(std::exp(-0.5)), std::log(2.0),
                   std::log1p(std::exp(0.5)), std::log1p(std::exp(3.0))});
  expect_all_near(run("Softsign"), {-2.0 / 3, -0.5 / 1.5, 0, 0.5 / 1.5, 0.75});
  expect_all_near(run("Shrink"), {-2, 0, 0, 0, 3});
  expect_all_near(run("Shrink", {Attribute::of_float("lambd", 1), Attribute::of_float("bias", 0.5f)}), {-1.5, 0, 0, 0, 2.5});
}

TEST(ElementwiseUnary, ActivationsDoNotOverflow) {
  Tensor x = f32_of({4}, {-1000, 1000, -90, 90});
  expect_all_near(run1("Sigmoid", {x}), {0, 1, 0, 1});
  expect_all_near(run1("Softplus", {x}), {0, 1000, 0, 90}, 1e-5);
  expect_all_near(run1("Tanh", {x}), {-1, 1, -1, 1});
}

TEST(ElementwiseUnary, SignedIntegerOps) {
  Tensor x = tensor_of<int8_t>({5}, {-128, -3, 0, 5, 127});
  // |-128| does not fit int8: it wraps to itself, as numpy does.
  EXPECT_EQ(values_of<int8_t>(run1("Abs", {x})), (std::vector<int8_t>{-128, 3, 0, 5, 127}));
  EXPECT_EQ(values_of<int8_t>(run1("Neg", {x})), (std::vector<int8_t>{-128, 3, 0, -5, -127}));
  EXPECT_EQ(values_of<int8_t>(run1("Sign", {x})), (std::vector<int8_t>{-1, -1, 0, 1, 1}));
  EXPECT_EQ(values_of<int8_t>(run1("Relu", {x})), (std::vector<int8_t>{0, 0, 0, 5, 127}));
  Tensor y = tensor_of<int64_t>({3}, {-7, 0, 9});
  EXPECT_EQ(values_of<int64_t>(run1("Shrink", {y}, {Attribute::of_float("lambd", 1), Attribute::of_float("bias", 2)})),
            (std::vector<int64_t>{-5, 0, 7}));
}

TEST(ElementwiseUnary, UnsignedIntegerOps) {
  Tensor x = tensor_of<uint32_t>({3}, {0, 7, 4000000000u});
  EXPECT_EQ(values_of<uint32_t>(run1("Abs", {x})), (std::vector<uint32_t>{0, 7, 4000000000u}));
  EXPECT_EQ(values_of<uint32_t>(run1("Sign", {x})), (std::vector<uint32_t>{0, 1, 1}));
  // Neg is only defined for signed types.
  EXPECT_NE(run_error("Neg", {x}).find("uint32"), std::string::npos);
}

TEST(ElementwiseUnary, SignOfFloatsKeepsNaN) {
  expect_all_near(run1("Sign", {f32_of({4}, {-2.5f, 0, 1e-30f, NAN})}), {-1, 0, 1, kNaN});
}

TEST(ElementwiseUnary, ClipBounds) {
  Tensor x = f32_of({2, 3}, {-3, -1, 0, 1, 2, 5});
  Tensor lo = Tensor::scalar_f32(-1.5f);
  Tensor hi = Tensor::scalar_f32(1.5f);
  expect_all_near(run1("Clip", {x, lo, hi}), {-1.5, -1, 0, 1, 1.5, 1.5});
  // Omitted min, then omitted max.
  expect_all_near(run1("Clip", {x, Tensor(), hi}), {-3, -1, 0, 1, 1.5, 1.5});
  expect_all_near(run1("Clip", {x, lo}), {-1.5, -1, 0, 1, 2, 5});
  expect_all_near(run1("Clip", {x}), {-3, -1, 0, 1, 2, 5});
  // min > max: everything becomes max.
  expect_all_near(run1("Clip", {x, hi, lo}), {-1.5, -1.5, -1.5, -1.5, -1.5, -1.5});
  // NaN passes through.
  expect_all_near(run1("Clip", {f32_of({1}, {NAN}), lo, hi}), {kNaN});
}

TEST(ElementwiseUnary, ClipIntegersAndErrors) {
  Tensor x = tensor_of<int8_t>({4}, {-128, -5, 5, 127});
  Tensor lo = tensor_of<int8_t>({}, {-6});
  Tensor hi = tensor_of<int8_t>({1}, {4});
  EXPECT_EQ(values_of<int8_t>(run1("Clip", {x, lo, hi})), (std::vector<int8_t>{-6, -5, 4, 4}));
  EXPECT_EQ(values_of<int8_t>(run1("Clip", {x, Tensor(), hi})),
            (std::vector<int8_t>{-128, -5, 4, 4}));
  std::string e = run_error("Clip", {x, tensor_of<int8_t>({2}, {1, 2})});
  EXPECT_NE(e.find("test_Clip"), std::string::npos) << e;
  EXPECT_NE(e.find("scalar"), std::string::npos) << e;
  e = run_error("Clip", {x, Tensor::scalar_f32(1)});
  EXPECT_NE(e.find("float32"), std::string::npos) << e;
}

TEST(ElementwiseUnary, Predicates) {
  Tensor x = tensor_of<double>({5}, {1.0, -kInf, kInf, kNaN, -0.0});
  EXPECT_EQ(values_of<bool>(run1("IsNaN", {x})),
            (std::vector<bool>{false, false, false, true, false}));
  EXPECT_EQ(values_of<bool>(run1("IsInf", {x})),
            (std::vector<bool>{false, true, true, false, false}));
  EXPECT_EQ(values_of<bool>(run1("IsInf", {x}, {Attribute::of_int("detect_positive", 0)})),
            (std::vector<bool>{false, true, false, false, false}));
  EXPECT_EQ(values_of<bool>(run1("IsInf", {x}, {Attribute::of_int("detect_negative", 0)})),
            (std::vector<bool>{false, false, true, false, false}));
  Tensor b = tensor_of<bool>({2, 2}, {true, false, false, true});
  Tensor nb = run1("Not", {b});
  EXPECT_EQ(nb.shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of<bool>(nb), (std::vector<bool>{false, true, true, false}));
}

TEST(ElementwiseUnary, IdentityKeepsTypeAndValues) {
  Tensor x = tensor_of<int64_t>({2, 2}, {1, -2, 3, -4});
  Tensor y = run1("Identity", {x});
  EXPECT_EQ(y.shape(), x.shape());
  EXPECT_EQ(values_of<int64_t>(y), (std::vector<int64_t>{1, -2, 3, -4}));
}

// f16 inputs compute in f32 and round back: the result equals the f32 result rounded to f16.
TEST(ElementwiseUnary, Float16ComputesInFloat) {
  Tensor x = cast_tensor(random_f32({3, 4}, 21, -3, 3), DType::f16);
  for (const char* op : {"Exp", "Sigmoid", "Tanh", "Relu", "Abs", "Neg", "Round", "Elu"}) {
    SCOPED_TRACE(op);
    Tensor y = run1(op, {x});
    ASSERT_EQ(y.dtype(), DType::f16);
    Tensor ref = cast_tensor(run1(op, {cast_tensor(x, DType::f32)}), DType::f16);
    for (int64_t i = 0; i < x.numel(); ++i)
      EXPECT_EQ(y.data<uint16_t>()[i], ref.data<uint16_t>()[i]) << "element " << i;
  }
  Tensor c = run1("Clip", {x, f16_of({}, {-1}), f16_of({}, {0.5f})});
  ASSERT_EQ(c.dtype(), DType::f16);
  for (int64_t i = 0; i < c.numel(); ++i) {
    const float v = f16_to_f32(c.data<uint16_t>()[i]);
    EXPECT_GE(v, -1);
    EXPECT_LE(v, 0.5f);
    EXPECT_EQ(v, std::min(std::max(f16_to_f32(x.data<uint16_t>()[i]), -1.0f), 0.5f));
  }
  EXPECT_EQ(values_of<bool>(run1("IsNaN", {f16_of({2}, {NAN, 1})})),
            (std::vector<bool>{true, false}));
}

TEST(ElementwiseUnary, BFloat16ComputesInFloat) {
  Tensor x = cast_tensor(f32_of({3}, {0, 1, -2}), DType::bf16);
  Tensor y = run1("Exp", {x});
  ASSERT_EQ(y.dtype(), DType::bf16);
  expect_all_near(y, {1, 2.71875, 0.1357421875}, 1e-9);  // bf16 neighbours of e and e^-2
}

TEST(ElementwiseUnary, WrongTypesAreErrorsNamingTheNode) {
  Tensor i = tensor_of<int32_t>({2}, {1, 2});
  for (const char* op : {"Exp", "Sigmoid", "Round", "IsNaN", "LeakyRelu"}) {
    std::string e = run_error(op, {i});
    EXPECT_NE(e.find(std::string("test_") + op), std::string::npos) << e;
    EXPECT_NE(e.find("int32"), std::string::npos) << e;
  }
  EXPECT_NE(run_error("Not", {i}).find("bool"), std::string::npos);
  EXPECT_NE(run_error("Abs", {tensor_of<bool>({1}, {true})}).find("bool"), std::string::npos);
  EXPECT_NE(run_error("Celu", {f32_of({1}, {1})}, {Attribute::of_float("alpha", 0)}).find("alpha"),
            std::string::npos);
}

TEST(ElementwiseUnary, ShapeFunctions) {
  TypeInfo x = type_of(DType::f32, {symbolic("N"), known(3)});
  EXPECT_EQ(infer1("Exp", {x}), x);
  TypeInfo b = infer1("IsNaN", {x});
  EXPECT_EQ(b.dtype, DType::boolean);
  EXPECT_EQ(b.dims, x.dims);
  EXPECT_EQ(infer1("Clip", {x, type_of(DType::f32, {}), type_of(DType::f32, {})}), x);
  EXPECT_THROW(infer1("Clip", {x, type_of(DType::f32, {known(2)})}), Error);
  EXPECT_THROW(infer1("Clip", {x, type_of(DType::i64, {})}), Error);
  EXPECT_THROW(infer1("Exp", {type_of(DType::i32, {known(2)})}), Error);
  EXPECT_THROW(infer1("Not", {x}), Error);
  TypeInfo i8 = type_of(DType::i8, {known(4)});
  EXPECT_EQ(infer1("Abs", {i8}), i8);
  EXPECT_EQ(infer1("Identity", {i8}), i8);
}

}  // namespace
}  // namespace nnaccel::testing
