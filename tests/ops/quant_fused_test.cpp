// ai.nnaccel QConv, QMatMul, QAdd: hand-computed cases, and each op against the QDQ unit it
// replaces (DequantizeLinear -> float op (+ residual, + activation) -> QuantizeLinear) run by the
// reference kernels on random data.
#include <cmath>
#include <random>
#include <string>

#include "ops/fused_activation.hpp"
#include "ops/op_test_util.hpp"

namespace nnaccel {
namespace {

using testing::make_node;
using testing::run_op;

template <typename T>
Tensor make(DType dt, Shape shape, std::vector<T> v) {
  Tensor t(dt, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), v.size());
  std::copy(v.begin(), v.end(), t.data<T>());
  return t;
}
Tensor u8s(uint8_t v) { return make<uint8_t>(DType::u8, {}, {v}); }
Tensor i8s(int8_t v) { return make<int8_t>(DType::i8, {}, {v}); }
Tensor f32s(float v) { return Tensor::scalar_f32(v); }

Node qnode(const std::string& op, int inputs, std::vector<Attribute> attrs = {}) {
  Node n = make_node(op, inputs, 1, std::move(attrs));
  n.domain = "ai.nnaccel";
  return n;
}

std::vector<int64_t> ints(const Tensor& t) { return t.to_i64_vector(); }

// Random u8 / i8 / i32 values over the whole range given.
Tensor random_int(DType dt, const Shape& shape, uint32_t seed, int lo, int hi) {
  Tensor t(dt, shape);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int v = d(rng);
    if (dt == DType::u8) t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
    if (dt == DType::i8) t.data<int8_t>()[i] = static_cast<int8_t>(v);
    if (dt == DType::i32) t.data<int32_t>()[i] = v;
  }
  return t;
}

Tensor zero_point(DType dt, int v) {
  return dt == DType::u8 ? u8s(static_cast<uint8_t>(v)) : i8s(static_cast<int8_t>(v));
}

// Elementwise comparison of two integer tensors: off-by-one count and nothing further apart.
void expect_within_one_lsb(const Tensor& got, const Tensor& want, double max_off_by_one) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  int64_t off1 = 0, off2 = 0, saturated = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const int64_t d = std::abs(got.at_i64(i) - want.at_i64(i));
    off1 += d == 1;
    off2 += d >= 2;
    const int64_t v = want.at_i64(i);
    saturated += want.dtype() == DType::u8 ? (v == 0 || v == 255) : (v == -128 || v == 127);
  }
  EXPECT_EQ(off2, 0);
  EXPECT_LE(static_cast<double>(off1), max_off_by_one * static_cast<double>(got.numel()));
  // The data must exercise the range, not just the clamps.
  EXPECT_LT(saturated, got.numel() / 4);
}

Tensor dequantize(const Tensor& x, const Tensor& scale, const Tensor& zp, int64_t axis = 1) {
  Node n = make_node("DequantizeLinear", 3, 1, {Attribute::of_int("axis", axis)});
  return run_op(n, {x, scale, zp})[0];
}
Tensor quantize(const Tensor& x, const Tensor& scale, const Tensor& zp) {
  return run_op(make_node("QuantizeLinear", 3, 1), {x, scale, zp})[0];
}
Tensor activate(const Tensor& x, const std::string& act, std::vector<float> params) {
  Tensor y = x.clone();
  Node n;
  n.attrs = {Attribute::of_string("activation", act),
             Attribute::of_floats("activation_params", params)};
  FusedActivation a = fused_activation_of(n);
  for (int64_t i = 0; i < y.numel(); ++i)
    y.data<float>()[i] = apply_activation(a, y.data<float>()[i]);
  return y;
}
Tensor add(const Tensor& a, const Tensor& b) { return run_op(make_node("Add", 2, 1), {a, b})[0]; }

// --- QConv ----------------------------------------------------------------------------------

