// Cast and CastLike: ONNX Cast semantics (truncation to integers, round-to-nearest-even to the
// 16-bit floats), errors and shape functions.
#include <limits>

#include "elementwise_test_util.hpp"

namespace nnaccel::testing {
namespace {

Attribute to(DType t) { return Attribute::of_int("to", static_cast<int64_t>(t)); }

TEST(Cast, FloatToIntegersTruncates) {
  Tensor x = f32_of({5}, {-2.7f, -0.5f, 0, 1.9f, 100.5f});
  EXPECT_EQ(values_of<int32_t>(run1("Cast", {x}, {to(DType::i32)})),
            (std::vector<int32_t>{-2, 0, 0, 1, 100}));
  EXPECT_EQ(values_of<int64_t>(run1("Cast", {x}, {to(DType::i64)})),
            (std::vector<int64_t>{-2, 0, 0, 1, 100}));
  EXPECT_EQ(values_of<bool>(run1("Cast", {x}, {to(DType::boolean)})),
            (std::vector<bool>{true, true, false, true, true}));
}

TEST(Cast, IntegersAndBoolToFloat) {
  Tensor x = tensor_of<int64_t>({3}, {-3, 0, int64_t{1} << 40});
  Tensor y = run1("Cast", {x}, {to(DType::f64)});
  EXPECT_EQ(values_of<double>(y), (std::vector<double>{-3, 0, 1099511627776.0}));
  Tensor b = tensor_of<bool>({2}, {true, false});
  EXPECT_EQ(values_of<float>(run1("Cast", {b}, {to(DType::f32)})), (std::vector<float>{1, 0}));
  EXPECT_EQ(values_of<uint8_t>(run1("Cast", {tensor_of<int32_t>({2}, {7, 255})}, {to(DType::u8)})),
            (std::vector<uint8_t>{7, 255}));
}

TEST(Cast, SixteenBitFloatsRoundToNearestEven) {
  // 1 + 2^-8 lies halfway between the bf16 values 1 and 1 + 2^-7: ties go to the even one (1);
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
  Tensor x = f32_of({3}, {1.00390625f, 1.01171875f, -2.5f});
  Tensor b = run1("Cast", {x}, {to(DType::bf16)});
  ASSERT_EQ(b.dtype(), DType::bf16);
  expect_all_near(b, {1, 1.015625, -2.5}, 0);
  // 1 + 2^-11 is halfway between the f16 values 1 and 1 + 2^-10.
  Tensor h = run1("Cast", {f32_of({2}, {1.00048828125f, 65504})}, {to(DType::f16)});
  ASSERT_EQ(h.dtype(), DType::f16);
  expect_all_near(h, {1, 65504}, 0);
  // And back, exactly.
  Tensor f = run1("Cast", {h}, {to(DType::f32)});
  EXPECT_EQ(values_of<float>(f), (std::vector<float>{1, 65504}));
  Tensor d = run1("Cast", {b}, {to(DType::f64)});
  EXPECT_EQ(values_of<double>(d), (std::vector<double>{1, 1.015625, -2.5}));
}

TEST(Cast, SameTypeKeepsValues) {
  Tensor x = random_f32({2, 3}, 4);
  Tensor y = run1("Cast", {x}, {to(DType::f32)});
  EXPECT_EQ(values_of<float>(y), values_of<float>(x));
}

TEST(Cast, CastLikeTakesTheSecondInputsType) {
  Tensor x = f32_of({2, 2}, {1.5f, -1.5f, 3, 0.25f});
  Tensor like = tensor_of<int16_t>({1}, {0});
  Tensor y = run1("CastLike", {x, like});
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of<int16_t>(y), (std::vector<int16_t>{1, -1, 3, 0}));
  Tensor h = run1("CastLike", {x, f16_of({}, {0})});
  ASSERT_EQ(h.dtype(), DType::f16);
  expect_all_near(h, {1.5, -1.5, 3, 0.25}, 0);
}

TEST(Cast, ErrorsNameTheNode) {
  Tensor x = f32_of({1}, {1});
  std::string e = run_error("Cast", {x});
  EXPECT_NE(e.find("test_Cast"), std::string::npos) << e;
  EXPECT_NE(e.find("'to'"), std::string::npos) << e;
  EXPECT_NE(run_error("Cast", {x}, {to(DType::string)}).find("string"), std::string::npos);
  EXPECT_NE(run_error("Cast", {x}, {Attribute::of_int("to", 99)}).find("99"), std::string::npos);
  EXPECT_NE(run_error("Cast", {x}, {to(DType::c64)}).find("complex64"), std::string::npos);
}

TEST(Cast, ShapeFunctions) {
  TypeInfo x = type_of(DType::f32, {symbolic("N"), known(3)});
  EXPECT_EQ(infer1("Cast", {x}, {to(DType::i8)}), type_of(DType::i8, x.dims));
  EXPECT_EQ(infer1("CastLike", {x, type_of(DType::f16, {known(7)})}), type_of(DType::f16, x.dims));
  EXPECT_THROW(infer1("Cast", {x}), Error);
  EXPECT_THROW(infer1("Cast", {x}, {to(DType::string)}), Error);
}

}  // namespace
}  // namespace nnaccel::testing
