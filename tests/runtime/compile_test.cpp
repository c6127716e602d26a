// The compiler and plans: memory planning, the plan cache, layout conversion, and the fast path
// agreeing with the reference interpreter.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/kernel.hpp"
#include "kernels/simd/isa_cap.hpp"
#include "nnaccel/npy.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/session.hpp"
#include "nnaccel/train.hpp"
#include "runtime/builtin_kernels.hpp"
#include "runtime/plan.hpp"
#include "runtime/work_estimate.hpp"

namespace nnaccel {
namespace {

TEST(MemoryPlan, BuffersAliveAtOnceNeverOverlap) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferLifetime> b;
    int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      int first = static_cast<int>(rng() % 30);
      int len = static_cast<int>(rng() % 8);
      b.push_back({1 + rng() % 5000, first, first + len, 0});
    }
    uint64_t total = plan_buffer_offsets(b, 64);
    uint64_t max_live = 0;
    for (int step = 0; step < 40; ++step) {
      uint64_t live = 0;
      for (const BufferLifetime& x : b)
        if (x.first <= step && step <= x.last) live += x.bytes;
      max_live = std::max(max_live, live);
    }
    EXPECT_GE(total, max_live);
    for (size_t i = 0; i < b.size(); ++i) {
      EXPECT_EQ(b[i].offset % 64, 0u);
      EXPECT_LE(b[i].offset + b[i].bytes, total);
      for (size_t j = i + 1; j < b.size(); ++j) {
        bool time = !(b[i].last < b[j].first || b[j].last < b[i].first);
        bool space = b[i].offset < b[j].offset + b[j].bytes && b[j].offset < b[i].offset + b[i].bytes;
        EXPECT_FALSE(time && space) << "buffers " << i << " and " << j << " overlap";
      }
    }
  }
}

TEST(MemoryPlan, AChainReusesTwoBuffers) {
  // a -> b -> c -> d, each read only by the next: two buffers of the largest size suffice.
  std::vector<BufferLifetime> b = {{1000, 0, 1, 0}, {1000, 1, 2, 0}, {1000, 2, 3, 0},
                                   {1000, 3, 4, 0}};
  EXPECT_EQ(plan_buffer_offsets(b, 64), 2 * 1024u);
}

TEST(Reorder, PlainToBlockedAndBackRoundTripsRaggedChannels) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uni(-2, 2);
  for (int64_t c : {1, 3, 16, 17, 33}) {
    for (int64_t block : {8, 16}) {
      ValueDesc plain{DType::f32, {2, c, 3, 5}, true, 0};
      ValueDesc blocked = plain;
      blocked.block = block;
      Tensor x(DType::f32, plain.shape);
      for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = uni(rng);
      auto to = make_reorder_kernel(plain, blocked);
      auto back = make_reorder_kernel(blocked, plain);
      std::vector<Tensor> mid{Tensor(DType::f32, blocked.physical_shape())};
      // Garbage in the destination: the padding must still come out zero.
      for (int64_t i = 0; i < mid[0].numel(); ++i) mid[0].data<float>()[i] = 99.0f;
      const Tensor* in[] = {&x};
      to->run(in, mid);
      int64_t cb = (c + block - 1) / block;
      ASSERT_EQ(mid[0].shape(), (Shape{2, cb, 3, 5, block}));
      // Element (n=1, ch, h=2, w=4) lands at [1, ch/b, 2, 4, ch%b].
      for (int64_t ch = 0; ch < cb * block; ++ch) {
        float got = mid[0].data<float>()[(((1 * cb + ch / block) * 3 + 2) * 5 + 4) * block +
                                         ch % block];
        float want = ch < c ? x.data<float>()[((1 * c + ch) * 3 + 2) * 5 + 4] : 0.0f;
        EXPECT_EQ(got, want) << "c=" << c << " block=" << block << " ch=" << ch;
      }
      std::vector<Tensor> out{Tensor(DType::f32, plain.shape)};
      const Tensor* in2[] = {&mid[0]};
      back->run(in2, out);
      for (int64_t i = 0; i < x.numel(); ++i)
        ASSERT_EQ(out[0].data<float>()[i], x.data<float>()[i]);
    }
  }
}

