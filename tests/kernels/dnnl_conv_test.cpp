// oneDNN Conv / FusedConv / ConvTranspose against the reference kernels, plain and blocked.
#include <gtest/gtest.h>

#include "kernels/dnnl/dnnl_factories.hpp"
#include "kernels/dnnl_test_util.hpp"

namespace nnaccel::testing {
namespace {

using dnnl_kernels::channel_block;

struct ConvGeom {
  Shape x;  // N, C, spatial...
  int64_t out_channels;
  std::vector<int64_t> kernel, strides, pads, dilations;
  int64_t group = 1;
};

std::vector<Attribute> conv_attrs(const ConvGeom& g) {
  std::vector<Attribute> a = {
      Attribute::of_ints("strides", g.strides), Attribute::of_ints("pads", g.pads),
      Attribute::of_ints("dilations", g.dilations), Attribute::of_int("group", g.group)};
  return a;
}

Tensor weights_for(const ConvGeom& g, uint32_t seed) {
  Shape ws = {g.out_channels, g.x[1] / g.group};
  ws.insert(ws.end(), g.kernel.begin(), g.kernel.end());
  return random_f32(ws, seed, -0.5f, 0.5f);
}

const std::vector<ConvGeom>& geometries() {
  static const std::vector<ConvGeom> g = {
      {{1, 3, 17, 19}, 17, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}},      // first-layer style
      {{2, 17, 9, 11}, 33, {3, 3}, {1, 1}, {1, 0, 2, 1}, {1, 1}},      // ragged channels
      {{1, 32, 8, 7}, 16, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}},       // pointwise
      {{1, 33, 10, 9}, 33, {3, 3}, {1, 2}, {1, 1, 1, 1}, {1, 1}, 33},  // depthwise
      {{1, 24, 9, 9}, 12, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 3},    // groups + dilation
      {{1, 16, 12, 12}, 32, {5, 3}, {2, 1}, {2, 1, 1, 1}, {1, 1}, 2},  // grouped, 16 a group
      {{2, 5, 23}, 7, {3}, {2}, {1, 1}, {1}},                          // 1-D
      {{1, 4, 5, 6, 7}, 9, {3, 3, 3}, {1, 2, 1}, {1, 1, 1, 1, 1, 1}, {1, 1, 1}},  // 3-D
  };
  return g;
}

Tensor reference_conv(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor& b) {
  return run_op(make_node("Conv", 3, 1, conv_attrs(g)), {x, w, b})[0];
}

TEST(DnnlConv, MatchesReferencePlainAndBlocked) {
  const int64_t block = channel_block();
  ASSERT_GT(block, 0) << "oneDNN needs AVX2 here";
  uint32_t seed = 1;
  for (const ConvGeom& g : geometries()) {
    Tensor x = random_f32(g.x, seed++);
    Tensor w = weights_for(g, seed++);
    Tensor b = random_f32({g.out_channels}, seed++);
    Tensor want = reference_conv(g, x, w, b);
    for (int64_t in_block : {int64_t{0}, block}) {
      for (bool blocked_reader : {false, true}) {
        DnnlCase c{make_node("Conv", 3, 1, conv_attrs(g)),
                   {x, w, b},
                   {false, true, true},
                   {in_block, 0, 0},
                   blocked_reader};
        DnnlRun r = run_dnnl(c, want.shape());
        SCOPED_TRACE(shape_str(g.x) + " in_block " + std::to_string(in_block) + " reader " +
                     std::to_string(blocked_reader));
        // The oneDNN kernel may decline a blocked input (the compiler then offers it plain),
        // but a plain one it takes.
        if (in_block == 0) {
          ASSERT_NE(r.kernel, nullptr);
        }
        if (r.kernel == nullptr) continue;
        EXPECT_LT(relative_l2(r.plain, want), 1e-5) << r.kernel->name();
        EXPECT_TRUE(r.padding_zero) << r.kernel->name();
        // Blocked output exactly when a blocked-taking reader is the only reader.
        if (!blocked_reader) {
          EXPECT_EQ(r.out.block, 0);
        }
        if (blocked_reader && g.x.size() == 4 && g.group == 1) {
          EXPECT_EQ(r.out.block, block);
        }
        EXPECT_TRUE(r.kernel->owns_constant(1));
        EXPECT_GT(r.kernel->packed_bytes(), 0u);
      }
    }
  }
}