// x - 10 = [[0,2,4],[6,8,10],[12,14,16]]; w channel 0 = [[1,0],[0,1]] (zp 0), channel 1 raw
// [[2,1],[1,0]] with zp 1 = [[1,0],[0,-1]]. acc: ch0 8 12 20 24, ch1 -8 x4; + bias [4, -2].
// v = 0.5 * w_scale[m] * (acc + B): ch0 (0.125) 1.5 2 3 3.5, ch1 (0.5) -5 x4.
std::vector<Tensor> hand_conv_inputs() {
  Tensor x = make<uint8_t>(DType::u8, {1, 1, 3, 3}, {10, 12, 14, 16, 18, 20, 22, 24, 26});
  Tensor w = make<int8_t>(DType::i8, {2, 1, 2, 2}, {1, 0, 0, 1, 2, 1, 1, 0});
  Tensor ws = Tensor::from_f32({2}, {0.25f, 1.0f});
  Tensor wz = make<int8_t>(DType::i8, {2}, {0, 1});
  Tensor b = make<int32_t>(DType::i32, {2}, {4, -2});
  return {x, f32s(0.5f), u8s(10), w, ws, wz, f32s(0.5f), u8s(100), b};
}

TEST(QConv, HandComputedPerChannelWithBiasAndZeroPoints) {
  auto out = run_op(qnode("QConv", 9), hand_conv_inputs());
  ASSERT_EQ(out[0].dtype(), DType::u8);
  EXPECT_EQ(out[0].shape(), (Shape{1, 2, 2, 2}));
  EXPECT_EQ(ints(out[0]), (std::vector<int64_t>{103, 104, 106, 107, 90, 90, 90, 90}));
}

TEST(QConv, HandComputedRoundsHalfToEvenIntoInt8) {
  std::vector<Tensor> in = hand_conv_inputs();
  in[6] = f32s(2.0f);  // v / 2: 0.75 1 1.5 1.75 and -2.5
  in[7] = i8s(0);
  auto out = run_op(qnode("QConv", 9), in);
  ASSERT_EQ(out[0].dtype(), DType::i8);
  EXPECT_EQ(ints(out[0]), (std::vector<int64_t>{1, 1, 2, 2, -2, -2, -2, -2}));
}

TEST(QConv, HandComputedResidualThenRelu) {
  std::vector<Tensor> in = hand_conv_inputs();
  in.push_back(make<uint8_t>(DType::u8, {1, 2, 2, 2}, {2, 2, 2, 2, 2, 2, 2, 2}));  // z
  in.push_back(f32s(0.25f));
  in.push_back(u8s(0));
  // + 0.5 each: ch0 2 2.5 3.5 4 -> 104 105 107 108; ch1 -4.5 -> relu 0 -> 100.
  auto out = run_op(qnode("QConv", 12, {Attribute::of_string("activation", "Relu")}), in);
  EXPECT_EQ(ints(out[0]), (std::vector<int64_t>{104, 105, 107, 108, 100, 100, 100, 100}));
}

// A QDQ model's Conv -> Q -> DQ -> Add: the conv's result is rounded to its own grid (scale 1,
// zero point 3) before z is added. v ch0 1.5 2 3 3.5 -> 2 2 3 4 (half to even); ch1 -5 -> -2
// saturates at 0, so -3. Then + 0.5: ch0 2.5 2.5 3.5 4.5 -> / 0.5 -> 105 105 107 109; ch1
// -2.5 -> relu 0 -> 100.
TEST(QConv, HandComputedResidualOnTheConvsOwnGrid) {
  std::vector<Tensor> in = hand_conv_inputs();
  in.push_back(make<uint8_t>(DType::u8, {1, 2, 2, 2}, {2, 2, 2, 2, 2, 2, 2, 2}));  // z
  in.push_back(f32s(0.25f));
  in.push_back(u8s(0));
  in.push_back(f32s(1.0f));  // mid_scale
  in.push_back(u8s(3));      // mid_zero_point
  auto out = run_op(qnode("QConv", 14, {Attribute::of_string("activation", "Relu")}), in);
  EXPECT_EQ(ints(out[0]), (std::vector<int64_t>{105, 105, 107, 109, 100, 100, 100, 100}));
}