Model relu_chain(int length) {
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.graph.inputs = {ValueInfo{"x", TypeInfo{DType::f32, true, {Dim{}, Dim{64, {}}}}, ""}};
  std::string prev = "x";
  for (int i = 0; i < length; ++i) {
    Node n;
    n.op_type = i % 2 ? "Neg" : "Relu";
    n.name = "n" + std::to_string(i);
    n.inputs = {prev};
    prev = "v" + std::to_string(i);
    n.outputs = {prev};
    m.graph.nodes.push_back(n);
  }
  m.graph.outputs = {ValueInfo{prev, {}, ""}};
  return m;
}

TEST(CompiledSession, PlansOncePerShapeAndCachesThePlan) {
  Session s(relu_chain(6));
  Tensor a(DType::f32, {2, 64}), b(DType::f32, {5, 64});
  for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = static_cast<float>(i % 7) - 3;
  for (int64_t i = 0; i < b.numel(); ++i) b.data<float>()[i] = static_cast<float>(i % 5) - 2;
  Tensor ya = s.run({{"x", a}})[0];
  EXPECT_EQ(s.plans_compiled(), 1);
  s.run({{"x", a}});
  EXPECT_EQ(s.plans_compiled(), 1);
  Tensor yb = s.run({{"x", b}})[0];
  EXPECT_EQ(s.plans_compiled(), 2);
  Tensor ya2 = s.run({{"x", a}})[0];
  EXPECT_EQ(s.plans_compiled(), 2);
  ASSERT_EQ(yb.shape(), (Shape{5, 64}));
  // relu then neg three times: -relu(x) after the first pair, relu(-relu(x)) = 0 after.
  for (int64_t i = 0; i < ya.numel(); ++i) EXPECT_EQ(ya2.data<float>()[i], ya.data<float>()[i]);
  EXPECT_EQ(ya.data<float>()[4], -0.0f);
}

TEST(CompiledSession, GraphOutputsSurviveTheNextRun) {
  Session s(relu_chain(1));
  Tensor a = Tensor::from_f32({1, 64}, std::vector<float>(64, 3.0f));
  Tensor first = s.run({{"x", a}})[0];
  Tensor b = Tensor::from_f32({1, 64}, std::vector<float>(64, 5.0f));
  s.run({{"x", b}});
  EXPECT_EQ(first.data<float>()[0], 3.0f);
}

TEST(CompiledSession, MatchesTheReferenceInterpreterOnTheTinyCnn) {
  std::string dir = std::string(NNACCEL_SOURCE_DIR) + "/models/";
  Tensor input = load_npy(dir + "tiny_cnn_input.npy");
  Model m = load_onnx(dir + "tiny_cnn.onnx");
  SessionOptions ref_opts;
  ref_opts.fast = false;
  Session ref(m, ref_opts);
  Session fast(m);
  const std::string name = ref.inputs()[0].name;
  Tensor want = ref.run({{name, input}})[0];
  Tensor got = fast.run({{name, input}})[0];
  ASSERT_EQ(got.shape(), want.shape());
  double err = 0, norm = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double d = got.data<float>()[i] - want.data<float>()[i];
    err += d * d;
    norm += static_cast<double>(want.data<float>()[i]) * want.data<float>()[i];
  }
  EXPECT_LT(std::sqrt(err / norm), 1e-5);
  EXPECT_GT(fast.weight_bytes(), 0u);
  EXPECT_GT(fast.peak_activation_bytes(), 0u);
}

}  // namespace
}  // namespace nnaccel

