// The int8 kernels end to end in a Session's compiled plan: consecutive QConvs and an int8
// MaxPool keep their values channels-last with conversions only at the edges (inside the
// QuantizeLinear and DequantizeLinear, no Reorder steps), and the result matches the reference
// interpreter.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/dnnl/dnnl_int8.hpp"
#include "kernels/dnnl_int8_test_util.hpp"
#include "kernels/simd/isa_cap.hpp"
#include "nnaccel/session.hpp"
#include "runtime/builtin_kernels.hpp"

namespace nnaccel::testing {
namespace {

Node graph_node(const std::string& op, std::vector<std::string> in, std::string out,
                std::vector<Attribute> attrs = {}, const std::string& domain = "") {
  Node n;
  n.op_type = op;
  n.domain = domain;
  n.name = out;
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  n.attrs = std::move(attrs);
  return n;
}

Tensor scalar_u8(int v) { return q_scalar(DType::u8, v); }

// QuantizeLinear -> QConv (Relu) -> MaxPool -> QConv (+ residual = its own input, Relu) ->
// QConv (+ residual p1, in place, Relu) -> QAdd (Relu) -> QConv 1x1 -> DequantizeLinear; and
// GlobalAveragePool -> Flatten and a float Conv of the dequantized MaxPool output (a float value
// in the int8 layout).
// 20 channels: channels-last is not one of the float kernels' 8/16 blocks.
Model int8_chain() {
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.opsets["ai.nnaccel"] = 1;
  m.graph.inputs.push_back(ValueInfo{"x", TypeInfo::of(DType::f32, {1, 8, 12, 12}), ""});
  m.graph.outputs.push_back(ValueInfo{"y", {}, ""});
  m.graph.outputs.push_back(ValueInfo{"pooled", {}, ""});
  m.graph.outputs.push_back(ValueInfo{"fconv", {}, ""});
  auto& init = m.graph.initializers;
  init["xs"] = Tensor::scalar_f32(0.02f);
  init["xz"] = scalar_u8(128);
  init["as"] = Tensor::scalar_f32(0.015f);
  init["az"] = scalar_u8(0);
  init["w1"] = random_ints(DType::i8, {20, 8, 3, 3}, 1, -127, 127);
  init["w2"] = random_ints(DType::i8, {20, 20, 3, 3}, 2, -127, 127);
  init["w2b"] = random_ints(DType::i8, {20, 20, 3, 3}, 9, -127, 127);
  init["w3"] = random_ints(DType::i8, {24, 20, 1, 1}, 3, -127, 127);
  init["ws1"] = random_f32({20}, 4, 0.001f, 0.002f);
  init["ws2"] = random_f32({20}, 5, 0.0004f, 0.0008f);
  init["ws3"] = random_f32({24}, 6, 0.001f, 0.002f);
  init["wz20"] = Tensor(DType::i8, {20});
  init["wz24"] = Tensor(DType::i8, {24});
  init["b1"] = random_ints(DType::i32, {20}, 7, -500, 500);
  init["b3"] = random_ints(DType::i32, {24}, 8, -500, 500);
  init["ys"] = Tensor::scalar_f32(0.02f);
  init["yz"] = scalar_u8(120);
  init["ss"] = Tensor::scalar_f32(0.025f);
  init["wf"] = random_f32({4, 20, 1, 1}, 10, -1.0f, 1.0f);
  const std::vector<Attribute> pad1 = {Attribute::of_ints("pads", {1, 1, 1, 1}),
                                       Attribute::of_string("activation", "Relu")};
  m.graph.nodes = {
      graph_node("QuantizeLinear", {"x", "xs", "xz"}, "q0"),
      graph_node("QConv", {"q0", "xs", "xz", "w1", "ws1", "wz20", "as", "az", "b1"}, "a1", pad1,
                 "ai.nnaccel"),
      graph_node(
          "MaxPool", {"a1"}, "p1",
          {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("strides", {2, 2})}),
      // x and z the same value: y must not overwrite z in place.
      graph_node("QConv", {"p1", "as", "az", "w2", "ws2", "wz20", "as", "az", "", "p1", "as", "az"},
                 "a2", pad1, "ai.nnaccel"),
      graph_node("DequantizeLinear", {"p1", "as", "az"}, "p1f"),
      graph_node("GlobalAveragePool", {"p1f"}, "gap"),
      graph_node("Flatten", {"gap"}, "pooled"),
      graph_node("Conv", {"p1f", "wf"}, "fconv"),
      // z (p1) dies here: y may take its buffer.
      graph_node("QConv",
                 {"a2", "as", "az", "w2b", "ws2", "wz20", "as", "az", "b1", "p1", "as", "az"},
                 "a2b", pad1, "ai.nnaccel"),
      graph_node("QAdd", {"a2b", "as", "az", "a2", "as", "az", "ss", "az"}, "a4",
                 {Attribute::of_string("activation", "Relu")}, "ai.nnaccel"),
      graph_node("QConv", {"a4", "ss", "az", "w3", "ws3", "wz24", "ys", "yz", "b3"}, "a3", {},
                 "ai.nnaccel"),
      graph_node("DequantizeLinear", {"a3", "ys", "yz"}, "y"),
  };
  return m;
}

TEST(DnnlInt8Session, ConvChainStaysChannelsLastAndMatchesReference) {
  if (!dnnl_kernels::cpu_has_exact_int8()) GTEST_SKIP() << "no VNNI: the int8 kernels decline";
  const Model m = int8_chain();
  const Tensor x = random_f32({1, 8, 12, 12}, 11, -2.5f, 2.5f);
  SessionOptions fast_options;
  fast_options.profile = true;
  Session fast(m, fast_options);
  const std::vector<Tensor> got_all = fast.run({{"x", x}});
  const Tensor& got = got_all[0];
  SessionOptions ref_options;
  ref_options.fast = false;
  Session ref(m, ref_options);
  const std::vector<Tensor> want_all = ref.run({{"x", x}});
  const Tensor& want = want_all[0];

  std::map<std::string, std::string> kernel_of;
  int reorders = 0;
  for (const NodeTiming& t : fast.profile()) {
    kernel_of[t.name] = t.kernel;
    reorders += t.op_type == "Reorder";
  }
  // The layout decisions below rest on the simd QuantizeLinear / DequantizeLinear / QAdd kernels;
  // with SIMD capped off (NNACCEL_MAX_ISA=scalar) those run on the reference, plain, and only the
  // results are checked.
  if (simd::simd_enabled()) {
    // One Reorder: the pooled float value (20 channels-last floats) before the Flatten view.
    EXPECT_EQ(reorders, 1);
    EXPECT_EQ(fast.profile().size(), 13u);
    // The edges' conversions are in the QuantizeLinear and DequantizeLinear (quant_layout.hpp).
    EXPECT_NE(kernel_of["q0"].find("plain->nhwc"), std::string::npos) << kernel_of["q0"];
    EXPECT_NE(kernel_of["y"].find("nhwc->plain"), std::string::npos) << kernel_of["y"];
    EXPECT_NE(kernel_of["a1"].find("nhwc->nhwc"), std::string::npos) << kernel_of["a1"];
    EXPECT_NE(kernel_of["p1"].find("int8 nhwc"), std::string::npos) << kernel_of["p1"];
    EXPECT_NE(kernel_of["a2"].find("nhwc->nhwc"), std::string::npos) << kernel_of["a2"];
    EXPECT_NE(kernel_of["a2b"].find("nhwc->nhwc"), std::string::npos) << kernel_of["a2b"];
    EXPECT_NE(kernel_of["a3"].find("nhwc->nhwc"), std::string::npos) << kernel_of["a3"];
    EXPECT_NE(kernel_of["a4"].find("QAdd"), std::string::npos) << kernel_of["a4"];
    EXPECT_NE(kernel_of["gap"].find("dnnl pool jit"), std::string::npos) << kernel_of["gap"];
    EXPECT_NE(kernel_of["gap"].find("blocked"), std::string::npos) << kernel_of["gap"];
  }
  // The pooled dequantized values: the same integers, the same float arithmetic up to order.
  ASSERT_EQ(got_all[1].shape(), want_all[1].shape());
  for (int64_t i = 0; i < want_all[1].numel(); ++i)
    EXPECT_NEAR(got_all[1].data<float>()[i], want_all[1].data<float>()[i], 1e-5) << i;
  EXPECT_NE(kernel_of["fconv"].find("dnnl conv"), std::string::npos) << kernel_of["fconv"];
  ASSERT_EQ(got_all[2].shape(), want_all[2].shape());
  for (int64_t i = 0; i < want_all[2].numel(); ++i)
    EXPECT_NEAR(got_all[2].data<float>()[i], want_all[2].data<float>()[i], 1e-4) << i;

  // Off-by-one rounding upstream can move a downstream value by one step: bounded, and never
  // more than two steps of the output scale.
  ASSERT_EQ(got.shape(), want.shape());
  int64_t differ = 0, zero = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double steps = std::abs(got.data<float>()[i] - want.data<float>()[i]) / 0.02;
    ASSERT_LE(steps, 2.01) << i;
    differ += steps > 0.5;
    zero += want.data<float>()[i] == -2.4f;  // y = 0 (saturated low)
  }
  EXPECT_LE(differ, want.numel() / 30) << differ << " of " << want.numel();
  EXPECT_LT(zero, want.numel() / 5) << "badly scaled";
}

// The runtime's Reorder step on u8/i8 values: blocked 16 with ragged channels (padding zero)
// and channels-last (block == C), there and back.
TEST(DnnlInt8Session, RuntimeReorderConvertsIntegerLayouts) {
  for (DType dt : {DType::u8, DType::i8})
    for (int64_t c : {3, 17, 40})
      for (bool channels_last : {false, true}) {
        const int64_t block = channels_last ? c : 16;
        ValueDesc plain{dt, {2, c, 3, 5}, true, 0};
        ValueDesc blocked = plain;
        blocked.block = block;
        const Tensor x = random_q(dt, plain.shape, static_cast<uint32_t>(c));
        std::vector<Tensor> mid{Tensor(dt, blocked.physical_shape())};
        std::memset(mid[0].raw(), 0x7f, mid[0].nbytes());
        const Tensor* in[] = {&x};
        make_reorder_kernel(plain, blocked)->run(in, mid);
        const int64_t cb = (c + block - 1) / block;
        for (int64_t n = 0; n < 2; ++n)
          for (int64_t ch = 0; ch < cb * block; ++ch)
            for (int64_t s = 0; s < 15; ++s) {
              const int64_t at = ((n * cb + ch / block) * 15 + s) * block + ch % block;
              const int64_t want = ch < c ? x.at_i64((n * c + ch) * 15 + s) : 0;
              ASSERT_EQ(mid[0].at_i64(at), want) << c << " " << block << " " << ch;
            }
        if (channels_last) {
          const Tensor expected = channels_last_copy(x, true);
          ASSERT_EQ(std::memcmp(expected.raw(), mid[0].raw(), x.nbytes()), 0);
        }
        std::vector<Tensor> back{Tensor(dt, plain.shape)};
        const Tensor* in2[] = {&mid[0]};
        make_reorder_kernel(blocked, plain)->run(in2, back);
        ASSERT_EQ(std::memcmp(back[0].raw(), x.raw(), x.nbytes()), 0);
      }
}

}  // namespace
}  // namespace nnaccel::testing
