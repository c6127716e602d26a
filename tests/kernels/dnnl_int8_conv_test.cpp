// The oneDNN int8 convolution kernel (QConv, QLinearConv, ConvInteger) against the reference
// kernels on random data: ragged channel counts, odd spatial sizes, groups and depthwise,
// strides / pads / dilations, per-tensor and per-channel scales, u8 and s8 activations, bias,
// residual, every mapped activation, float output, channels-last inputs and outputs.
#include <cmath>

#include "kernels/dnnl/dnnl_int8.hpp"
#include "kernels/dnnl_int8_test_util.hpp"

namespace nnaccel {
namespace {

using testing::expect_within_one_lsb;
using testing::q_scalar;
using testing::random_ints;
using testing::random_q;
using testing::run_int8_dnnl;

struct QConvCase {
  std::string what = {};
  DType x_type = DType::u8, y_type = DType::u8;  // y f32: float output
  Shape x = {}, w = {};
  std::vector<Attribute> attrs = {};
  bool per_channel = true, bias = true;
  DType z_type = DType::undefined;    // defined: a residual of that type
  DType mid_type = DType::undefined;  // defined: the conv rounded to a grid of that type first
  std::string act = {};
  std::vector<float> params = {};
  bool x_channels_last = false, z_channels_last = false, reader = false;
  int x_zp = -1;  // -1: a default per type
};

std::vector<Attribute> conv_attrs(std::vector<int64_t> strides, std::vector<int64_t> pads,
                                  std::vector<int64_t> dilations, int64_t group) {
  return {Attribute::of_ints("strides", std::move(strides)),
          Attribute::of_ints("pads", std::move(pads)),
          Attribute::of_ints("dilations", std::move(dilations)), Attribute::of_int("group", group)};
}

// Inputs of a QConv for the case; y_scale chosen so the outputs spread over the type's range.
std::vector<Tensor> qconv_inputs(const QConvCase& c, const Shape& y_shape, uint32_t seed) {
  const int64_t M = c.w[0];
  const bool u8 = c.x_type == DType::u8;
  std::vector<Tensor> in(12);
  in[0] = random_q(c.x_type, c.x, seed);
  in[1] = Tensor::scalar_f32(0.02f);
  in[2] = q_scalar(c.x_type, c.x_zp >= 0 ? c.x_zp : (u8 ? 131 : -5));
  in[3] = random_ints(DType::i8, c.w, seed + 1, -127, 127);
  in[4] = c.per_channel ? testing::random_f32({M}, seed + 2, 0.002f, 0.006f)
                        : Tensor::scalar_f32(0.004f);
  in[5] = c.per_channel ? Tensor(DType::i8, {M}) : q_scalar(DType::i8, 0);
  const float fan_in = static_cast<float>(shape_numel(c.w) / M);
  if (c.y_type != DType::f32) {
    const bool bounded = c.act == "Sigmoid" || c.act == "Tanh" || c.act == "HardSigmoid";
    const float spread = c.x_zp >= 0 ? 4.0f : 1.0f;  // a large zero point shifts x far from 0
    in[6] = Tensor::scalar_f32(bounded ? 0.009f : 0.016f * spread * std::sqrt(fan_in) / 3.0f);
    in[7] = q_scalar(c.y_type, c.y_type == DType::u8 ? (bounded ? 128 : 118) : 6);
  }
  if (c.bias) in[8] = random_ints(DType::i32, {M}, seed + 4, -4000, 4000);
  if (c.z_type != DType::undefined) {
    in[9] = random_q(c.z_type, y_shape, seed + 5);
    in[10] = Tensor::scalar_f32(0.015f);
    in[11] = q_scalar(c.z_type, c.z_type == DType::u8 ? 125 : -3);
    if (c.mid_type != DType::undefined) {
      // Finer than y's grid, so some results saturate it and the clip is exercised.
      in.push_back(Tensor::scalar_f32(0.010f * std::sqrt(fan_in) / 3.0f));
      in.push_back(q_scalar(c.mid_type, c.mid_type == DType::u8 ? 140 : -9));
    }
  } else {
    in.resize(9);
  }
  return in;
}

Node qconv_node(const QConvCase& c) {
  Node n = testing::make_node("QConv", 14, 1, c.attrs);
  n.domain = "ai.nnaccel";
  n.attrs.push_back(Attribute::of_string("activation", c.act));
  n.attrs.push_back(Attribute::of_floats("activation_params", c.params));
  return n;
}

Shape conv_out_shape(const QConvCase& c) {
  Tensor probe = testing::run_op(testing::make_node("Conv", 2, 1, c.attrs),
                                 {Tensor(DType::f32, c.x), Tensor(DType::f32, c.w)})[0];
  return probe.shape();
}

void check_qconv(const QConvCase& c, uint32_t seed) {
  SCOPED_TRACE(c.what);
  const Shape y_shape = conv_out_shape(c);
  std::vector<Tensor> in = qconv_inputs(c, y_shape, seed);
  Node n = qconv_node(c);
  n.inputs.resize(in.size());
  if (c.y_type == DType::f32) n.inputs[6].clear(), n.inputs[7].clear();
  if (!c.bias) n.inputs[8].clear();
  const Tensor want = testing::run_op(n, in)[0];
  std::vector<int> runtime = {0};
  if (c.z_type != DType::undefined) runtime.push_back(9);
  std::vector<bool> cl(in.size(), false);
  cl[0] = c.x_channels_last;
  if (in.size() > 9) cl[9] = c.z_channels_last;
  testing::Int8Run run = run_int8_dnnl(n, in, y_shape, c.y_type, runtime, cl, c.reader);
  ASSERT_NE(run.kernel, nullptr) << "declined";
  EXPECT_EQ(run.kernel->name().find("ref"), std::string::npos) << run.kernel->name();
  EXPECT_EQ(run.out.block, c.reader ? y_shape[1] : 0) << run.kernel->name();
  if (c.y_type != DType::f32) {
    EXPECT_LT(testing::saturated_share(want), 0.2) << "badly scaled";
  }
  expect_within_one_lsb(run.plain, want, 0.01, run.kernel->name());
}

TEST(DnnlInt8Conv, MatchesReferenceAcrossShapesAndQuantizations) {
  NNACCEL_SKIP_WITHOUT_EXACT_INT8();
  const DType u8 = DType::u8, i8 = DType::i8, f32 = DType::f32;
  const auto same = conv_attrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 1);
  const auto strided = conv_attrs({2, 1}, {0, 1, 2, 0}, {1, 2}, 1);
  const auto one_by_one = conv_attrs({1, 1}, {0, 0, 0, 0}, {1, 1}, 1);
  const auto wide_pads = conv_attrs({1, 1}, {2, 1, 1, 2}, {1, 1}, 1);
  const std::vector<QConvCase> cases = {
      {.what = "u8 ragged 3x3 per-channel bias",
       .x = {2, 5, 9, 7},
       .w = {7, 5, 3, 3},
       .attrs = same},
      {.what = "s8 strided dilated asymmetric pads per-tensor LeakyRelu",
       .x_type = i8,
       .y_type = i8,
       .x = {1, 4, 11, 10},
       .w = {6, 4, 3, 2},
       .attrs = strided,
       .per_channel = false,
       .bias = false,
       .act = "LeakyRelu",
       .params = {0.1f}},
      {.what = "narrow 16 -> 16 3x3 with a zero x zero point (steered to jit int8)",
       .x = {3, 16, 9, 10},
       .w = {16, 16, 3, 3},
       .attrs = same,
       .x_channels_last = true,
       .x_zp = 0},
      {.what = "one plain input channel (the same bytes as channels-last)",
       .x = {3, 1, 9, 8},
       .w = {5, 1, 3, 3},
       .attrs = same},
      {.what = "residual on the conv's own u8 grid (a fused QDQ Add) Relu",
       .x = {2, 16, 9, 9},
       .w = {24, 16, 3, 3},
       .attrs = same,
       .z_type = u8,
       .mid_type = u8,
       .act = "Relu"},
      {.what = "1x1 s8 residual on an s8 grid, channels-last in, residual and out",
       .x_type = i8,
       .y_type = i8,
       .x = {1, 32, 7, 5},
       .w = {40, 32, 1, 1},
       .attrs = one_by_one,
       .z_type = i8,
       .mid_type = i8,
       .x_channels_last = true,
       .z_channels_last = true,
       .reader = true},
      {.what = "ragged residual on a u8 grid, per-tensor, Clip",
       .x = {1, 5, 6, 11},
       .w = {3, 5, 3, 3},
       .attrs = wide_pads,
       .per_channel = false,
       .z_type = u8,
       .mid_type = u8,
       .act = "Clip",
       .params = {0.0f, 6.0f}},
      {.what = "grouped u8->i8 residual u8 Relu",
       .y_type = i8,
       .x = {1, 6, 7, 8},
       .w = {9, 2, 3, 3},
       .attrs = conv_attrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 3),
       .z_type = u8,
       .act = "Relu"},
      {.what = "depthwise 24 stride 2 s8->u8 residual i8 HardSwish",
       .x_type = i8,
       .x = {2, 24, 9, 9},
       .w = {24, 1, 3, 3},
       .attrs = conv_attrs({2, 2}, {1, 1, 1, 1}, {1, 1}, 24),
       .z_type = i8,
       .act = "HardSwish"},
      {.what = "1x1 ragged Sigmoid",
       .x = {1, 19, 6, 5},
       .w = {33, 19, 1, 1},
       .attrs = one_by_one,
       .bias = false,
       .act = "Sigmoid"},
      {.what = "float output Tanh",
       .y_type = f32,
       .x = {1, 5, 7, 7},
       .w = {4, 5, 3, 3},
       .attrs = same,
       .act = "Tanh"},
      {.what = "float output no activation s8",
       .x_type = i8,
       .y_type = f32,
       .x = {2, 3, 5, 6},
       .w = {8, 3, 3, 3},
       .attrs = same,
       .per_channel = false},
      {.what = "conv1d Gelu",
       .x_type = i8,
       .y_type = i8,
       .x = {1, 4, 13},
       .w = {5, 4, 3},
       .attrs = {Attribute::of_ints("pads", {1, 1})},
       .act = "Gelu"},
      {.what = "conv3d channels-last in and out",
       .x = {1, 5, 4, 5, 6},
       .w = {7, 5, 3, 3, 1},
       .attrs = conv_attrs({1, 1, 1}, {1, 1, 0, 1, 0, 0}, {1, 1, 1}, 1),
       .act = "Relu",
       .x_channels_last = true,
       .reader = true},
      {.what = "large zero point with padding",
       .x = {1, 3, 6, 6},
       .w = {4, 3, 3, 3},
       .attrs = wide_pads,
       .x_zp = 250},
      {.what = "channels-last in and out with residual",
       .x = {1, 20, 7, 9},
       .w = {20, 20, 3, 3},
       .attrs = same,
       .z_type = u8,
       .act = "Relu",
       .x_channels_last = true,
       .z_channels_last = true,
       .reader = true},
      {.what = "channels-last in, plain residual, out read by a QConv",
       .x_type = i8,
       .x = {2, 17, 5, 5},
       .w = {32, 17, 3, 3},
       .attrs = same,
       .z_type = u8,
       .act = "Clip",
       .params = {0.0f, 1.5f},
       .x_channels_last = true,
       .reader = true},
  };
  uint32_t seed = 7000;
  for (const QConvCase& c : cases) check_qconv(c, seed += 17);
}