namespace nnaccel {
namespace {

TEST(CompiledPlan, ViewsTakeOverADyingInputsBuffer) {
  // x[2,3,4] -> Flatten(1) -> Flatten(0) -> Flatten(2) -> Neg -> y: the first Flatten copies the
  // graph input into the arena, the next two take over their input's buffer.
  auto m = std::make_shared<Model>();
  m->opsets[""] = kCanonicalOpset;
  m->graph.inputs = {ValueInfo{"x", TypeInfo::of(DType::f32, {2, 3, 4}), ""}};
  std::string prev = "x";
  int axes[] = {1, 0, 2};
  for (int i = 0; i < 3; ++i) {
    Node n;
    n.op_type = "Flatten";
    n.name = "f" + std::to_string(i);
    n.inputs = {prev};
    prev = "v" + std::to_string(i);
    n.outputs = {prev};
    n.attrs = {Attribute::of_int("axis", axes[i])};
    m->graph.nodes.push_back(n);
  }
  Node neg;
  neg.op_type = "Neg";
  neg.name = "neg";
  neg.inputs = {prev};
  neg.outputs = {"y"};
  m->graph.nodes.push_back(neg);
  m->graph.outputs = {ValueInfo{"y", {}, ""}};
  std::unique_ptr<Plan> plan =
      compile_plan(m, {TypeInfo::of(DType::f32, {2, 3, 4})}, CompileOptions{});
  EXPECT_EQ(plan->stats().inplace, 2);
  EXPECT_EQ(plan->stats().naive_bytes, 3 * 96u);
  EXPECT_EQ(plan->stats().arena_bytes, 128u);  // one 96-byte buffer, 64-byte aligned
  Tensor x(DType::f32, {2, 3, 4});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i) - 5.5f;
  std::vector<Tensor> out;
  Tensor inputs[] = {x};
  plan->run(inputs, out, nullptr);
  ASSERT_EQ(out[0].shape(), (Shape{24, 1}));
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(out[0].data<float>()[i], 5.5f - i);
}

}  // namespace
}  // namespace nnaccel

namespace nnaccel {
namespace {

// cond = (x.shape[0] == 1), then: Squeeze(x, [0]), else: Identity(x); then Relu. At x [2,3] the
// condition is known at compile time: only the else branch is compiled (the then branch is
// invalid for that shape), and the If's output shape stays known for the Relu after it.
TEST(CompiledPlan, AnIfWithAConditionKnownAtCompileTimeCompilesOneBranch) {
  auto m = std::make_shared<Model>();
  m->opsets[""] = kCanonicalOpset;
  m->graph.inputs = {ValueInfo{"x", TypeInfo{DType::f32, true, {Dim{}, Dim{3, {}}}}, ""}};
  m->graph.initializers["zero"] = Tensor::scalar_i64(0);
  m->graph.initializers["one"] = Tensor::scalar_i64(1);
  m->graph.initializers["axes"] = Tensor::from_i64({1}, {0});
  auto node = [](std::string op, std::vector<std::string> in, std::vector<std::string> out) {
    Node n;
    n.op_type = std::move(op);
    n.name = out[0];
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    return n;
  };
  auto then_g = std::make_shared<Graph>();
  then_g->nodes = {node("Squeeze", {"x", "axes"}, {"t"})};
  then_g->outputs = {ValueInfo{"t", {}, ""}};
  auto else_g = std::make_shared<Graph>();
  else_g->nodes = {node("Identity", {"x"}, {"e"})};
  else_g->outputs = {ValueInfo{"e", {}, ""}};
  Node if_node = node("If", {"cond"}, {"picked"});
  if_node.attrs = {Attribute::of_graph("then_branch", then_g),
                   Attribute::of_graph("else_branch", else_g)};
  m->graph.nodes = {node("Shape", {"x"}, {"shape"}), node("Gather", {"shape", "zero"}, {"n"}),
                    node("Equal", {"n", "one"}, {"cond"}), if_node,
                    node("Relu", {"picked"}, {"y"})};
  m->graph.outputs = {ValueInfo{"y", {}, ""}};
  std::unique_ptr<Plan> plan =
      compile_plan(m, {TypeInfo::of(DType::f32, {2, 3})}, CompileOptions{});
  // Relu's fast kernel is simd's: with SIMD capped off (NNACCEL_MAX_ISA=scalar) it is the
  // reference's.
  EXPECT_EQ(plan->stats().reference_steps, simd::simd_enabled() ? 0 : 1);
  EXPECT_EQ(plan->steps().size(), 2u);  // If, Relu: the condition was folded
  Tensor x = Tensor::from_f32({2, 3}, {-1, 2, -3, 4, -5, 6});
  std::vector<Tensor> out;
  Tensor inputs[] = {x};
  plan->run(inputs, out, nullptr);
  EXPECT_EQ(out[0].to_f32_vector(), (std::vector<float>{0, 2, 0, 4, 0, 6}));
  // At [1,3] the other branch is the one compiled.
  std::unique_ptr<Plan> one = compile_plan(m, {TypeInfo::of(DType::f32, {1, 3})}, CompileOptions{});
  Tensor x1 = Tensor::from_f32({1, 3}, {-1, 2, -3});
  Tensor inputs1[] = {x1};
  one->run(inputs1, out, nullptr);
  EXPECT_EQ(out[0].shape(), (Shape{3}));
  EXPECT_EQ(out[0].to_f32_vector(), (std::vector<float>{0, 2, 0}));
}

}  // namespace
}  // namespace nnaccel