TEST(QConv, FloatOutputWhenYScaleIsOmitted) {
  std::vector<Tensor> in = hand_conv_inputs();
  in[6] = Tensor();
  in[7] = Tensor();
  auto out = run_op(qnode("QConv", 9), in);
  ASSERT_EQ(out[0].dtype(), DType::f32);
  EXPECT_EQ(out[0].to_f32_vector(), (std::vector<float>{1.5f, 2, 3, 3.5f, -5, -5, -5, -5}));
}

struct ConvCase {
  DType x_type, y_type;
  Shape x, w;
  std::vector<Attribute> attrs;
  bool per_channel, bias, residual;
  std::string act;
  std::vector<float> params;
};

// The QDQ unit QConv replaces, run by the reference kernels.
Tensor conv_unit_reference(const ConvCase& c, const std::vector<Tensor>& in) {
  Tensor xf = dequantize(in[0], in[1], in[2]);
  Tensor wf = dequantize(in[3], in[4], in[5], 0);
  std::vector<Tensor> conv_in{xf, wf};
  if (c.bias) {
    Tensor bs = in[4].clone();
    for (int64_t i = 0; i < bs.numel(); ++i) bs.data<float>()[i] *= in[1].data<float>()[0];
    Tensor zp(DType::i32, bs.shape());
    conv_in.push_back(dequantize(in[8], bs, zp, 0));
  }
  Tensor v = run_op(make_node("Conv", static_cast<int>(conv_in.size()), 1, c.attrs), conv_in)[0];
  if (c.residual) v = add(v, dequantize(in[9], in[10], in[11]));
  v = activate(v, c.act, c.params);
  if (!in[6].defined()) return v;
  return quantize(v, in[6], in[7]);
}

void check_conv_case(const ConvCase& c, uint32_t seed) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed << " act '" << c.act << "'");
  const int64_t M = c.w[0];
  const bool u8 = c.x_type == DType::u8;
  std::vector<Tensor> in(12);
  in[0] = random_int(c.x_type, c.x, seed, u8 ? 0 : -128, u8 ? 255 : 127);
  in[1] = f32s(0.02f);
  in[2] = zero_point(c.x_type, u8 ? 131 : -3);
  in[3] = random_int(DType::i8, c.w, seed + 1, -127, 127);
  if (c.per_channel) {
    in[4] = testing::random_f32({M}, seed + 2, 0.002f, 0.006f);
    in[5] = random_int(DType::i8, {M}, seed + 3, -4, 4);
  } else {
    in[4] = f32s(0.004f);
    in[5] = i8s(2);
  }
  if (c.y_type != DType::f32) {
    in[6] = f32s(0.03f * std::sqrt(static_cast<float>(shape_numel(c.w) / M)) / 3.0f);
    in[7] = zero_point(c.y_type, c.y_type == DType::u8 ? 120 : 5);
  }
  if (c.bias) in[8] = random_int(DType::i32, {M}, seed + 4, -3000, 3000);
  Node n = qnode("QConv", 9, c.attrs);
  n.attrs.push_back(Attribute::of_string("activation", c.act));
  n.attrs.push_back(Attribute::of_floats("activation_params", c.params));
  if (!c.bias) n.inputs[8].clear();
  Tensor ref_shape = run_op(make_node("Conv", 2, 1, c.attrs),
                            {Tensor(DType::f32, c.x), Tensor(DType::f32, c.w)})[0];
  if (c.residual) {
    in[9] = random_int(DType::u8, ref_shape.shape(), seed + 5, 0, 255);
    in[10] = f32s(0.01f);
    in[11] = u8s(128);
    n.inputs = {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", c.bias ? "b" : "", "z", "zs", "zz"};
  } else {
    in.resize(9);
  }
  if (c.y_type == DType::f32) n.inputs[6].clear(), n.inputs[7].clear();
  Tensor got = run_op(n, in)[0];
  Tensor want = conv_unit_reference(c, in);
  if (c.y_type == DType::f32) {
    ASSERT_EQ(got.dtype(), DType::f32);
    ASSERT_EQ(got.shape(), want.shape());
    for (int64_t i = 0; i < got.numel(); ++i)
      ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i],
                  1e-5 * (1 + std::abs(want.data<float>()[i])));
    return;
  }
  expect_within_one_lsb(got, want, 0.01);
}