// 3x3 stride-1 convolutions of >= 64 channels whose input and output outweigh the weights take
// Winograd where oneDNN has it (AVX-512), the others the direct kernel; both within the direct
// kernel's tolerance of the reference.
TEST(DnnlConv, WinogradFor3x3StrideOneWithManyChannels) {
  const ConvGeom wide = {{4, 64, 13, 11}, 80, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}};
  const ConvGeom narrow = {{2, 32, 11, 9}, 80, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}};
  const ConvGeom strided = {{2, 64, 11, 9}, 80, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}};
  // 64 * 80 * 9 weights, 2 * (64 + 80) * 4 * 4 values in and out.
  const ConvGeom weight_bound = {{2, 64, 4, 4}, 80, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}};
  uint32_t seed = 40;
  for (const auto& [g, wino] :
       {std::pair{wide, true}, {narrow, false}, {strided, false}, {weight_bound, false}}) {
    Tensor x = random_f32(g.x, seed++), w = weights_for(g, seed++);
    Tensor b = random_f32({g.out_channels}, seed++);
    Tensor want = reference_conv(g, x, w, b);
    DnnlRun r = run_dnnl({make_node("Conv", 3, 1, conv_attrs(g)),
                          {x, w, b},
                          {false, true, true},
                          {channel_block(), 0, 0},
                          true},
                         want.shape());
    ASSERT_NE(r.kernel, nullptr);
    SCOPED_TRACE(r.kernel->name());
    EXPECT_EQ(r.kernel->name().find("wino") != std::string::npos, wino && channel_block() == 16);
    EXPECT_LT(relative_l2(r.plain, want), 1e-5);
  }
}

TEST(DnnlConv, NoBiasAndRuntimeBias) {
  const ConvGeom g = geometries()[1];
  Tensor x = random_f32(g.x, 11), w = weights_for(g, 12), b = random_f32({g.out_channels}, 13);
  Tensor want_b = reference_conv(g, x, w, b);
  Tensor want_nob = run_op(make_node("Conv", 2, 1, conv_attrs(g)), {x, w})[0];
  DnnlRun nob = run_dnnl({make_node("Conv", 2, 1, conv_attrs(g)), {x, w}, {false, true}, {}},
                         want_nob.shape());
  ASSERT_NE(nob.kernel, nullptr);
  EXPECT_LT(relative_l2(nob.plain, want_nob), 1e-5);
  DnnlRun rb =
      run_dnnl({make_node("Conv", 3, 1, conv_attrs(g)), {x, w, b}, {false, true, false}, {}},
               want_b.shape());
  ASSERT_NE(rb.kernel, nullptr);
  EXPECT_FALSE(rb.kernel->owns_constant(2));
  EXPECT_LT(relative_l2(rb.plain, want_b), 1e-5);
}

TEST(DnnlConv, DeclinesRuntimeWeights) {
  const ConvGeom g = geometries()[0];
  Tensor x = random_f32(g.x, 1), w = weights_for(g, 2);
  Tensor want = run_op(make_node("Conv", 2, 1, conv_attrs(g)), {x, w})[0];
  EXPECT_EQ(
      run_dnnl({make_node("Conv", 2, 1, conv_attrs(g)), {x, w}, {false, false}, {}}, want.shape())
          .kernel,
      nullptr);
}

TEST(DnnlConv, AutoPadSame) {
  Tensor x = random_f32({1, 5, 9, 8}, 3), w = random_f32({6, 5, 3, 3}, 4);
  std::vector<Attribute> attrs = {Attribute::of_string("auto_pad", "SAME_LOWER"),
                                  Attribute::of_ints("strides", {2, 2})};
  Tensor want = run_op(make_node("Conv", 2, 1, attrs), {x, w})[0];
  DnnlRun r = run_dnnl({make_node("Conv", 2, 1, attrs), {x, w}, {false, true}, {}}, want.shape());
  ASSERT_NE(r.kernel, nullptr);
  EXPECT_LT(relative_l2(r.plain, want), 1e-5);
}