#include "kernels/dnnl/dnnl_common.hpp"

namespace nnaccel {
namespace {

double rel_l2(const Tensor& a, const Tensor& b) {
  double err = 0, norm = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    double d = static_cast<double>(a.data<float>()[i]) - b.data<float>()[i];
    err += d * d;
    norm += static_cast<double>(b.data<float>()[i]) * b.data<float>()[i];
  }
  return std::sqrt(err / norm);
}

TEST(CompiledSession, Bf16AndAutoPrecisionStayWithinOnePercentOfFp32) {
  std::string dir = std::string(NNACCEL_SOURCE_DIR) + "/models/";
  Tensor input = load_npy(dir + "tiny_cnn_input.npy");
  Model m = load_onnx(dir + "tiny_cnn.onnx");
  const std::string name = m.graph.inputs[0].name;
  Tensor fp32 = Session(m).run({{name, input}})[0];
  for (PrecisionMode mode : {PrecisionMode::bf16, PrecisionMode::auto_select}) {
    SessionOptions o;
    o.precision = mode;
    Tensor got = Session(m, o).run({{name, input}})[0];
    EXPECT_LT(rel_l2(got, fp32), 1e-2);
    if (mode == PrecisionMode::bf16 && dnnl_kernels::cpu_has_bf16()) {
      EXPECT_GT(rel_l2(got, fp32), 0.0);  // it really ran in bf16
    }
  }
}

}  // namespace
}  // namespace nnaccel