std::vector<Attribute> conv_attrs(std::vector<int64_t> strides, std::vector<int64_t> pads,
                                  std::vector<int64_t> dilations, int64_t group) {
  return {Attribute::of_ints("strides", strides), Attribute::of_ints("pads", pads),
          Attribute::of_ints("dilations", dilations), Attribute::of_int("group", group)};
}

TEST(QConv, MatchesTheQdqUnitOnRandomData) {
  const auto plain = conv_attrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 1);
  const auto strided = conv_attrs({2, 1}, {0, 1, 2, 0}, {1, 2}, 1);
  const auto grouped = conv_attrs({1, 2}, {1, 1, 1, 1}, {1, 1}, 3);
  const auto depthwise = conv_attrs({2, 2}, {1, 1, 1, 1}, {1, 1}, 6);
  const DType u8 = DType::u8, i8 = DType::i8, f32 = DType::f32;
  std::vector<ConvCase> cases = {
      {u8, u8, {2, 5, 9, 7}, {7, 5, 3, 3}, plain, true, true, false, "", {}},
      {u8, u8, {1, 5, 9, 7}, {7, 5, 3, 3}, plain, true, true, true, "Relu", {}},
      {i8, i8, {1, 4, 11, 9}, {6, 4, 3, 2}, strided, false, false, false, "LeakyRelu", {0.1f}},
      {u8, i8, {1, 6, 7, 8}, {9, 2, 3, 3}, grouped, true, true, true, "Clip", {-0.5f, 1.5f}},
      {i8, u8, {2, 6, 9, 9}, {6, 1, 3, 3}, depthwise, true, true, false, "HardSwish", {}},
      {u8,
       u8,
       {1, 3, 6, 6},
       {5, 3, 1, 1},
       conv_attrs({1, 1}, {0, 0, 0, 0}, {1, 1}, 1),
       true,
       false,
       true,
       "Sigmoid",
       {}},
      {u8, f32, {1, 5, 7, 7}, {4, 5, 3, 3}, plain, true, true, false, "Tanh", {}},
      {i8,
       i8,
       {1, 4, 13},
       {5, 4, 3},
       {Attribute::of_ints("pads", {1, 1})},
       true,
       true,
       false,
       "Gelu",
       {}},
  };
  uint32_t seed = 100;
  for (const ConvCase& c : cases) check_conv_case(c, seed += 10);
}

