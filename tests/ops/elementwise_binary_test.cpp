// Binary and variadic arithmetic: broadcasting against index arithmetic done by hand, integer
// semantics (wrapping, truncating division, both Mod conventions), Pow's mixed types, the f16
// path, errors and shape functions.
#include <cmath>
#include <limits>

#include "elementwise_test_util.hpp"

namespace nnaccel::testing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// [2,3,4] with [3,1]: b[j] is repeated along the last axis and across the first.
TEST(ElementwiseBinary, BroadcastsTrailingColumnOverBatch) {
  Tensor a = random_f32({2, 3, 4}, 1);
  Tensor b = random_f32({3, 1}, 2);
  Tensor y = run1("Add", {a, b});
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) {
        const int o = (i * 3 + j) * 4 + k;
        EXPECT_EQ(y.data<float>()[o], a.data<float>()[o] + b.data<float>()[j]);
      }
  // Operand order does not matter for the shape, and Sub is a - b elementwise.
  Tensor d = run1("Sub", {b, a});
  ASSERT_EQ(d.shape(), (Shape{2, 3, 4}));
  for (int64_t o = 0; o < d.numel(); ++o)
    EXPECT_EQ(d.data<float>()[o], b.data<float>()[(o / 4) % 3] - a.data<float>()[o]);
}

// Both inputs broadcast: [2,1,4] with [3,1] gives [2,3,4].
TEST(ElementwiseBinary, BroadcastsBothWays) {
  Tensor a = random_f32({2, 1, 4}, 3);
  Tensor b = random_f32({3, 1}, 4);
  Tensor y = run1("Mul", {a, b});
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        EXPECT_EQ(y.data<float>()[(i * 3 + j) * 4 + k],
                  a.data<float>()[i * 4 + k] * b.data<float>()[j]);
}

// A middle axis broadcast ([2,1,3] with [2,4,3]) cannot be merged away.
TEST(ElementwiseBinary, BroadcastsMiddleAxis) {
  Tensor a = random_f32({2, 1, 3}, 5);
  Tensor b = random_f32({2, 4, 3}, 6);
  Tensor y = run1("Div", {a, b});
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) {
        const int o = (i * 4 + j) * 3 + k;
        EXPECT_EQ(y.data<float>()[o], a.data<float>()[i * 3 + k] / b.data<float>()[o]);
      }
}