namespace nnaccel {
namespace {

// Whether a conv writes its output channel-blocked depends on its readers: an ElementwiseChain
// that maps 0 to 0 (padding channels stay zero) with scalar-constant operands or the value
// itself takes it; one that does not (x + 3) does not, unless there are no padding channels (C
// a multiple of the block); a per-channel Mul operand is fine.
TEST(CompiledPlan, BlockedOutputsOnlyTowardReadersThatKeepPaddingZero) {
  if (dnnl_kernels::channel_block() == 0) GTEST_SKIP() << "no blocked layouts on this ISA";
  int64_t channels = 24;  // padding channels with blocks of 8 and 16
  auto reader_takes = [&channels](Node reader, std::map<std::string, Tensor> inits) {
    Graph g;
    g.initializers = std::move(inits);
    Node conv;
    conv.op_type = "Conv";
    conv.name = "c";
    conv.inputs = {"x", "w"};
    conv.outputs = {"y"};
    g.nodes = {conv, reader};
    g.outputs = {ValueInfo{reader.outputs[0], {}, ""}};
    std::map<std::string, TypeInfo> types = {
        {"y", TypeInfo::of(DType::f32, {1, channels, 4, 4})},
        {"gate", TypeInfo::of(DType::f32, {1, channels, 1, 1})},
        {"other", TypeInfo::of(DType::f32, {1, channels, 4, 1})}};
    std::vector<ValueDesc> outs = {ValueDesc{DType::f32, {1, channels, 4, 4}, true, 0}};
    CompileOptions options;
    KernelRequest req{g.nodes[0], g, {}, {}, outs, options};
    req.value_types = &types;
    return dnnl_kernels::consumers_take_blocked(req, 0);
  };
  auto chain = [](std::vector<std::string> in, std::vector<std::string> steps,
                  std::vector<float> params = {}) {
    Node n;
    n.op_type = "ElementwiseChain";
    n.domain = "ai.nnaccel";
    n.name = "chain";
    n.inputs = std::move(in);
    n.outputs = {"h"};
    n.attrs = {Attribute::of_strings("steps", std::move(steps))};
    if (!params.empty()) n.attrs.push_back(Attribute::of_floats("params", std::move(params)));
    return n;
  };
  auto mul = [](std::string a, std::string b) {
    Node n;
    n.op_type = "Mul";
    n.name = "mul";
    n.inputs = {std::move(a), std::move(b)};
    n.outputs = {"p"};
    return n;
  };
  const std::map<std::string, Tensor> three = {{"three", Tensor::scalar_f32(3.0f)}};
  // HardSwish as exported: ((x + 3) clipped to [0, 6]) * x / 6 -> 0 at 0.
  EXPECT_TRUE(reader_takes(chain({"y", "three", "y", "six"}, {"Add", "Clip", "Mul", "Div"}, {0, 6}),
                           {{"three", Tensor::scalar_f32(3.0f)}, {"six", Tensor::scalar_f32(6.0f)}}));
  EXPECT_TRUE(reader_takes(chain({"y", "y"}, {"Mul"}), {}));                 // x * x
  EXPECT_FALSE(reader_takes(chain({"y", "three"}, {"Add"}), three));         // x + 3
  EXPECT_TRUE(reader_takes(chain({"y", "three"}, {"Mul"}), three));          // x * 3
  EXPECT_FALSE(reader_takes(chain({"y"}, {"Sigmoid"}), {}));                 // 0.5 at 0
  EXPECT_TRUE(reader_takes(mul("y", "gate"), {}));                           // per channel
  EXPECT_FALSE(reader_takes(mul("y", "other"), {}));                         // per row: no
  channels = 32;  // no padding channels: any chain of scalars
  EXPECT_TRUE(reader_takes(chain({"y", "three"}, {"Add"}), three));
  EXPECT_TRUE(reader_takes(chain({"y"}, {"Sigmoid"}), {}));
}

}  // namespace
}  // namespace nnaccel

namespace nnaccel {
namespace {

// r = Relu(Conv(x)); y = Conv(r) + r; out = Conv(y). The optimizer fuses the Add as the second FusedConv's
// residual Z, so that step reads r (channel-blocked, as the first conv writes it) twice: X and Z.
// Z dies at that step, but y must not take over its buffer: the convolution would read inputs it
// has already overwritten.
TEST(CompiledPlan, AnOutputNeverOverwritesABufferTheStepAlsoReadsElsewhere) {
  Model m;
  m.opsets[""] = kCanonicalOpset;
  const int64_t c = 16;
  m.graph.inputs = {ValueInfo{"x", TypeInfo::of(DType::f32, {1, c, 9, 9}), ""}};
  Tensor w(DType::f32, {c, c, 3, 3});
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.2f);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = normal(rng);
  m.graph.initializers["w"] = w;
  Node conv0;
  conv0.op_type = "Conv";
  conv0.name = "conv0";
  conv0.inputs = {"x", "w"};
  conv0.outputs = {"c0"};
  conv0.attrs = {Attribute::of_ints("pads", {1, 1, 1, 1})};
  Node relu;
  relu.op_type = "Relu";
  relu.name = "relu";
  relu.inputs = {"c0"};
  relu.outputs = {"r"};
  Node conv;
  conv.op_type = "Conv";
  conv.name = "conv";
  conv.inputs = {"r", "w"};
  conv.outputs = {"c"};
  conv.attrs = {Attribute::of_ints("pads", {1, 1, 1, 1})};
  Node add;
  add.op_type = "Add";
  add.name = "add";
  add.inputs = {"c", "r"};
  add.outputs = {"y"};
  Node conv2 = conv0;  // a conv reading y, so that y is written blocked too
  conv2.name = "conv2";
  conv2.inputs = {"y", "w"};
  conv2.outputs = {"out"};
  m.graph.nodes = {conv0, relu, conv, add, conv2};
  m.graph.outputs = {ValueInfo{"out", {}, ""}};

