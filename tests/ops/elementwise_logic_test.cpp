// Comparisons, boolean logic, BitShift and Where.
#include <limits>

#include "elementwise_test_util.hpp"

namespace nnaccel::testing {
namespace {

TEST(ElementwiseLogic, ComparisonsReturnBoolAndBroadcast) {
  Tensor a = f32_of({2, 3}, {1, 2, 3, 4, 5, NAN});
  Tensor b = f32_of({3}, {2, 2, 2});
  struct Case {
    const char* op;
    std::vector<bool> out;
  };
  for (const Case& c : std::vector<Case>{
           {"Equal", {false, true, false, false, false, false}},
           {"Greater", {false, false, true, true, true, false}},
           {"GreaterOrEqual", {false, true, true, true, true, false}},
           {"Less", {true, false, false, false, false, false}},
           {"LessOrEqual", {true, true, false, false, false, false}},
       }) {
    SCOPED_TRACE(c.op);
    Tensor y = run1(c.op, {a, b});
    EXPECT_EQ(y.shape(), (Shape{2, 3}));
    EXPECT_EQ(values_of<bool>(y), c.out);
  }
}

TEST(ElementwiseLogic, ComparisonsOnIntegersBoolAndF16) {
  Tensor a = tensor_of<int64_t>(
      {3}, {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max() - 1, -1});
  Tensor b = tensor_of<int64_t>({}, {std::numeric_limits<int64_t>::max() - 1});
  // Values that differ only beyond double precision still compare exactly.
  EXPECT_EQ(values_of<bool>(run1("Greater", {a, b})), (std::vector<bool>{true, false, false}));
  EXPECT_EQ(values_of<bool>(run1("Equal", {a, b})), (std::vector<bool>{false, true, false}));
  Tensor u = tensor_of<uint8_t>({2}, {200, 3});
  EXPECT_EQ(values_of<bool>(run1("Less", {u, tensor_of<uint8_t>({1}, {100})})),
            (std::vector<bool>{false, true}));
  Tensor p = tensor_of<bool>({2, 1}, {true, false});
  Tensor q = tensor_of<bool>({2}, {true, false});
  EXPECT_EQ(values_of<bool>(run1("Equal", {p, q})), (std::vector<bool>{true, false, false, true}));
  EXPECT_NE(run_error("Greater", {p, q}).find("bool"), std::string::npos);
  Tensor h = f16_of({3}, {0.5f, 1, 1.5f});
  EXPECT_EQ(values_of<bool>(run1("LessOrEqual", {h, f16_of({}, {1})})),
            (std::vector<bool>{true, true, false}));
  EXPECT_NE(run_error("Equal", {a, u}).find("different element types"), std::string::npos);
}

TEST(ElementwiseLogic, AndOrXorTruthTables) {
  // [4,1] against [2]: every pairing of the four rows with (true, false).
  Tensor a = tensor_of<bool>({2, 2, 1}, {true, true, false, false});
  Tensor b = tensor_of<bool>({2}, {true, false});
  Tensor y = run1("And", {a, b});
  EXPECT_EQ(y.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(values_of<bool>(y),
            (std::vector<bool>{true, false, true, false, false, false, false, false}));
  EXPECT_EQ(values_of<bool>(run1("Or", {a, b})),
            (std::vector<bool>{true, true, true, true, true, false, true, false}));
  EXPECT_EQ(values_of<bool>(run1("Xor", {a, b})),
            (std::vector<bool>{false, true, false, true, true, false, true, false}));
  EXPECT_NE(run_error("And", {a, tensor_of<uint8_t>({1}, {1})}).find("uint8"), std::string::npos);
}

TEST(ElementwiseLogic, BitShift) {
  Tensor x = tensor_of<uint8_t>({4}, {16, 4, 1, 255});
  Tensor s = tensor_of<uint8_t>({4}, {1, 2, 3, 4});
  EXPECT_EQ(values_of<uint8_t>(run1("BitShift", {x, s}, {Attribute::of_string("direction", "RIGHT")})),
            (std::vector<uint8_t>{8, 1, 0, 15}));
  EXPECT_EQ(values_of<uint8_t>(run1("BitShift", {x, s}, {Attribute::of_string("direction", "LEFT")})),
            (std::vector<uint8_t>{32, 16, 8, 240}));
  // Shifting by the width or more gives 0.
  Tensor w = tensor_of<uint64_t>({3}, {1, 1, 3});
  Tensor ws = tensor_of<uint64_t>({3}, {63, 64, 1000});
  EXPECT_EQ(values_of<uint64_t>(run1("BitShift", {w, ws}, {Attribute::of_string("direction", "LEFT")})),
            (std::vector<uint64_t>{uint64_t{1} << 63, 0, 0}));
  EXPECT_EQ(
      values_of<uint16_t>(run1(
          "BitShift", {tensor_of<uint16_t>({2}, {0x8001, 0x00ff}), tensor_of<uint16_t>({}, {8})},
          {Attribute::of_string("direction", "LEFT")})),
      (std::vector<uint16_t>{0x0100, 0xff00}));
  EXPECT_NE(run_error("BitShift", {x, s}).find("direction"), std::string::npos);
  EXPECT_NE(run_error("BitShift", {tensor_of<int8_t>({1}, {1}), tensor_of<int8_t>({1}, {1})},
                      {Attribute::of_string("direction", "LEFT")})
                .find("unsigned"),
            std::string::npos);
}

TEST(ElementwiseLogic, WhereBroadcastsAllThree) {
  Tensor c = tensor_of<bool>({2, 1}, {true, false});
  Tensor x = f32_of({1, 3}, {1, 2, 3});
  Tensor y = Tensor::scalar_f32(-1);
  Tensor r = run1("Where", {c, x, y});
  ASSERT_EQ(r.shape(), (Shape{2, 3}));
  expect_all_near(r, {1, 2, 3, -1, -1, -1});
  // int64 and f16 move bits unchanged.
  Tensor ci = tensor_of<bool>({3}, {false, true, false});
  EXPECT_EQ(values_of<int64_t>(run1("Where", {ci, tensor_of<int64_t>({3}, {1, 2, 3}),
                                              tensor_of<int64_t>({3}, {-1, -2, -3})})),
            (std::vector<int64_t>{-1, 2, -3}));
  Tensor h = run1("Where", {ci, f16_of({3}, {0.1f, 0.2f, 0.3f}), f16_of({1}, {7})});
  ASSERT_EQ(h.dtype(), DType::f16);
  expect_all_near(h, {7, f16_to_f32(f32_to_f16(0.2f)), 7}, 0);
  EXPECT_NE(run_error("Where", {ci, x, tensor_of<int64_t>({1}, {1})}).find("different"),
            std::string::npos);
  EXPECT_NE(run_error("Where", {x, x, x}).find("bool"), std::string::npos);
  std::string e = run_error("Where", {tensor_of<bool>({2}, {true, false}), x, random_f32({4}, 1)});
  EXPECT_NE(e.find("test_Where"), std::string::npos) << e;
}

TEST(ElementwiseLogic, ShapeFunctions) {
  TypeInfo a = type_of(DType::i32, {known(2), known(1)});
  TypeInfo b = type_of(DType::i32, {known(5)});
  TypeInfo y = infer1("Less", {a, b});
  EXPECT_EQ(y, type_of(DType::boolean, {known(2), known(5)}));
  EXPECT_THROW(infer1("Less", {a, type_of(DType::i64, {known(5)})}), Error);
  TypeInfo bb = type_of(DType::boolean, {known(3)});
  EXPECT_EQ(infer1("Xor", {bb, bb}), bb);
  EXPECT_THROW(infer1("Xor", {bb, b}), Error);
  TypeInfo w = infer1("Where", {type_of(DType::boolean, {known(2), known(1)}),
                                type_of(DType::f16, {known(4)}), type_of(DType::f16, {})});
  EXPECT_EQ(w, type_of(DType::f16, {known(2), known(4)}));
  EXPECT_THROW(infer1("Where", {bb, b, type_of(DType::f32, {})}), Error);
  EXPECT_THROW(infer1("Where", {bb, b, type_of(DType::i32, {known(4)})}), Error);
  TypeInfo u = type_of(DType::u32, {known(3)});
  EXPECT_EQ(infer1("BitShift", {u, u}, {Attribute::of_string("direction", "LEFT")}), u);
  EXPECT_THROW(infer1("BitShift", {a, a}), Error);
}

}  // namespace
}  // namespace nnaccel::testing