TEST(DnnlInt8Conv, EveryMappedActivation) {
  NNACCEL_SKIP_WITHOUT_EXACT_INT8();
  const std::vector<std::pair<std::string, std::vector<float>>> acts = {
      {"", {}},          {"Relu", {}},    {"Clip", {-0.3f, 0.8f}}, {"HardSigmoid", {0.3f, 0.6f}},
      {"HardSwish", {}}, {"Sigmoid", {}}, {"LeakyRelu", {0.2f}},   {"Gelu", {}},
      {"GeluTanh", {}},  {"Tanh", {}}};
  uint32_t seed = 8000;
  for (const auto& [act, params] : acts)
    for (DType y : {DType::u8, DType::i8, DType::f32}) {
      QConvCase c{.what = "activation '" + act + "' to " + dtype_name(y),
                  .y_type = y,
                  .x = {1, 18, 6, 7},
                  .w = {10, 18, 3, 3},
                  .attrs = conv_attrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 1)};
      c.act = act;
      c.params = params;
      c.z_type = y == DType::f32 ? DType::undefined : DType::u8;
      check_qconv(c, seed += 3);
    }
}

// QLinearConv of x and w (weight scales per channel, zero point `w_zp`) on the fast path within
// 1 LSB of the reference; ConvInteger of the same integers exact (int32, no rounding).
void check_qlinear_and_integer(const Tensor& x, const Tensor& w, const Tensor& w_zp,
                               const std::vector<Attribute>& attrs, float y_scale, uint32_t seed) {
  const int64_t m = w.dim(0);
  std::vector<Tensor> in = {x,
                            Tensor::scalar_f32(0.03f),
                            q_scalar(DType::u8, 120),
                            w,
                            testing::random_f32({m}, seed, 0.001f, 0.003f),
                            w_zp,
                            Tensor::scalar_f32(y_scale),
                            q_scalar(DType::u8, 128),
                            random_ints(DType::i32, {m}, seed + 1, -2000, 2000)};
  Node ql = testing::make_node("QLinearConv", 9, 1, attrs);
  const Tensor want = testing::run_op(ql, in)[0];
  testing::Int8Run run = run_int8_dnnl(ql, in, want.shape(), DType::u8, {0});
  ASSERT_NE(run.kernel, nullptr) << "declined";
  EXPECT_EQ(run.kernel->name().find("ref"), std::string::npos) << run.kernel->name();
  EXPECT_LT(testing::saturated_share(want), 0.2) << "badly scaled";
  expect_within_one_lsb(run.plain, want, 0.01, run.kernel->name());

  Node ci = testing::make_node("ConvInteger", 4, 1, attrs);
  std::vector<Tensor> cin = {x, w, q_scalar(DType::u8, 77), w_zp};
  const Tensor acc = testing::run_op(ci, cin)[0];
  testing::Int8Run crun = run_int8_dnnl(ci, cin, acc.shape(), DType::i32, {0});
  ASSERT_NE(crun.kernel, nullptr);
  ASSERT_EQ(crun.plain.shape(), acc.shape());
  for (int64_t i = 0; i < acc.numel(); ++i)
    ASSERT_EQ(crun.plain.data<int32_t>()[i], acc.data<int32_t>()[i]) << i;
}