  Tensor x(DType::f32, {1, c, 9, 9});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = normal(rng) * 5.0f;
  SessionOptions ref_opts;
  ref_opts.fast = false;
  Tensor want = Session(m, ref_opts).run({{"x", x}})[0];
  Tensor got = Session(m).run({{"x", x}})[0];
  ASSERT_EQ(got.shape(), want.shape());
  double err = 0, norm = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double d = got.data<float>()[i] - want.data<float>()[i];
    err += d * d;
    norm += static_cast<double>(want.data<float>()[i]) * want.data<float>()[i];
  }
  EXPECT_LT(std::sqrt(err / norm), 1e-5);
}

}  // namespace
}  // namespace nnaccel

namespace nnaccel {
namespace {

ValueDesc known(DType t, Shape s) {
  ValueDesc d;
  d.dtype = t;
  d.shape = std::move(s);
  d.known = true;
  return d;
}

// The integer convolutions and matmuls count their multiply-adds like the float ones: counted as
// data movement, MobileNetV2's int8 14x14 layers ran on one thread at half the speed.
TEST(WorkEstimate, IntegerConvAndMatMulCountMultiplyAddsLikeTheFloatOnes) {
  const ValueDesc x = known(DType::u8, {1, 144, 28, 28}), w = known(DType::i8, {32, 144, 1, 1});
  const ValueDesc xf = known(DType::f32, {1, 144, 28, 28}), wf = known(DType::f32, {32, 144, 1, 1});
  const ValueDesc scalar = known(DType::f32, {});
  const std::vector<ValueDesc> y = {known(DType::u8, {1, 32, 28, 28})};
  const double macs2 = 2.0 * 32 * 28 * 28 * 144;
  Node conv;
  conv.op_type = "Conv";
  EXPECT_DOUBLE_EQ(estimate_work(conv, {&xf, &wf}, y), macs2);
  Node qconv;
  qconv.op_type = "QConv";
  qconv.domain = "ai.nnaccel";
  EXPECT_DOUBLE_EQ(estimate_work(qconv, {&x, &scalar, &scalar, &w}, y), macs2);
  qconv.op_type = "QLinearConv";
  qconv.domain = "";
  EXPECT_DOUBLE_EQ(estimate_work(qconv, {&x, &scalar, &scalar, &w}, y), macs2);
  qconv.op_type = "ConvInteger";
  EXPECT_DOUBLE_EQ(estimate_work(qconv, {&x, &w}, y), macs2);
  EXPECT_GT(macs2, kSerialWork);

  const ValueDesc a = known(DType::u8, {32, 1280}), b = known(DType::i8, {1280, 1000});
  const std::vector<ValueDesc> out = {known(DType::u8, {32, 1000})};
  Node qmm;
  qmm.op_type = "QMatMul";
  qmm.domain = "ai.nnaccel";
  EXPECT_DOUBLE_EQ(estimate_work(qmm, {&a, &scalar, &scalar, &b}, out), 2.0 * 32 * 1000 * 1280);
}

// Readers of one weight that pack it alike hold one packed copy: two MatMuls reading one
// initializer count its packed bytes once, against two for the same bytes under two names, and
// compute what the reference does.
TEST(CompiledPlan, ReadersOfOneWeightShareItsPackedCopy) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-0.2f, 0.2f);
  Tensor w(DType::f32, {96, 96});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = u(rng);
  auto model = [&](bool shared) {
    Model m;
    m.opsets[""] = 17;
    m.graph.inputs.push_back(ValueInfo{"x", TypeInfo::of(DType::f32, {8, 96}), ""});
    m.graph.outputs.push_back(ValueInfo{"y", {}, ""});
    m.graph.initializers["w"] = w;
    if (!shared) m.graph.initializers["w2"] = w.clone();
    m.graph.nodes = {Node::of("MatMul", "a", {"x", "w"}, {"h"}),
                     Node::of("Relu", "r", {"h"}, {"hr"}),
                     Node::of("MatMul", "b", {"hr", shared ? "w" : "w2"}, {"y"})};
    return m;
  };
  Tensor x(DType::f32, {8, 96});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng);
  Session shared(model(true)), apart(model(false));
  Session ref(model(true), SessionOptions{.fast = false});
  const Tensor want = ref.run({{"x", x}})[0];
  for (Session* s : {&shared, &apart}) {
    const Tensor got = s->run({{"x", x}})[0];
    for (int64_t i = 0; i < want.numel(); ++i)
      ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-4f) << i;
  }
  ASSERT_GE(apart.weight_bytes(), 2 * w.nbytes());
  EXPECT_EQ(apart.weight_bytes() - shared.weight_bytes(), apart.weight_bytes() / 2);
}