TEST(QConv, BadInputsAndAttributesNameTheNode) {
  auto expect_error = [](const Node& n, std::vector<Tensor> in, const std::string& part) {
    try {
      run_op(n, in);
      ADD_FAILURE() << "no error, expected " << part;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("test_QConv"), std::string::npos) << msg;
      EXPECT_NE(msg.find(part), std::string::npos) << msg;
    }
  };
  const std::vector<Tensor> good = hand_conv_inputs();
  expect_error(qnode("QConv", 9, {Attribute::of_string("activation", "Swish")}), good, "Swish");
  expect_error(qnode("QConv", 9, {Attribute::of_string("activation", "Clip")}), good,
               "activation_params");
  expect_error(qnode("QConv", 9, {Attribute::of_int("group", 2)}), good, "group");
  std::vector<Tensor> in = good;
  in[3] = make<uint8_t>(DType::u8, {2, 1, 2, 2}, {1, 0, 0, 1, 2, 1, 1, 0});
  expect_error(qnode("QConv", 9), in, "w must be int8");
  in = good;
  in[4] = Tensor::from_f32({3}, {1, 1, 1});
  expect_error(qnode("QConv", 9), in, "w_scale");
  in = good;
  in[8] = make<int32_t>(DType::i32, {3}, {1, 2, 3});
  expect_error(qnode("QConv", 9), in, "bias");
  in = good;
  in[7] = Tensor();
  expect_error(qnode("QConv", 9), in, "y_zero_point");
  in = good;
  in[6] = f32s(0.0f);
  expect_error(qnode("QConv", 9), in, "y_scale");
  in = good;
  in[2] = i8s(0);
  expect_error(qnode("QConv", 9), in, "x_zero_point");
  in = good;
  in.push_back(make<uint8_t>(DType::u8, {1, 2, 2, 1}, {1, 2, 3, 4}));
  in.push_back(f32s(1.0f));
  in.push_back(u8s(0));
  expect_error(qnode("QConv", 12), in, "residual");
  in = good;
  in.resize(12);
  in.push_back(f32s(1.0f));
  in.push_back(u8s(0));
  expect_error(qnode("QConv", 14), in, "mid_scale needs z");
}

// --- QMatMul --------------------------------------------------------------------------------

// a - 1 = [[0,1,2],[3,4,5]]; b columns [1,2,0] (zp 0) and [-1,0,3] - 1 = [-2,-1,2].
// acc [[2,3],[11,0]] + bias [1,-1]; scales 0.5*[1, 0.5]: v [[1.5, 0.5], [6, -0.25]].
std::vector<Tensor> hand_matmul_inputs() {
  return {make<uint8_t>(DType::u8, {2, 3}, {1, 2, 3, 4, 5, 6}),
          f32s(0.5f),
          u8s(1),
          make<int8_t>(DType::i8, {3, 2}, {1, -1, 2, 0, 0, 3}),
          Tensor::from_f32({2}, {1.0f, 0.5f}),
          make<int8_t>(DType::i8, {2}, {0, 1}),
          f32s(0.5f),
          u8s(128),
          make<int32_t>(DType::i32, {2}, {1, -1})};
}

TEST(QMatMul, HandComputedPerColumnWithBias) {
  auto out = run_op(qnode("QMatMul", 9), hand_matmul_inputs());
  ASSERT_EQ(out[0].dtype(), DType::u8);
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(ints(out[0]), (std::vector<int64_t>{131, 129, 140, 128}));
  auto clipped = run_op(qnode("QMatMul", 9,
                              {Attribute::of_string("activation", "Clip"),
                               Attribute::of_floats("activation_params", {0, 2})}),
                        hand_matmul_inputs());
  EXPECT_EQ(ints(clipped[0]), (std::vector<int64_t>{131, 129, 132, 128}));
  std::vector<Tensor> in = hand_matmul_inputs();
  in[6] = in[7] = Tensor();
  auto f = run_op(qnode("QMatMul", 9), in);
  EXPECT_EQ(f[0].to_f32_vector(), (std::vector<float>{1.5f, 0.5f, 6.0f, -0.25f}));
}

