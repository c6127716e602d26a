// The int8 kernels end to end in a Session's compiled plan: consecutive QConvs and an int8
// MaxPool keep their values channels-last with conversions only at the edges (inside the first
// and last conv, no Reorder steps), and the result matches the reference interpreter.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/dnnl/dnnl_int8.hpp"
#include "kernels/dnnl_int8_test_util.hpp"
#include "nnaccel/session.hpp"

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
// QConv (+ residual p1, in place, Relu) -> QConv 1x1 -> DequantizeLinear.
Model int8_chain() {
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.opsets["ai.nnaccel"] = 1;
  m.graph.inputs.push_back(ValueInfo{"x", TypeInfo::of(DType::f32, {1, 8, 12, 12}), ""});
  m.graph.outputs.push_back(ValueInfo{"y", {}, ""});
  auto& init = m.graph.initializers;
  init["xs"] = Tensor::scalar_f32(0.02f);
  init["xz"] = scalar_u8(128);
  init["as"] = Tensor::scalar_f32(0.015f);
  init["az"] = scalar_u8(0);
  init["w1"] = random_ints(DType::i8, {16, 8, 3, 3}, 1, -127, 127);
  init["w2"] = random_ints(DType::i8, {16, 16, 3, 3}, 2, -127, 127);
  init["w2b"] = random_ints(DType::i8, {16, 16, 3, 3}, 9, -127, 127);
  init["w3"] = random_ints(DType::i8, {24, 16, 1, 1}, 3, -127, 127);
  init["ws1"] = random_f32({16}, 4, 0.001f, 0.002f);
  init["ws2"] = random_f32({16}, 5, 0.0005f, 0.001f);
  init["ws3"] = random_f32({24}, 6, 0.002f, 0.004f);
  init["wz16"] = Tensor(DType::i8, {16});
  init["wz24"] = Tensor(DType::i8, {24});
  init["b1"] = random_ints(DType::i32, {16}, 7, -500, 500);
  init["b3"] = random_ints(DType::i32, {24}, 8, -500, 500);
  init["ys"] = Tensor::scalar_f32(0.02f);
  init["yz"] = scalar_u8(120);
  const std::vector<Attribute> pad1 = {Attribute::of_ints("pads", {1, 1, 1, 1}),
                                       Attribute::of_string("activation", "Relu")};
  m.graph.nodes = {
      graph_node("QuantizeLinear", {"x", "xs", "xz"}, "q0"),
      graph_node("QConv", {"q0", "xs", "xz", "w1", "ws1", "wz16", "as", "az", "b1"}, "a1", pad1,
                 "ai.nnaccel"),
      graph_node(
          "MaxPool", {"a1"}, "p1",
          {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("strides", {2, 2})}),
      // x and z the same value: y must not overwrite z in place.
      graph_node("QConv", {"p1", "as", "az", "w2", "ws2", "wz16", "as", "az", "", "p1", "as", "az"},
                 "a2", pad1, "ai.nnaccel"),
      // z (p1) dies here: y may take its buffer.
      graph_node("QConv",
                 {"a2", "as", "az", "w2b", "ws2", "wz16", "as", "az", "b1", "p1", "as", "az"},
                 "a2b", pad1, "ai.nnaccel"),
      graph_node("QConv", {"a2b", "as", "az", "w3", "ws3", "wz24", "ys", "yz", "b3"}, "a3", {},
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
  const Tensor got = fast.run({{"x", x}})[0];
  SessionOptions ref_options;
  ref_options.fast = false;
  Session ref(m, ref_options);
  const Tensor want = ref.run({{"x", x}})[0];

  std::map<std::string, std::string> kernel_of;
  int reorders = 0;
  for (const NodeTiming& t : fast.profile()) {
    kernel_of[t.name] = t.kernel;
    reorders += t.op_type == "Reorder";
  }
  EXPECT_EQ(reorders, 0);
  EXPECT_EQ(fast.profile().size(), 7u);
  EXPECT_NE(kernel_of["a1"].find("plain->nhwc"), std::string::npos) << kernel_of["a1"];
  EXPECT_NE(kernel_of["p1"].find("int8 nhwc"), std::string::npos) << kernel_of["p1"];
  EXPECT_NE(kernel_of["a2"].find("nhwc->nhwc"), std::string::npos) << kernel_of["a2"];
  EXPECT_NE(kernel_of["a2b"].find("nhwc->nhwc"), std::string::npos) << kernel_of["a2b"];
  EXPECT_NE(kernel_of["a3"].find("nhwc->plain"), std::string::npos) << kernel_of["a3"];

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

}  // namespace
}  // namespace nnaccel::testing