// Where bf16 values may flow: out of a bf16 conv toward readers that are all convs reading them
// as input or residual, directly or through a MaxPool; never toward other readers, graph
// outputs, or in an fp32 plan.
TEST(CompiledPlan, Bf16ValuesOnlyBetweenConvolutions) {
  if (!dnnl_kernels::cpu_has_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  Tensor w = Tensor(DType::f32, {8, 8, 3, 3});
  auto conv = [](const std::string& name, std::vector<std::string> in, const std::string& out) {
    return Node::of("Conv", name, std::move(in), {out});
  };
  auto op = [](const std::string& type, const std::string& in, const std::string& out) {
    Node n = Node::of(type, type, {in}, {out});
    if (type == "MaxPool") n.attrs.push_back(Attribute::of_ints("kernel_shape", {2, 2}));
    return n;
  };
  auto takes = [&](std::vector<Node> readers, const std::string& output, Precision p) {
    Graph g;
    g.initializers["w"] = w;
    g.nodes = {conv("c", {"x", "w"}, "y")};
    for (Node& r : readers) g.nodes.push_back(r);
    g.outputs = {ValueInfo{output, {}, ""}};
    std::vector<ValueDesc> outs = {ValueDesc{DType::f32, {1, 8, 6, 6}, true, 0}};
    CompileOptions options;
    options.precision = p;
    KernelRequest req{g.nodes[0], g, {}, {}, outs, options};
    return dnnl_kernels::consumers_take_bf16(req, 0);
  };
  Node fused = conv("f", {"x2", "w", "", "y"}, "z");
  fused.domain = "ai.nnaccel";
  fused.op_type = "FusedConv";
  Node weights_reader = conv("g", {"x2", "y"}, "z");
  EXPECT_TRUE(takes({conv("d", {"y", "w"}, "z")}, "z", Precision::bf16));
  EXPECT_FALSE(takes({conv("d", {"y", "w"}, "z")}, "z", Precision::fp32));
  EXPECT_TRUE(takes({fused}, "z", Precision::bf16));  // the residual z
  EXPECT_FALSE(takes({weights_reader}, "z", Precision::bf16));
  EXPECT_TRUE(takes({op("MaxPool", "y", "p"), conv("d", {"p", "w"}, "z")}, "z", Precision::bf16));
  EXPECT_FALSE(takes({op("MaxPool", "y", "p"), op("Relu", "p", "z")}, "z", Precision::bf16));
  EXPECT_FALSE(takes({op("Relu", "y", "z")}, "z", Precision::bf16));
  EXPECT_FALSE(takes({conv("d", {"y", "w"}, "z")}, "y", Precision::bf16));  // y is an output
}

// A residual CNN in bf16 passes bf16 values between its convolutions and stays within 2% of fp32
// (measured: 5.0e-3 relative L2).
TEST(CompiledSession, Bf16ResidualCnnKeepsBf16BetweenConvolutions) {
  if (!dnnl_kernels::cpu_has_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  ClassifierSpec spec;
  spec.arch = "resnet-s";
  spec.seed = 5;
  const Model m = build_classifier(spec);
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  Tensor x(DType::f32, {4, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng);
  const std::string name = m.graph.inputs[0].name;
  const Tensor fp32 = Session(m).run({{name, x}})[0];
  SessionOptions o;
  o.precision = PrecisionMode::bf16;
  o.profile = true;
  Session s(m, o);
  const Tensor got = s.run({{name, x}})[0];
  EXPECT_LT(rel_l2(got, fp32), 2e-2);
  int bf16_in = 0;
  for (const NodeTiming& t : s.profile()) bf16_in += t.kernel.find(" bf16->") != std::string::npos;
  EXPECT_GE(bf16_in, 3);
}

}  // namespace
}  // namespace nnaccel

namespace nnaccel {
namespace {

// A convolution whose output the next convolution reads blocked and an If branch reads from the
// outer scope: the branch must see the plain values (the plan converts for it), so the fast path
// gives the reference interpreter's output in both branches.
TEST(CompiledSession, AValueReadBlockedAndInsideAnIfBranchReachesTheBranchPlain) {
  auto node = [](std::string op, std::vector<std::string> in, std::vector<std::string> out) {
    std::string name = out[0];  // before `out` is moved
    return Node::of(std::move(op), std::move(name), std::move(in), std::move(out));
  };
  Model m;
  m.opsets[""] = kCanonicalOpset;
  const Shape s = {2, 16, 7, 5};  // ragged spatial sizes
  m.graph.inputs = {ValueInfo{"x", TypeInfo::of(DType::f32, s), ""},
                    ValueInfo{"c", TypeInfo::of(DType::boolean, {}), ""}};
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 0.2f);
  for (const char* w : {"w1", "w2"}) {
    Tensor t(DType::f32, {16, 16, 3, 3});
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
    m.graph.initializers[w] = t;
  }
  auto then_g = std::make_shared<Graph>();
  then_g->nodes = {node("Relu", {"y"}, {"t"})};
  then_g->outputs = {ValueInfo{"t", {}, ""}};
  auto else_g = std::make_shared<Graph>();
  else_g->nodes = {node("Neg", {"y"}, {"e"})};
  else_g->outputs = {ValueInfo{"e", {}, ""}};
  Node conv1 = node("Conv", {"x", "w1"}, {"y"}), conv2 = node("Conv", {"y", "w2"}, {"z"});
  for (Node* c : {&conv1, &conv2}) c->set_attr(Attribute::of_ints("pads", {1, 1, 1, 1}));
  Node if_node = node("If", {"c"}, {"b"});
  if_node.attrs = {Attribute::of_graph("then_branch", then_g),
                   Attribute::of_graph("else_branch", else_g)};
  m.graph.nodes = {conv1, conv2, if_node};
  m.graph.outputs = {ValueInfo{"z", {}, ""}, ValueInfo{"b", {}, ""}};
  Tensor x(DType::f32, s);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = d(rng) * 5;
  SessionOptions reference;
  reference.fast = false;
  Session fast(m), oracle(m, reference);
  for (bool branch : {true, false}) {
    Tensor c(DType::boolean, {});
    c.data<uint8_t>()[0] = branch ? 1 : 0;
    const std::vector<Tensor> got = fast.run({{"x", x}, {"c", c}});
    const std::vector<Tensor> want = oracle.run({{"x", x}, {"c", c}});
    ASSERT_EQ(got.size(), 2u);
    EXPECT_LT(rel_l2(got[0], want[0]), 1e-5) << "z, branch " << branch;
    EXPECT_LT(rel_l2(got[1], want[1]), 1e-5) << "b, branch " << branch;
  }
}

}  // namespace
}  // namespace nnaccel