TEST(QMatMul, MatchesTheQdqUnitOnRandomData) {
  struct Case {
    DType a_type, y_type;
    Shape a;
    int64_t N;
    bool per_column, bias;
    std::string act;
    std::vector<float> params;
  };
  const std::vector<Case> cases = {
      {DType::u8, DType::u8, {5, 37}, 19, true, true, "", {}},
      {DType::i8, DType::i8, {2, 3, 21}, 17, false, true, "Relu", {}},
      {DType::u8, DType::i8, {4, 64}, 33, true, false, "GeluTanh", {}},
      {DType::u8, DType::f32, {3, 2, 16}, 7, true, true, "HardSigmoid", {0.2f, 0.5f}},
  };
  uint32_t seed = 500;
  for (const Case& c : cases) {
    seed += 10;
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    const int64_t K = c.a.back();
    const bool u8 = c.a_type == DType::u8;
    std::vector<Tensor> in(9);
    in[0] = random_int(c.a_type, c.a, seed, u8 ? 0 : -128, u8 ? 255 : 127);
    in[1] = f32s(0.02f);
    in[2] = zero_point(c.a_type, u8 ? 125 : 7);
    in[3] = random_int(DType::i8, {K, c.N}, seed + 1, -127, 127);
    in[4] = c.per_column ? testing::random_f32({c.N}, seed + 2, 0.002f, 0.006f) : f32s(0.004f);
    in[5] = c.per_column ? random_int(DType::i8, {c.N}, seed + 3, -3, 3) : i8s(-1);
    if (c.y_type != DType::f32) {
      in[6] = f32s(0.03f * std::sqrt(static_cast<float>(K)) / 3.0f);
      in[7] = zero_point(c.y_type, c.y_type == DType::u8 ? 128 : 0);
    }
    if (c.bias) in[8] = random_int(DType::i32, {c.N}, seed + 4, -3000, 3000);
    Node n = qnode("QMatMul", 9,
                   {Attribute::of_string("activation", c.act),
                    Attribute::of_floats("activation_params", c.params)});
    for (int i : {6, 7, 8})
      if (!in[static_cast<size_t>(i)].defined()) n.inputs[static_cast<size_t>(i)].clear();
    Tensor got = run_op(n, in)[0];

    Tensor v = run_op(make_node("MatMul", 2, 1),
                      {dequantize(in[0], in[1], in[2]), dequantize(in[3], in[4], in[5], 1)})[0];
    if (c.bias) {
      Tensor bs = in[4].numel() == 1
                      ? Tensor::from_f32({c.N}, std::vector<float>(static_cast<size_t>(c.N),
                                                                   in[4].data<float>()[0]))
                      : in[4].clone();
      for (int64_t i = 0; i < bs.numel(); ++i) bs.data<float>()[i] *= in[1].data<float>()[0];
      v = add(v, dequantize(in[8], bs, Tensor(DType::i32, {c.N}), 0));
    }
    v = activate(v, c.act, c.params);
    if (c.y_type == DType::f32) {
      ASSERT_EQ(got.shape(), v.shape());
      for (int64_t i = 0; i < got.numel(); ++i)
        ASSERT_NEAR(got.data<float>()[i], v.data<float>()[i],
                    1e-5 * (1 + std::abs(v.data<float>()[i])));
      continue;
    }
    expect_within_one_lsb(got, quantize(v, in[6], in[7]), 0.01);
  }
}