TEST(DnnlInt8Conv, QLinearConvAndConvIntegerOnTheFastPath) {
  NNACCEL_SKIP_WITHOUT_EXACT_INT8();
  const Shape xs{1, 21, 9, 7}, ws{11, 21, 3, 3};
  const std::vector<Attribute> attrs = conv_attrs({2, 1}, {1, 1, 1, 1}, {1, 1}, 1);
  Tensor x = random_q(DType::u8, xs, 1), w = random_ints(DType::i8, ws, 2, -127, 127);
  check_qlinear_and_integer(x, w, Tensor(DType::i8, {11}), attrs, 0.08f, 3);

  Node ci = testing::make_node("ConvInteger", 3, 1, attrs);
  std::vector<Tensor> cin = {x, w, q_scalar(DType::u8, 77)};
  const Tensor acc = testing::run_op(ci, cin)[0];
  // A run-time x zero point (dynamic quantization's), read on every run of one kernel.
  testing::Int8Run rt = run_int8_dnnl(ci, cin, acc.shape(), DType::i32, {0, 2});
  ASSERT_NE(rt.kernel, nullptr);
  ASSERT_TRUE(rt.out.plain());
  EXPECT_NE(rt.kernel->name().find("run-time x zero point"), std::string::npos);
  for (int zp : {77, 0, 255}) {
    const Tensor z = q_scalar(DType::u8, zp);
    const Tensor want_rt = testing::run_op(ci, {x, w, z})[0];
    const std::vector<const Tensor*> ins = {&x, &w, &z};
    std::vector<Tensor> outs = {Tensor(DType::i32, acc.shape())};
    rt.kernel->run(ins, outs);
    for (int64_t i = 0; i < want_rt.numel(); ++i)
      ASSERT_EQ(outs[0].data<int32_t>()[i], want_rt.data<int32_t>()[i]) << "zp " << zp << " " << i;
  }
}