Node fused_conv(const ConvGeom& g, int inputs, const std::string& act, std::vector<float> p) {
  Node n = make_node("FusedConv", inputs, 1, with_activation(conv_attrs(g), act, std::move(p)));
  n.domain = "ai.nnaccel";
  return n;
}

TEST(DnnlFusedConv, EveryActivationWithAndWithoutResidual) {
  const int64_t block = channel_block();
  const ConvGeom g = {{1, 17, 9, 10}, 19, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}};
  Tensor x = random_f32(g.x, 21), w = weights_for(g, 22), b = random_f32({19}, 23);
  Tensor conv = reference_conv(g, x, w, b);
  Tensor z = random_f32(conv.shape(), 24, -2, 2);
  for (const auto& [act, params] : all_activations()) {
    for (bool with_z : {false, true}) {
      for (int64_t z_block : {int64_t{0}, block}) {
        if (!with_z && z_block != 0) continue;
        for (bool blocked_reader : {false, true}) {
          Node n = fused_conv(g, with_z ? 4 : 3, act, params);
          std::vector<Tensor> ins = {x, w, b};
          if (with_z) ins.push_back(z);
          Tensor want = run_op(n, ins)[0];
          DnnlRun r =
              run_dnnl({n, ins, {false, true, true, false}, {block, 0, 0, z_block}, blocked_reader},
                       conv.shape());
          SCOPED_TRACE(act + (with_z ? " Z" : "") + " z_block " + std::to_string(z_block) +
                       " reader " + std::to_string(blocked_reader));
          ASSERT_NE(r.kernel, nullptr);
          EXPECT_LT(relative_l2(r.plain, want), 1e-5) << r.kernel->name();
          EXPECT_TRUE(r.padding_zero) << r.kernel->name();
          if (with_z) {
            const bool direct = r.kernel->name().find("via reorder") == std::string::npos;
            EXPECT_EQ(r.kernel->inplace_input(0), z_block == r.out.block && direct ? 3 : -1);
          }
        }
      }
    }
  }
}

TEST(DnnlFusedConv, ResidualAliasedWithOutput) {
  // When the compiler aliases Z with the output, the kernel reads Z from the output buffer.
  const int64_t block = channel_block();
  const ConvGeom g = {{1, 16, 6, 6}, 24, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}};
  Tensor x = random_f32(g.x, 31), w = weights_for(g, 32), b = random_f32({24}, 33);
  Tensor conv = reference_conv(g, x, w, b);
  Tensor z = random_f32(conv.shape(), 34);
  Node n = fused_conv(g, 4, "Relu", {});
  Tensor want = run_op(n, {x, w, b, z})[0];
  Graph graph;
  graph.nodes = {n};
  graph.outputs = {ValueInfo{"out0", TypeInfo::of(DType::f32, conv.shape()), ""}};
  graph.initializers = {{"in1", w}, {"in2", b}};
  ValueDesc xd{DType::f32, x.shape()}, wd{DType::f32, w.shape()}, bd{DType::f32, b.shape()},
      zd{DType::f32, z.shape(), true, block};
  CompileOptions opt;
  KernelRequest req{graph.nodes[0],
                    graph,
                    {&xd, &wd, &bd, &zd},
                    {nullptr, &w, &b, nullptr},
                    {ValueDesc{DType::f32, conv.shape()}},
                    opt};
  // The output is a graph output, so plain: Z (blocked) must be converted, not aliased.
  auto k = dnnl_kernels::make_dnnl_conv(req);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->inplace_input(0), -1);
  // Now toward a reader that takes blocked values: blocked output, Z aliasable.
  Node pool = make_node("MaxPool", 1, 1, {Attribute::of_ints("kernel_shape", {1, 1})});
  pool.inputs = {"out0"};
  pool.outputs = {"pool_out"};
  Graph graph2 = graph;
  graph2.nodes.push_back(pool);
  graph2.outputs = {ValueInfo{"pool_out", TypeInfo::of(DType::f32, conv.shape()), ""}};
  KernelRequest req2{graph2.nodes[0],
                     graph2,
                     req.inputs,
                     req.constants,
                     {ValueDesc{DType::f32, conv.shape()}},
                     opt};
  k = dnnl_kernels::make_dnnl_conv(req2);
  ASSERT_NE(k, nullptr);
  ASSERT_EQ(req2.outputs[0].block, block);
  ASSERT_EQ(k->inplace_input(0), 3);
  Tensor zb = dnnl_kernels::reorder_plain_to_blocked(z, block);
  std::vector<const Tensor*> ins = {&x, &w, &b, &zb};
  std::vector<Tensor> outs = {zb};  // shares storage with the Z input
  k->run(ins, outs);
  EXPECT_LT(relative_l2(dnnl_kernels::reorder_blocked_to_plain(zb, conv.shape(), block), want),
            1e-5);
}