TEST(ElementwiseBinary, ScalarsAndEmptyTensors) {
  Tensor a = f32_of({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_all_near(run1("Mul", {a, Tensor::scalar_f32(2)}), {2, 4, 6, 8, 10, 12});
  expect_all_near(run1("Sub", {Tensor::scalar_f32(1), a}), {0, -1, -2, -3, -4, -5});
  Tensor s = run1("Add", {Tensor::scalar_f32(1.5f), Tensor::scalar_f32(2)});
  EXPECT_EQ(s.shape(), Shape{});
  expect_all_near(s, {3.5});
  Tensor e = run1("Add", {Tensor(DType::f32, {0, 3}), f32_of({3}, {1, 2, 3})});
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
  // [1] against [2,1] broadcasts to [2,1].
  Tensor one = run1("Add", {f32_of({1}, {10}), f32_of({2, 1}, {1, 2})});
  EXPECT_EQ(one.shape(), (Shape{2, 1}));
  expect_all_near(one, {11, 12});
}

TEST(ElementwiseBinary, IncompatibleShapesAreErrors) {
  std::string e = run_error("Add", {random_f32({2, 3}, 1), random_f32({4}, 2)});
  EXPECT_NE(e.find("test_Add"), std::string::npos) << e;
  EXPECT_NE(e.find("[2,3]"), std::string::npos) << e;
  EXPECT_NE(e.find("broadcast"), std::string::npos) << e;
  EXPECT_NE(run_error("Add", {random_f32({2, 3}, 1), tensor_of<double>({1}, {1})}).find("float64"),
            std::string::npos);
}

TEST(ElementwiseBinary, IntegerArithmeticWraps) {
  Tensor a = tensor_of<uint8_t>({3}, {250, 3, 16});
  Tensor b = tensor_of<uint8_t>({3}, {10, 5, 16});
  EXPECT_EQ(values_of<uint8_t>(run1("Add", {a, b})), (std::vector<uint8_t>{4, 8, 32}));
  EXPECT_EQ(values_of<uint8_t>(run1("Sub", {a, b})), (std::vector<uint8_t>{240, 254, 0}));
  EXPECT_EQ(values_of<uint8_t>(run1("Mul", {a, b})), (std::vector<uint8_t>{196, 15, 0}));
  Tensor c = tensor_of<uint16_t>({1}, {65535});
  EXPECT_EQ(values_of<uint16_t>(run1("Mul", {c, c})), (std::vector<uint16_t>{1}));
  Tensor m = tensor_of<int32_t>({2}, {std::numeric_limits<int32_t>::max(), -5});
  EXPECT_EQ(values_of<int32_t>(run1("Add", {m, tensor_of<int32_t>({}, {1})})),
            (std::vector<int32_t>{std::numeric_limits<int32_t>::min(), -4}));
}

TEST(ElementwiseBinary, IntegerDivisionTruncates) {
  Tensor a = tensor_of<int32_t>({6}, {7, -7, 7, -7, std::numeric_limits<int32_t>::min(), 0});
  Tensor b = tensor_of<int32_t>({6}, {2, 2, -2, -2, -1, 3});
  EXPECT_EQ(values_of<int32_t>(run1("Div", {a, b})),
            (std::vector<int32_t>{3, -3, -3, 3, std::numeric_limits<int32_t>::min(), 0}));
  Tensor u = tensor_of<uint8_t>({3}, {16, 6, 0});
  EXPECT_EQ(values_of<uint8_t>(run1("Div", {u, tensor_of<uint8_t>({3}, {11, 5, 23})})),
            (std::vector<uint8_t>{1, 1, 0}));
}

TEST(ElementwiseBinary, IntegerDivisionByZeroIsAnError) {
  Tensor a = tensor_of<int64_t>({2}, {1, 2});
  Tensor z = tensor_of<int64_t>({2}, {3, 0});
  for (const char* op : {"Div", "Mod"}) {
    std::string e = run_error(op, {a, z});
    EXPECT_NE(e.find(std::string("test_") + op), std::string::npos) << e;
    EXPECT_NE(e.find("division by zero"), std::string::npos) << e;
  }
  // Float division by zero is IEEE.
  expect_all_near(run1("Div", {f32_of({3}, {1, -1, 0}), f32_of({3}, {0, 0, 0})}),
                  {INFINITY, -INFINITY, kNaN});
}

TEST(ElementwiseBinary, ModSignConventions) {
  Tensor a = tensor_of<int8_t>({6}, {-4, 7, 5, 4, -7, 8});
  Tensor b = tensor_of<int8_t>({6}, {2, -3, 8, -2, 3, 5});
  // fmod = 0: the sign of the divisor.
  EXPECT_EQ(values_of<int8_t>(run1("Mod", {a, b})), (std::vector<int8_t>{0, -2, 5, 0, 2, 3}));
  // fmod = 1: the sign of the dividend.
  EXPECT_EQ(values_of<int8_t>(run1("Mod", {a, b}, {Attribute::of_int("fmod", 1)})),
            (std::vector<int8_t>{0, 1, 5, 0, -1, 3}));
  Tensor fa = f32_of({4}, {-4.5f, 7.5f, 5, -7.5f});
  Tensor fb = f32_of({4}, {2, -2, 8, 2});
  expect_all_near(run1("Mod", {fa, fb}, {Attribute::of_int("fmod", 1)}), {-0.5, 1.5, 5, -1.5});
  expect_all_near(run1("Mod", {fa, fb}), {1.5, -0.5, 5, 0.5});
  // The most negative value mod -1 is 0, not a crash.
  Tensor mn = tensor_of<int64_t>({1}, {std::numeric_limits<int64_t>::min()});
  EXPECT_EQ(values_of<int64_t>(run1("Mod", {mn, tensor_of<int64_t>({1}, {-1})})),
            (std::vector<int64_t>{0}));
  EXPECT_NE(run_error("Mod", {a, b}, {Attribute::of_int("fmod", 2)}).find("fmod"), std::string::npos);
}

TEST(ElementwiseBinary, ModBroadcastsScalarDivisor) {
  Tensor a = tensor_of<int32_t>({2, 3}, {-5, -1, 0, 1, 5, 9});
  EXPECT_EQ(values_of<int32_t>(run1("Mod", {a, tensor_of<int32_t>({}, {3})})),
            (std::vector<int32_t>{1, 2, 0, 1, 2, 0}));
}

TEST(ElementwiseBinary, VariadicMaxMinSumMean) {
  Tensor a = f32_of({3}, {3, 2, 1});
  Tensor b = f32_of({3}, {1, 4, 4});
  Tensor c = f32_of({2, 1}, {2, 5});
  Tensor mx = run1("Max", {a, b, c});
  ASSERT_EQ(mx.shape(), (Shape{2, 3}));
  expect_all_near(mx, {3, 4, 4, 5, 5, 5});
  expect_all_near(run1("Min", {a, b, c}), {1, 2, 1, 1, 2, 1});
  expect_all_near(run1("Sum", {a, b, c}), {6, 8, 7, 9, 11, 10});
  expect_all_near(run1("Mean", {a, b, c}), {2, 8.0 / 3, 7.0 / 3, 3, 11.0 / 3, 10.0 / 3});
  // One input: the input itself.
  expect_all_near(run1("Sum", {a}), {3, 2, 1});
  expect_all_near(run1("Mean", {a}), {3, 2, 1});
  expect_all_near(run1("Max", {a, f32_of({3}, {NAN, 0, 0})}), {kNaN, 2, 1});
  expect_all_near(run1("Min", {a, f32_of({3}, {0, NAN, 0})}), {0, kNaN, 0});
}

TEST(ElementwiseBinary, MaxMinOnIntegers) {
  Tensor a = tensor_of<uint64_t>({3}, {std::numeric_limits<uint64_t>::max(), 0, 7});
  Tensor b = tensor_of<uint64_t>({3}, {1, 5, 7});
  EXPECT_EQ(values_of<uint64_t>(run1("Max", {a, b})),
            (std::vector<uint64_t>{std::numeric_limits<uint64_t>::max(), 5, 7}));
  EXPECT_EQ(values_of<uint64_t>(run1("Min", {a, b})), (std::vector<uint64_t>{1, 0, 7}));
  Tensor c = tensor_of<int16_t>({2}, {-300, 20});
  EXPECT_EQ(values_of<int16_t>(run1("Max", {c, tensor_of<int16_t>({}, {0})})),
            (std::vector<int16_t>{0, 20}));
  // Sum and Mean are float-only in the spec.
  EXPECT_NE(run_error("Sum", {c, c}).find("int16"), std::string::npos);
  EXPECT_NE(run_error("Max", {c, b}).find("input 1"), std::string::npos);
}

TEST(ElementwiseBinary, PowFloat) {
  Tensor x = f32_of({4}, {2, 9, -2, 0});
  expect_all_near(run1("Pow", {x, f32_of({4}, {3, 0.5f, 2, 0})}), {8, 3, 4, 1});
  expect_all_near(run1("Pow", {x, Tensor::scalar_f32(2)}), {4, 81, 4, 0});
  // Exponent of another type; the output keeps the base's type.
  Tensor y = run1("Pow", {x, tensor_of<int64_t>({4}, {-1, 2, 3, 1})});
  EXPECT_EQ(y.dtype(), DType::f32);
  expect_all_near(y, {0.5, 81, -8, 0});
  expect_all_near(run1("Pow", {f32_of({1}, {-8}), Tensor::scalar_f32(1.0f / 3)}), {kNaN});
}

TEST(ElementwiseBinary, PowIntegerBase) {
  Tensor a = tensor_of<int32_t>({3}, {1, 2, 3});
  Tensor y = run1("Pow", {a, f32_of({3}, {4, 5, 0.5f})});
  EXPECT_EQ(values_of<int32_t>(y), (std::vector<int32_t>{1, 32, 1}));  // sqrt(3) truncates
  Tensor b = tensor_of<int64_t>({5}, {3, -2, 2, -1, 10});
  Tensor e = tensor_of<int64_t>({5}, {13, 3, -1, -3, 0});
  EXPECT_EQ(values_of<int64_t>(run1("Pow", {b, e})), (std::vector<int64_t>{1594323, -8, 0, -1, 1}));
  // 2^40 wraps in int32, as numpy's integer power does.
  EXPECT_EQ(values_of<int32_t>(
                run1("Pow", {tensor_of<int32_t>({1}, {2}), tensor_of<int32_t>({1}, {40})})),
            (std::vector<int32_t>{0}));
  std::string err = run_error("Pow", {tensor_of<int32_t>({1}, {0}), tensor_of<int32_t>({1}, {-1})});
  EXPECT_NE(err.find("negative power"), std::string::npos) << err;
}

TEST(ElementwiseBinary, PRelu) {
  Tensor x = random_f32({3, 4, 5}, 7);
  Tensor slope = random_f32({5}, 8);
  Tensor y = run1("PRelu", {x, slope});
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float v = x.data<float>()[i];
    EXPECT_EQ(y.data<float>()[i], v < 0 ? v * slope.data<float>()[i % 5] : v);
  }
  // A slope that would enlarge X is an error (the broadcast is one-directional).
  std::string e = run_error("PRelu", {random_f32({3, 1}, 1), random_f32({3, 4}, 2)});
  EXPECT_NE(e.find("slope"), std::string::npos) << e;
  Tensor xi = tensor_of<int32_t>({3}, {-3, 0, 4});
  EXPECT_EQ(values_of<int32_t>(run1("PRelu", {xi, tensor_of<int32_t>({1}, {2})})),
            (std::vector<int32_t>{-6, 0, 4}));
}

// f16 inputs compute in f32 and round once.
TEST(ElementwiseBinary, Float16ComputesInFloat) {
  Tensor a = cast_tensor(random_f32({2, 3}, 9, -4, 4), DType::f16);
  Tensor b = cast_tensor(random_f32({3}, 10, 0.5f, 2), DType::f16);
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Pow"}) {
    SCOPED_TRACE(op);
    Tensor y = run1(op, {a, b});
    ASSERT_EQ(y.dtype(), DType::f16);
    ASSERT_EQ(y.shape(), (Shape{2, 3}));
    Tensor ref =
        cast_tensor(run1(op, {cast_tensor(a, DType::f32), cast_tensor(b, DType::f32)}), DType::f16);
    for (int64_t i = 0; i < y.numel(); ++i)
      EXPECT_EQ(y.data<uint16_t>()[i], ref.data<uint16_t>()[i]) << "element " << i;
  }
  Tensor m = run1("Mod", {f16_of({2}, {-4.5f, 7.5f}), f16_of({2}, {2, -2})}, {Attribute::of_int("fmod", 1)});
  ASSERT_EQ(m.dtype(), DType::f16);
  expect_all_near(m, {-0.5, 1.5});
  Tensor s = run1("Add", {f16_of({2}, {1, 2048}), f16_of({2}, {0.5f, 1})});
  expect_all_near(s, {1.5, 2048});  // 2049 is not an f16: rounds to even
}