TEST(DnnlInt8Conv, DeclinesWhatItCannotComputeExactly) {
  NNACCEL_SKIP_WITHOUT_EXACT_INT8();
  QConvCase c{.what = "base",
              .x = {1, 4, 5, 5},
              .w = {6, 4, 3, 3},
              .attrs = conv_attrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 1)};
  const Shape ys = conv_out_shape(c);
  Node n = qconv_node(c);
  n.inputs.resize(9);
  std::vector<Tensor> in = qconv_inputs(c, ys, 3);
  ASSERT_NE(run_int8_dnnl(n, in, ys, DType::u8, {0}).kernel, nullptr);
  // A weight zero point that pushes a weight out of s8 when subtracted (-127 - 3).
  std::vector<Tensor> wzp = in;
  wzp[3] = wzp[3].clone();
  wzp[3].data<int8_t>()[0] = -127;
  wzp[5] = Tensor(DType::i8, {6});
  for (int64_t c = 0; c < 6; ++c) wzp[5].data<int8_t>()[c] = 3;
  EXPECT_EQ(run_int8_dnnl(n, wzp, ys, DType::u8, {0}).kernel, nullptr);
  EXPECT_EQ(run_int8_dnnl(n, in, ys, DType::u8, {0, 1}).kernel, nullptr);  // run-time x_scale
  EXPECT_EQ(run_int8_dnnl(n, in, ys, DType::u8, {0, 3}).kernel, nullptr);  // run-time weights
  // ConvInteger with u8 weights and no zero point: 128..255 do not fit s8 (oneDNN's type).
  Node ci = testing::make_node("ConvInteger", 2, 1, c.attrs);
  std::vector<Tensor> cin = {in[0], random_q(DType::u8, c.w, 5)};
  cin[1].data<uint8_t>()[0] = 255;
  EXPECT_EQ(run_int8_dnnl(ci, cin, ys, DType::i32, {0}).kernel, nullptr);
}

