// The channels-last QuantizeLinear / DequantizeLinear kernels (kernels/simd/quant_layout.hpp)
// against the reference kernels, byte for byte: random data (ties, NaN, saturation), ragged channel
// counts (1, 3, 17, 33...), odd spatial sizes, batches, ranks 3 to 5, per tensor and per channel,
// float side plain or blocked. And in a session: no Reorder at the int8 chain's edges.
#include <cstring>
#include <limits>
#include <random>

#include "kernels/dnnl/dnnl_common.hpp"
#include "kernels/dnnl/dnnl_int8.hpp"
#include "kernels/dnnl_int8_test_util.hpp"
#include "kernels/simd_test_util.hpp"
#include "nnaccel/session.hpp"

namespace nnaccel::testing {
namespace {

const std::vector<Shape> kShapes = {{1, 1, 5, 7},  {2, 3, 9, 11}, {1, 3, 37, 41}, {2, 3, 120, 121},
                                    {2, 17, 5, 3}, {1, 16, 4, 4}, {2, 33, 7, 9},  {1, 4, 2, 3, 5},
                                    {2, 6, 13},    {3, 20, 1, 1}, {1, 2, 19},     {1, 48, 3, 6}};

// Scale and zero point: one, or one per channel (distinct values).
std::pair<Tensor, Tensor> params(DType t, int64_t channels, bool per_channel, uint32_t seed) {
  const Shape shape = per_channel ? Shape{channels} : Shape{};
  Tensor scale = random_f32(shape, seed, 0.01f, 0.05f);
  scale.data<float>()[0] = 0.25f;  // a power of two: exact ties
  Tensor zp = random_q(t, shape, seed + 1);
  return {scale, zp};
}

struct Offered {
  std::unique_ptr<Kernel> kernel;
  ValueDesc out;
};

// Offers `node` to the simd factory as the compiler would, with `readers` of its output in the
// graph and input 0 laid out by `x_block`.
Offered offer(const Node& node, const std::vector<Node>& readers, const std::vector<Tensor>& in,
              int64_t x_block, DType out_dtype, bool constant_params) {
  Graph graph;
  graph.nodes.push_back(node);
  for (const Node& r : readers) graph.nodes.push_back(r);
  std::vector<ValueDesc> descs(in.size());
  std::vector<const ValueDesc*> in_ptrs;
  std::vector<const Tensor*> constants;
  for (size_t i = 0; i < in.size(); ++i) {
    descs[i] = ValueDesc{in[i].dtype(), in[i].shape(), true, i == 0 ? x_block : 0};
    in_ptrs.push_back(&descs[i]);
    constants.push_back(i > 0 && constant_params ? &in[i] : nullptr);
  }
  std::vector<ValueDesc> outputs = {ValueDesc{out_dtype, in[0].shape(), true, 0}};
  CompileOptions options;
  KernelRequest request{node, graph, in_ptrs, constants, outputs, options};
  Offered o;
  for (const KernelEntry* e : KernelRegistry::instance().find("", node.op_type))
    if (e->variant == "simd") o.kernel = e->make(request);
  o.out = request.outputs[0];
  return o;
}

// A QConv reading `value` as its x: a reader that takes channels-last.
Node qconv_reader(const std::string& value) {
  Node n;
  n.op_type = "QConv";
  n.domain = "ai.nnaccel";
  n.inputs = {value, "s", "z", "w", "ws", "wz"};
  n.outputs = {"conv"};
  return n;
}

Node reader(const std::string& op, const std::string& value) {
  Node n;
  n.op_type = op;
  n.inputs = {value};
  n.outputs = {op + "_out"};
  return n;
}

int64_t differing_bytes(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.nbytes(), want.nbytes());
  if (got.nbytes() != want.nbytes()) return -1;
  const char* g = static_cast<const char*>(got.raw());
  const char* w = static_cast<const char*>(want.raw());
  int64_t differ = 0;
  for (size_t i = 0; i < got.nbytes(); ++i) differ += g[i] != w[i];
  return differ;
}

TEST(SimdQuantLayout, QuantizeWritesChannelsLastExactly) {
  if (!simd_on()) GTEST_SKIP() << "simd kernels off";
  uint32_t seed = 1;
  for (DType t : {DType::u8, DType::i8})
    for (const Shape& shape : kShapes)
      for (int64_t block : {0, 8, 16})
        for (bool per_channel : {false, true}) {
          ++seed;
          const int64_t c = shape[1];
          const Node node = make_node("QuantizeLinear", 3, 1);
          const Tensor x = quantize_input(shape, seed, 0.03f);
          auto [scale, zp] = params(t, c, per_channel, seed);
          const std::vector<Tensor> in = {x, scale, zp};
          const std::string what = fmt::format("{} {} block {} per_channel {}", dtype_name(t),
                                               shape_str(shape), block, per_channel);
          Offered o = offer(node, {qconv_reader("out0")}, in, block, t, seed % 2 == 0);
          ASSERT_NE(o.kernel, nullptr) << what;
          EXPECT_EQ(o.out.block, c) << what;
          EXPECT_EQ(o.out.dtype, t) << what;
          EXPECT_NE(o.kernel->name().find("->nhwc"), std::string::npos)
              << o.kernel->name() << " " << what;
          const Tensor x_given = block ? to_blocked(x, block) : x;
          Tensor y(t, o.out.physical_shape());
          std::memset(y.raw(), 0x5a, y.nbytes());  // every byte must be written
          const Tensor* ins[] = {&x_given, &scale, &zp};
          std::vector<Tensor> outs = {y};
          o.kernel->run(ins, outs);
          const Tensor want = channels_last_copy(run_op(node, in)[0], true);
          EXPECT_EQ(differing_bytes(outs[0], want), 0) << what;
        }
}

TEST(SimdQuantLayout, DequantizeReadsChannelsLastExactly) {
  if (!simd_on()) GTEST_SKIP() << "simd kernels off";
  uint32_t seed = 100;
  const int64_t float_block = dnnl_kernels::channel_block();
  for (DType t : {DType::u8, DType::i8})
    for (const Shape& shape : kShapes)
      for (bool blocked_readers : {false, true})
        for (bool per_channel : {false, true}) {
          if (blocked_readers && float_block == 0) continue;
          ++seed;
          const int64_t c = shape[1];
          const Node node = make_node("DequantizeLinear", 3, 1);
          const Tensor x = random_q(t, shape, seed);
          auto [scale, zp] = params(t, c, per_channel, seed);
          const std::vector<Tensor> in = {x, scale, zp};
          const std::string what = fmt::format("{} {} blocked {} per_channel {}", dtype_name(t),
                                               shape_str(shape), blocked_readers, per_channel);
          // GlobalAveragePool takes blocked floats; Softmax does not.
          const Node r = reader(blocked_readers ? "GlobalAveragePool" : "Softmax", "out0");
          Offered o = offer(node, {r}, in, c, DType::f32, seed % 2 == 0);
          ASSERT_NE(o.kernel, nullptr) << what;
          // One pixel: channels-last is plain already, kept plain.
          const bool one_pixel = shape_numel(shape) == shape[0] * c;
          const int64_t block = blocked_readers && !one_pixel ? float_block : 0;
          EXPECT_EQ(o.out.block, block) << what;
          EXPECT_NE(o.kernel->name().find("nhwc->"), std::string::npos) << o.kernel->name();
          const Tensor x_given = channels_last_copy(x, true);
          Tensor y(DType::f32, o.out.physical_shape());
          std::memset(y.raw(), 0x5a,
                      y.nbytes());  // padding channels too must be written (0)
          const Tensor* ins[] = {&x_given, &scale, &zp};
          std::vector<Tensor> outs = {y};
          o.kernel->run(ins, outs);
          const Tensor plain = run_op(node, in)[0];
          const Tensor want = block ? to_blocked(plain, block) : plain;
          EXPECT_EQ(differing_bytes(outs[0], want), 0) << what;
        }
}

// Without channels-last readers, or with a per-axis scale on another axis, the factories keep the
// plain kernels' layouts.
TEST(SimdQuantLayout, OtherReadersAndAxesKeepThePlainKernels) {
  if (!simd_on()) GTEST_SKIP() << "simd kernels off";
  const Node q = make_node("QuantizeLinear", 3, 1);
  const Tensor x = quantize_input({2, 5, 4, 3}, 7, 0.03f);
  auto [scale, zp] = params(DType::u8, 5, false, 7);
  Offered softmax = offer(q, {reader("Softmax", "out0")}, {x, scale, zp}, 0, DType::u8, true);
  ASSERT_NE(softmax.kernel, nullptr);
  EXPECT_EQ(softmax.out.block, 0);
  Offered mixed = offer(q, {qconv_reader("out0"), reader("Softmax", "out0")}, {x, scale, zp}, 0,
                        DType::u8, true);
  ASSERT_NE(mixed.kernel, nullptr);
  EXPECT_EQ(mixed.out.block, 0);
  // Per axis 3: not the channel axis.
  Node q3 = make_node("QuantizeLinear", 3, 1, {Attribute::of_int("axis", 3)});
  auto [s3, z3] = params(DType::u8, 3, true, 8);
  Offered axis3 = offer(q3, {qconv_reader("out0")}, {x, s3, z3}, 0, DType::u8, true);
  ASSERT_NE(axis3.kernel, nullptr);
  EXPECT_EQ(axis3.out.block, 0);
  const Node dq3 = make_node("DequantizeLinear", 3, 1, {Attribute::of_int("axis", 3)});
  Offered dq_axis3 =
      offer(dq3, {}, {random_q(DType::u8, {2, 5, 4, 3}, 9), s3, z3}, 5, DType::f32, true);
  EXPECT_EQ(dq_axis3.kernel,
            nullptr);  // the compiler converts x to plain and asks again
}

// QuantizeLinear -> QConv -> DequantizeLinear, as fuse_qdq leaves a QDQ conv: the conversions
// happen inside the QuantizeLinear and DequantizeLinear, with no Reorder step, and the result
// matches the reference interpreter.
TEST(SimdQuantLayout, SessionHasNoReorderAtTheInt8Edges) {
  if (!dnnl_kernels::cpu_has_exact_int8()) GTEST_SKIP() << "no VNNI: the int8 kernels decline";
  if (!simd_on()) GTEST_SKIP() << "simd kernels off";
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.opsets["ai.nnaccel"] = 1;
  m.graph.inputs.push_back(ValueInfo{"x", TypeInfo::of(DType::f32, {2, 3, 13, 11}), ""});
  m.graph.outputs.push_back(ValueInfo{"y", {}, ""});
  auto& init = m.graph.initializers;
  init["xs"] = Tensor::scalar_f32(0.02f);
  init["xz"] = q_scalar(DType::u8, 128);
  init["w"] = random_ints(DType::i8, {17, 3, 3, 3}, 1, -127, 127);
  init["ws"] = random_f32({17}, 2, 0.002f, 0.004f);
  init["wz"] = Tensor(DType::i8, {17});
  init["b"] = random_ints(DType::i32, {17}, 3, -500, 500);
  init["ys"] = Tensor::scalar_f32(0.03f);
  init["yz"] = q_scalar(DType::u8, 100);
  Node q = reader("QuantizeLinear", "x");
  q.inputs = {"x", "xs", "xz"};
  q.name = q.outputs[0] = "q";
  Node conv = qconv_reader("q");
  conv.inputs = {"q", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"};
  conv.attrs = {Attribute::of_ints("pads", {1, 1, 1, 1})};
  conv.name = conv.outputs[0] = "c";
  Node dq = reader("DequantizeLinear", "c");
  dq.inputs = {"c", "ys", "yz"};
  dq.name = dq.outputs[0] = "y";
  m.graph.nodes = {q, conv, dq};

  const Tensor x = random_f32({2, 3, 13, 11}, 4, -2.5f, 2.5f);
  SessionOptions options;
  options.profile = true;
  Session fast(m, options);
  const Tensor got = fast.run({{"x", x}})[0];
  SessionOptions ref_options;
  ref_options.fast = false;
  Session ref(m, ref_options);
  const Tensor want = ref.run({{"x", x}})[0];

  std::map<std::string, std::string> kernel_of;
  for (const NodeTiming& t : fast.profile()) {
    EXPECT_NE(t.op_type, "Reorder") << t.name;
    kernel_of[t.name] = t.kernel;
  }
  EXPECT_EQ(fast.profile().size(), 3u);
  EXPECT_NE(kernel_of["q"].find("QuantizeLinear u8 plain->nhwc"), std::string::npos)
      << kernel_of["q"];
  EXPECT_NE(kernel_of["c"].find("nhwc->nhwc"), std::string::npos) << kernel_of["c"];
  EXPECT_NE(kernel_of["y"].find("DequantizeLinear u8 nhwc->plain"), std::string::npos)
      << kernel_of["y"];
  // The same integers into the conv; its output stage (float, not double) may round 1 LSB (0.03)
  // differently, rarely.
  ASSERT_EQ(got.shape(), want.shape());
  int64_t differ = 0, saturated = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const float g = got.data<float>()[i], w = want.data<float>()[i];
    ASSERT_NEAR(g, w, 0.0301) << i;
    differ += g != w;
    saturated += w == 0.03f * (0 - 100) || w == 0.03f * (255 - 100);
  }
  EXPECT_LE(differ, want.numel() / 100) << differ << " of " << want.numel();
  EXPECT_LT(saturated, want.numel() / 5) << "badly scaled";
}

}  // namespace
}  // namespace nnaccel::testing