TEST(ElementwiseBinary, ShapeFunctions) {
  TypeInfo a = type_of(DType::f32, {symbolic("N"), known(3), known(4)});
  TypeInfo b = type_of(DType::f32, {known(3), known(1)});
  TypeInfo y = infer1("Add", {a, b});
  EXPECT_EQ(y.dtype, DType::f32);
  ASSERT_TRUE(y.has_shape);
  EXPECT_EQ(y.dims, (std::vector<Dim>{symbolic("N"), known(3), known(4)}));
  EXPECT_THROW(infer1("Add", {a, type_of(DType::f32, {known(5)})}), Error);
  EXPECT_THROW(infer1("Mul", {a, type_of(DType::f64, {known(4)})}), Error);
  EXPECT_EQ(infer1("Sum", {a, b, type_of(DType::f32, {})}).dims, y.dims);
  EXPECT_THROW(infer1("Sum", {type_of(DType::i32, {known(2)}), type_of(DType::i32, {known(2)})}),
               Error);
  TypeInfo p = infer1("Pow", {type_of(DType::i32, {known(2)}), type_of(DType::f32, {})});
  EXPECT_EQ(p, type_of(DType::i32, {known(2)}));
  EXPECT_EQ(infer1("PRelu", {a, type_of(DType::f32, {known(4)})}), a);
  EXPECT_THROW(
      infer1("PRelu", {type_of(DType::f32, {known(3), known(1)}), type_of(DType::f32, {known(4)})}),
      Error);
  TypeInfo unknown_rank;
  unknown_rank.dtype = DType::f32;
  EXPECT_FALSE(infer1("Add", {a, unknown_rank}).has_shape);
}

}  // namespace
}  // namespace nnaccel::testing