// Weight zero points other than 0 fold into s8 weights where w - zero point fits s8: u8 weights
// with zero point 128 (as some tools write them), and s8 weights of a narrow range with
// per-channel zero points. QLinearConv within 1 LSB of the reference, ConvInteger exact.
TEST(DnnlInt8Conv, WeightZeroPointsFoldIntoS8Weights) {
  NNACCEL_SKIP_WITHOUT_EXACT_INT8();
  const Shape xs{2, 13, 8, 7}, ws{10, 13, 3, 3};
  const std::vector<Attribute> attrs = conv_attrs({1, 2}, {1, 0, 1, 1}, {1, 1}, 1);
  const Tensor x = random_q(DType::u8, xs, 11);
  struct Weights {
    std::string what;
    Tensor w, zp;
  };
  Tensor per_channel_zp = random_ints(DType::i8, {10}, 12, -27, 27);
  const std::vector<Weights> cases = {
      {"u8, zero point 128", random_q(DType::u8, ws, 13), q_scalar(DType::u8, 128)},
      {"s8 in [-100, 100], per-channel zero points", random_ints(DType::i8, ws, 14, -100, 100),
       per_channel_zp}};
  for (const Weights& k : cases) {
    SCOPED_TRACE(k.what);
    check_qlinear_and_integer(x, k.w, k.zp, attrs, 0.07f, 15);
  }
}

TEST(DnnlInt8Conv, DeclinesWithoutVnni) {
  if (dnnl_kernels::cpu_has_exact_int8()) GTEST_SKIP() << "this CPU has VNNI";
  QConvCase c{.what = "base",
              .x = {1, 4, 5, 5},
              .w = {6, 4, 3, 3},
              .attrs = conv_attrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 1)};
  const Shape ys = conv_out_shape(c);
  Node n = qconv_node(c);
  n.inputs.resize(9);
  EXPECT_EQ(run_int8_dnnl(n, qconv_inputs(c, ys, 3), ys, DType::u8, {0}).kernel, nullptr);
}

}  // namespace
}  // namespace nnaccel
