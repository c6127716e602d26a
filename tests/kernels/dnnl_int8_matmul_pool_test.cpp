// The oneDNN int8 matmul kernel (QMatMul, QLinearMatMul, MatMulInteger) and int8 max pooling
// against the reference kernels on random data.
#include <cmath>

#include "kernels/dnnl_int8_test_util.hpp"

namespace nnaccel {
namespace {

using testing::expect_within_one_lsb;
using testing::q_scalar;
using testing::random_ints;
using testing::random_q;
using testing::run_int8_dnnl;

struct QMatMulCase {
  std::string what = {};
  DType a_type = DType::u8, y_type = DType::u8;
  Shape a = {};
  int64_t N = 0;
  bool per_column = true, bias = true;
  std::string act = {};
  std::vector<float> params = {};
};

void check_qmatmul(const QMatMulCase& c, uint32_t seed) {
  SCOPED_TRACE(c.what);
  const int64_t K = c.a.back();
  const bool u8 = c.a_type == DType::u8;
  std::vector<Tensor> in(9);
  in[0] = random_q(c.a_type, c.a, seed);
  in[1] = Tensor::scalar_f32(0.02f);
  in[2] = q_scalar(c.a_type, u8 ? 127 : -4);
  in[3] = random_ints(DType::i8, {K, c.N}, seed + 1, -127, 127);
  in[4] = c.per_column ? testing::random_f32({c.N}, seed + 2, 0.002f, 0.006f)
                       : Tensor::scalar_f32(0.004f);
  in[5] = c.per_column ? Tensor(DType::i8, {c.N}) : q_scalar(DType::i8, 0);
  if (c.y_type != DType::f32) {
    const bool bounded = c.act == "Sigmoid" || c.act == "Tanh" || c.act == "HardSigmoid";
    in[6] = Tensor::scalar_f32(bounded ? 0.009f : 0.02f * std::sqrt(static_cast<float>(K)) / 3.0f);
    in[7] = q_scalar(c.y_type, c.y_type == DType::u8 ? 128 : 3);
  }
  if (c.bias) in[8] = random_ints(DType::i32, {c.N}, seed + 4, -3000, 3000);
  Node n = testing::make_node("QMatMul", 9, 1,
                              {Attribute::of_string("activation", c.act),
                               Attribute::of_floats("activation_params", c.params)});
  n.domain = "ai.nnaccel";
  for (int i : {6, 7, 8})
    if (!in[static_cast<size_t>(i)].defined()) n.inputs[static_cast<size_t>(i)].clear();
  const Tensor want = testing::run_op(n, in)[0];
  testing::Int8Run run = run_int8_dnnl(n, in, want.shape(), c.y_type, {0});
  ASSERT_NE(run.kernel, nullptr) << "declined";
  EXPECT_EQ(run.kernel->name().find("ref"), std::string::npos) << run.kernel->name();
  if (c.y_type != DType::f32) {
    EXPECT_LT(testing::saturated_share(want), 0.2) << "badly scaled";
  }
  expect_within_one_lsb(run.plain, want, 0.01, run.kernel->name());
}

TEST(DnnlInt8MatMul, MatchesReferenceAcrossShapesAndQuantizations) {
  NNACCEL_SKIP_WITHOUT_EXACT_INT8();
  const std::vector<QMatMulCase> cases = {
      {.what = "u8 ragged per-column bias", .a = {5, 37}, .N = 19},
      {.what = "s8 batched per-tensor Relu",
       .a_type = DType::i8,
       .y_type = DType::i8,
       .a = {2, 3, 21},
       .N = 17,
       .per_column = false,
       .act = "Relu"},
      {.what = "float output GeluTanh",
       .y_type = DType::f32,
       .a = {4, 64},
       .N = 33,
       .bias = false,
       .act = "GeluTanh"},
      {.what = "wide K u8 -> s8 LeakyRelu",
       .y_type = DType::i8,
       .a = {3, 300},
       .N = 40,
       .act = "LeakyRelu",
       .params = {0.05f}},
  };
  uint32_t seed = 300;
  for (const QMatMulCase& c : cases) check_qmatmul(c, seed += 11);
}

TEST(DnnlInt8MatMul, EveryMappedActivation) {
  NNACCEL_SKIP_WITHOUT_EXACT_INT8();
  const std::vector<std::pair<std::string, std::vector<float>>> acts = {
      {"", {}},          {"Relu", {}},    {"Clip", {-0.3f, 0.8f}}, {"HardSigmoid", {0.3f, 0.6f}},
      {"HardSwish", {}}, {"Sigmoid", {}}, {"LeakyRelu", {0.2f}},   {"Gelu", {}},
      {"GeluTanh", {}},  {"Tanh", {}}};
  uint32_t seed = 400;
  for (const auto& [act, params] : acts)
    for (DType y : {DType::u8, DType::i8, DType::f32})
      check_qmatmul({.what = "activation '" + act + "' to " + dtype_name(y),
                     .y_type = y,
                     .a = {7, 40},
                     .N = 23,
                     .act = act,
                     .params = params},
                    seed += 3);
}

TEST(DnnlInt8MatMul, QLinearMatMulAndMatMulIntegerOnTheFastPath) {
  NNACCEL_SKIP_WITHOUT_EXACT_INT8();
  Tensor a = random_q(DType::u8, {3, 2, 16}, 1), b = random_ints(DType::i8, {16, 9}, 2, -127, 127);
  std::vector<Tensor> in = {a,
                            Tensor::scalar_f32(0.03f),
                            q_scalar(DType::u8, 121),
                            b,
                            testing::random_f32({9}, 3, 0.002f, 0.004f),
                            Tensor(DType::i8, {9}),
                            Tensor::scalar_f32(0.05f),
                            q_scalar(DType::u8, 128)};
  Node ql = testing::make_node("QLinearMatMul", 8, 1);
  const Tensor want = testing::run_op(ql, in)[0];
  testing::Int8Run run = run_int8_dnnl(ql, in, want.shape(), DType::u8, {0});
  ASSERT_NE(run.kernel, nullptr);
  expect_within_one_lsb(run.plain, want, 0.01, run.kernel->name());

  Node mi = testing::make_node("MatMulInteger", 3, 1);
  std::vector<Tensor> min = {a, b, q_scalar(DType::u8, 99)};
  const Tensor acc = testing::run_op(mi, min)[0];
  testing::Int8Run mrun = run_int8_dnnl(mi, min, acc.shape(), DType::i32, {0});
  ASSERT_NE(mrun.kernel, nullptr);
  for (int64_t i = 0; i < acc.numel(); ++i)
    ASSERT_EQ(mrun.plain.data<int32_t>()[i], acc.data<int32_t>()[i]) << i;

  // A run-time A zero point (DynamicQuantizeLinear's), read on every run: two runs of one kernel
  // with different zero points, ragged sizes, each exact.
  Tensor ra = random_q(DType::u8, {5, 37}, 7), rb = random_ints(DType::i8, {37, 13}, 8, -127, 127);
  testing::Int8Run rt =
      run_int8_dnnl(mi, {ra, rb, q_scalar(DType::u8, 3)}, {5, 13}, DType::i32, {0, 2});
  ASSERT_NE(rt.kernel, nullptr);
  EXPECT_NE(rt.kernel->name().find("run-time A zero point"), std::string::npos);
  for (int zp : {3, 0, 250}) {
    const Tensor z = q_scalar(DType::u8, zp);
    const Tensor want_rt = testing::run_op(mi, {ra, rb, z})[0];
    Tensor out(DType::i32, {5, 13});
    const std::vector<const Tensor*> ins = {&ra, &rb, &z};
    std::vector<Tensor> outs = {out};
    rt.kernel->run(ins, outs);
    for (int64_t i = 0; i < want_rt.numel(); ++i)
      ASSERT_EQ(outs[0].data<int32_t>()[i], want_rt.data<int32_t>()[i]) << "zp " << zp << " " << i;
  }

  // B zero points fold into s8 B where B - zero point fits s8: u8 B with zero point 128, exact.
  const Tensor ub = random_q(DType::u8, {16, 9}, 6);
  std::vector<Tensor> ubin = {a, ub, q_scalar(DType::u8, 99), q_scalar(DType::u8, 128)};
  const Tensor uacc = testing::run_op(testing::make_node("MatMulInteger", 4, 1), ubin)[0];
  testing::Int8Run urun =
      run_int8_dnnl(testing::make_node("MatMulInteger", 4, 1), ubin, uacc.shape(), DType::i32, {0});
  ASSERT_NE(urun.kernel, nullptr);
  for (int64_t i = 0; i < uacc.numel(); ++i)
    ASSERT_EQ(urun.plain.data<int32_t>()[i], uacc.data<int32_t>()[i]) << i;
  std::vector<Tensor> bzp = in;  // per-column zero points, B narrow enough
  bzp[3] = random_ints(DType::i8, {16, 9}, 9, -90, 90);
  bzp[5] = random_ints(DType::i8, {9}, 5, -30, 30);
  const Tensor want_zp = testing::run_op(ql, bzp)[0];
  testing::Int8Run zrun = run_int8_dnnl(ql, bzp, want_zp.shape(), DType::u8, {0});
  ASSERT_NE(zrun.kernel, nullptr);
  expect_within_one_lsb(zrun.plain, want_zp, 0.01, zrun.kernel->name());

  // Declined: a zero point pushing B out of s8, u8 B without one, a run-time B, per-row a_scale.
  bzp = in;
  bzp[3] = bzp[3].clone();
  bzp[3].data<int8_t>()[0] = -127;
  bzp[5] = Tensor(DType::i8, {9});
  for (int64_t c = 0; c < 9; ++c) bzp[5].data<int8_t>()[c] = 2;
  EXPECT_EQ(run_int8_dnnl(ql, bzp, want.shape(), DType::u8, {0}).kernel, nullptr);
  std::vector<Tensor> ub0 = {a, ub.clone(), q_scalar(DType::u8, 99)};
  ub0[1].data<uint8_t>()[0] = 200;
  EXPECT_EQ(run_int8_dnnl(mi, ub0, acc.shape(), DType::i32, {0}).kernel, nullptr);
  EXPECT_EQ(run_int8_dnnl(ql, in, want.shape(), DType::u8, {0, 3}).kernel, nullptr);
  std::vector<Tensor> rows = in;
  rows[1] = Tensor::from_f32({2}, {0.03f, 0.02f});
  EXPECT_EQ(run_int8_dnnl(ql, rows, want.shape(), DType::u8, {0}).kernel, nullptr);
}

// --- MaxPool ----------------------------------------------------------------------------------

void check_pool(const Node& n, const Tensor& x, bool channels_last) {
  const Tensor want = testing::run_op(n, {x})[0];
  testing::Int8Run run =
      run_int8_dnnl(n, {x}, want.shape(), x.dtype(), {0}, {channels_last}, channels_last);
  ASSERT_NE(run.kernel, nullptr) << n.op_type;
  EXPECT_EQ(run.out.block, channels_last ? x.dim(1) : 0);
  ASSERT_EQ(run.plain.shape(), want.shape());
  for (int64_t i = 0; i < want.numel(); ++i)
    ASSERT_EQ(run.plain.at_i64(i), want.at_i64(i)) << run.kernel->name() << " element " << i;
}

TEST(DnnlInt8Pool, MaxPoolKeepsIntegersInTheirLayout) {
  Node mp = testing::make_node(
      "MaxPool", 1, 1,
      {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("strides", {2, 2}),
       Attribute::of_ints("pads", {1, 1, 1, 1})});
  check_pool(mp, random_q(DType::u8, {2, 5, 9, 7}, 1), false);
  check_pool(mp, random_q(DType::i8, {1, 20, 8, 11}, 2), true);
  Node ceil = testing::make_node(
      "MaxPool", 1, 1,
      {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("strides", {2, 2}),
       Attribute::of_int("ceil_mode", 1)});
  check_pool(ceil, random_q(DType::u8, {1, 3, 7, 9}, 3), true);
  // ONNX's GlobalMaxPool is float-only: not offered integers.
  Node gmp = testing::make_node("GlobalMaxPool", 1, 1);
  Tensor xg = random_q(DType::i8, {2, 6, 5, 3}, 4);
  EXPECT_EQ(run_int8_dnnl(gmp, {xg}, {2, 6, 1, 1}, DType::i8, {0}).kernel, nullptr);
  // Averages of integers would need the reference's rounding: left to it.
  Node avg = testing::make_node("AveragePool", 1, 1, {Attribute::of_ints("kernel_shape", {2, 2})});
  Tensor x = random_q(DType::u8, {1, 2, 4, 4}, 5);
  EXPECT_EQ(run_int8_dnnl(avg, {x}, {1, 2, 3, 3}, DType::u8, {0}).kernel, nullptr);
}

}  // namespace
}  // namespace nnaccel