TEST(QMatMul, BadInputsNameTheNode) {
  std::vector<Tensor> in = hand_matmul_inputs();
  in[3] = make<int8_t>(DType::i8, {1, 3, 2}, {1, -1, 2, 0, 0, 3});
  EXPECT_THROW(run_op(qnode("QMatMul", 9), in), Error);
  in = hand_matmul_inputs();
  in[4] = Tensor::from_f32({3}, {1, 1, 1});
  try {
    run_op(qnode("QMatMul", 9), in);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test_QMatMul"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("b_scale"), std::string::npos) << e.what();
  }
  in = hand_matmul_inputs();
  in[0] = make<uint8_t>(DType::u8, {3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_THROW(run_op(qnode("QMatMul", 9), in), Error);
}

// --- QAdd -----------------------------------------------------------------------------------

// a_scale*(a - 20) = [-5, 0, 5, 10] * 0.5; b broadcast over rows: 0.25*([-4, 6] - 2) = [-1.5, 1].
// Sums [-6.5, 1, 3.5, 11] -> half to even -6, 1, 4, 11 (+ 50).
std::vector<Tensor> hand_add_inputs() {
  return {make<uint8_t>(DType::u8, {2, 2}, {10, 20, 30, 40}),
          f32s(0.5f),
          u8s(20),
          make<int8_t>(DType::i8, {2}, {-4, 6}),
          f32s(0.25f),
          i8s(2),
          f32s(1.0f),
          u8s(50)};
}

TEST(QAdd, HandComputedBroadcastRoundingAndRelu) {
  auto out = run_op(qnode("QAdd", 8), hand_add_inputs());
  ASSERT_EQ(out[0].dtype(), DType::u8);
  EXPECT_EQ(ints(out[0]), (std::vector<int64_t>{44, 51, 54, 61}));
  auto relu =
      run_op(qnode("QAdd", 8, {Attribute::of_string("activation", "Relu")}), hand_add_inputs());
  EXPECT_EQ(ints(relu[0]), (std::vector<int64_t>{50, 51, 54, 61}));
  std::vector<Tensor> in = hand_add_inputs();
  in[6] = f32s(0.04f);  // 11 / 0.04 = 275 saturates
  auto sat = run_op(qnode("QAdd", 8), in);
  EXPECT_EQ(sat[0].at_i64(3), 255);
  EXPECT_EQ(sat[0].at_i64(0), 0);
}

TEST(QAdd, MatchesTheQdqUnitOnRandomData) {
  struct Case {
    DType a_type, b_type, y_type;
    Shape a, b;
    std::string act;
  };
  const std::vector<Case> cases = {
      {DType::u8, DType::u8, DType::u8, {2, 3, 5, 7}, {2, 3, 5, 7}, ""},
      {DType::i8, DType::u8, DType::i8, {2, 3, 5, 7}, {3, 1, 7}, "Relu"},
      {DType::u8, DType::i8, DType::u8, {1, 4, 1}, {3, 4, 9}, "Sigmoid"},
  };
  uint32_t seed = 900;
  for (const Case& c : cases) {
    seed += 10;
    std::vector<Tensor> in = {random_int(c.a_type, c.a, seed, c.a_type == DType::u8 ? 0 : -128,
                                         c.a_type == DType::u8 ? 255 : 127),
                              f32s(0.031f),
                              zero_point(c.a_type, c.a_type == DType::u8 ? 129 : -2),
                              random_int(c.b_type, c.b, seed + 1, c.b_type == DType::u8 ? 0 : -128,
                                         c.b_type == DType::u8 ? 255 : 127),
                              f32s(0.017f),
                              zero_point(c.b_type, c.b_type == DType::u8 ? 120 : 3),
                              f32s(c.act == "Sigmoid" ? 0.004f : 0.045f),
                              zero_point(c.y_type, c.act == "Sigmoid"      ? 0
                                                   : c.y_type == DType::u8 ? 110
                                                                           : -4)};
    Tensor got = run_op(qnode("QAdd", 8, {Attribute::of_string("activation", c.act)}), in)[0];
    Tensor v = add(dequantize(in[0], in[1], in[2]), dequantize(in[3], in[4], in[5]));
    Tensor want = quantize(activate(v, c.act, {}), in[6], in[7]);
    expect_within_one_lsb(got, want, 0.01);
  }
  std::vector<Tensor> bad = hand_add_inputs();
  bad[3] = make<int8_t>(DType::i8, {3}, {1, 2, 3});
  EXPECT_THROW(run_op(qnode("QAdd", 8), bad), Error);
  bad = hand_add_inputs();
  bad[7] = f32s(1.0f);
  EXPECT_THROW(run_op(qnode("QAdd", 8), bad), Error);
}

// --- shape functions ------------------------------------------------------------------------

// y = table[x - min(x's type)]: u8 codes index directly, i8 codes from -128.
TEST(QLookup, MapsEachCodeThroughTheTable) {
  Tensor table(DType::i8, {256});
  for (int i = 0; i < 256; ++i) table.data<int8_t>()[i] = static_cast<int8_t>(127 - i);
  auto u8 =
      run_op(qnode("QLookup", 2), {make<uint8_t>(DType::u8, {2, 2}, {0, 1, 128, 255}), table});
  ASSERT_EQ(u8[0].dtype(), DType::i8);
  EXPECT_EQ(ints(u8[0]), (std::vector<int64_t>{127, 126, -1, -128}));
  auto i8 = run_op(qnode("QLookup", 2), {make<int8_t>(DType::i8, {3}, {-128, 0, 127}), table});
  EXPECT_EQ(ints(i8[0]), (std::vector<int64_t>{127, -1, -128}));
  try {
    run_op(qnode("QLookup", 2), {u8s(3), make<int8_t>(DType::i8, {2}, {1, 2})});
    ADD_FAILURE() << "no error for a 2-entry table";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[256]"), std::string::npos) << e.what();
  }
}

TEST(QuantFusedShapes, OutputTypesFollowTheZeroPointOrFloat) {
  const OpRegistry& reg = OpRegistry::instance();
  TypeInfo x = TypeInfo::of(DType::u8, {2, 6, 9, 9}), w = TypeInfo::of(DType::i8, {4, 3, 3, 3});
  TypeInfo f = TypeInfo::of(DType::f32, {}), zi8 = TypeInfo::of(DType::i8, {});
  TypeInfo zu8 = TypeInfo::of(DType::u8, {}), wz = TypeInfo::of(DType::i8, {4});
  Node conv =
      qnode("QConv", 8, {Attribute::of_int("group", 2), Attribute::of_ints("strides", {2, 2})});
  InferContext c(conv, {&x, &f, &zu8, &w, &f, &wz, &f, &zi8}, std::vector<const Tensor*>(8));
  reg.find("ai.nnaccel", "QConv")->infer(c);
  EXPECT_EQ(c.outputs[0], TypeInfo::of(DType::i8, {2, 4, 4, 4}));
  InferContext cf(conv, {&x, &f, &zu8, &w, &f, &wz, nullptr, nullptr},
                  std::vector<const Tensor*>(8));
  reg.find("ai.nnaccel", "QConv")->infer(cf);
  EXPECT_EQ(cf.outputs[0], TypeInfo::of(DType::f32, {2, 4, 4, 4}));
  Node bad_act = qnode("QConv", 8, {Attribute::of_string("activation", "Nope")});
  InferContext cb(bad_act, {&x, &f, &zu8, &w, &f, &wz, &f, &zi8}, std::vector<const Tensor*>(8));
  EXPECT_THROW(reg.find("ai.nnaccel", "QConv")->infer(cb), Error);

  TypeInfo a = TypeInfo::of(DType::i8, {3, 5, 7}), b = TypeInfo::of(DType::i8, {7, 11});
  Node mm = qnode("QMatMul", 8);
  InferContext m(mm, {&a, &f, &zi8, &b, &f, &zi8, &f, &zu8}, std::vector<const Tensor*>(8));
  reg.find("ai.nnaccel", "QMatMul")->infer(m);
  EXPECT_EQ(m.outputs[0], TypeInfo::of(DType::u8, {3, 5, 11}));
  TypeInfo b3 = TypeInfo::of(DType::i8, {3, 7, 11});
  InferContext mb(mm, {&a, &f, &zi8, &b3, &f, &zi8, &f, &zu8}, std::vector<const Tensor*>(8));
  EXPECT_THROW(reg.find("ai.nnaccel", "QMatMul")->infer(mb), Error);

  TypeInfo p = TypeInfo::of(DType::u8, {2, 1, 5}), q = TypeInfo::of(DType::u8, {4, 1});
  Node add = qnode("QAdd", 8);
  InferContext ad(add, {&p, &f, &zu8, &q, &f, &zu8, &f, &zi8}, std::vector<const Tensor*>(8));
  reg.find("ai.nnaccel", "QAdd")->infer(ad);
  EXPECT_EQ(ad.outputs[0], TypeInfo::of(DType::i8, {2, 4, 5}));
}

}  // namespace
}  // namespace nnaccel