TEST(DnnlConvTranspose, MatchesReference) {
  struct Case {
    Shape x;
    Shape w;
    std::vector<Attribute> attrs;
  };
  const std::vector<Case> cases = {
      {{1, 5, 7, 6}, {5, 3, 3, 3}, {Attribute::of_ints("strides", {2, 2})}},
      {{2, 8, 5, 5},
       {8, 3, 4, 4},
       {Attribute::of_ints("strides", {2, 2}), Attribute::of_ints("pads", {1, 1, 1, 1}),
        Attribute::of_int("group", 2)}},
      {{1, 17, 6, 5},
       {17, 6, 3, 3},
       {Attribute::of_ints("strides", {2, 3}), Attribute::of_ints("pads", {1, 0, 0, 1}),
        Attribute::of_ints("output_padding", {1, 2})}},
      {{1, 4, 9}, {4, 5, 3}, {Attribute::of_ints("dilations", {2})}},
  };
  uint32_t seed = 40;
  for (const Case& cs : cases) {
    Tensor x = random_f32(cs.x, seed++), w = random_f32(cs.w, seed++);
    Node n = make_node("ConvTranspose", 3, 1, cs.attrs);
    Tensor b = random_f32({cs.w[1] * n.attr_int("group", 1)}, seed++);
    Tensor want = run_op(n, {x, w, b})[0];
    for (int64_t in_block : {int64_t{0}, channel_block()}) {
      DnnlRun r = run_dnnl({n, {x, w, b}, {false, true, true}, {in_block}, true}, want.shape());
      SCOPED_TRACE(shape_str(cs.x) + " in_block " + std::to_string(in_block));
      if (in_block == 0) {
        ASSERT_NE(r.kernel, nullptr);
      }
      if (r.kernel == nullptr) continue;
      EXPECT_LT(relative_l2(r.plain, want), 1e-5) << r.kernel->name();
      EXPECT_TRUE(r.padding_zero);
    }
  }
}

TEST(DnnlConv, Bf16CloseToFp32) {
  if (!dnnl_kernels::cpu_has_bf16()) GTEST_SKIP() << "no native bf16 here (fp32 is kept)";
  const ConvGeom g = {{2, 33, 14, 13}, 40, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}};
  Tensor x = random_f32(g.x, 51), w = weights_for(g, 52), b = random_f32({40}, 53);
  Tensor want = reference_conv(g, x, w, b);
  for (bool blocked_reader : {false, true}) {
    DnnlCase c{make_node("Conv", 3, 1, conv_attrs(g)),
               {x, w, b},
               {false, true, true},
               {},
               blocked_reader,
               Precision::bf16};
    DnnlRun r = run_dnnl(c, want.shape());
    ASSERT_NE(r.kernel, nullptr);
    EXPECT_NE(r.kernel->name().find("bf16"), std::string::npos) << r.kernel->name();
    const double err = relative_l2(r.plain, want);
    EXPECT_LT(err, 1e-2);
    EXPECT_GT(err, 1e-6) << "bf16 should not be exact";  // it really ran in bf16
  }
}

}  // namespace
}  // namespace nnaccel::testing
