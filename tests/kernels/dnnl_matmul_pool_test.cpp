// oneDNN MatMul / FusedMatMul / Gemm / FusedGemm and the pools against the reference kernels.
#include <gtest/gtest.h>

#include "core/parallel.hpp"
#include "kernels/dnnl/dnnl_factories.hpp"
#include "kernels/dnnl_test_util.hpp"

namespace nnaccel::testing {
namespace {

using dnnl_kernels::channel_block;

TEST(DnnlMatMul, BatchedBroadcastConstantAndRuntimeB) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{5, 7}, {7, 9}},         {{3, 17, 33}, {33, 19}},    {{2, 1, 5, 7}, {3, 7, 9}},
      {{4, 6, 16}, {4, 16, 6}}, {{1, 64, 128}, {128, 100}}, {{2, 3, 5, 7}, {7, 9}},
  };
  uint32_t seed = 1;
  for (const auto& [as, bs] : cases) {
    Tensor a = random_f32(as, seed++), b = random_f32(bs, seed++);
    Tensor want = run_op(make_node("MatMul", 2, 1), {a, b})[0];
    for (bool b_const : {true, false}) {
      DnnlRun r = run_dnnl({make_node("MatMul", 2, 1), {a, b}, {false, b_const}, {}}, want.shape());
      SCOPED_TRACE(shape_str(as) + " x " + shape_str(bs) + (b_const ? " const" : " runtime"));
      ASSERT_NE(r.kernel, nullptr);
      EXPECT_LT(relative_l2(r.plain, want), 1e-5) << r.kernel->name();
      EXPECT_EQ(r.kernel->owns_constant(1), b_const);
    }
  }
}

TEST(DnnlMatMul, DeclinesVectorOperands) {
  Tensor a = random_f32({7}, 1), b = random_f32({7, 3}, 2);
  Tensor want = run_op(make_node("MatMul", 2, 1), {a, b})[0];
  EXPECT_EQ(run_dnnl({make_node("MatMul", 2, 1), {a, b}, {false, true}, {}}, want.shape()).kernel,
            nullptr);
}

TEST(DnnlFusedMatMul, BiasAndEveryActivation) {
  Tensor a = random_f32({2, 9, 33}, 5), b = random_f32({33, 17}, 6);
  Tensor bias = random_f32({17}, 7);
  Tensor mm = run_op(make_node("MatMul", 2, 1), {a, b})[0];
  for (const auto& [act, params] : all_activations()) {
    for (bool has_bias : {false, true}) {
      Node n = make_node("FusedMatMul", has_bias ? 3 : 2, 1, with_activation({}, act, params));
      n.domain = "ai.nnaccel";
      std::vector<Tensor> ins = {a, b};
      if (has_bias) ins.push_back(bias);
      Tensor want = run_op(n, ins)[0];
      DnnlRun r = run_dnnl({n, ins, {false, true, true}, {}}, mm.shape());
      SCOPED_TRACE(act + (has_bias ? " bias" : ""));
      ASSERT_NE(r.kernel, nullptr);
      EXPECT_LT(relative_l2(r.plain, want), 1e-5) << r.kernel->name();
    }
  }
}

TEST(DnnlGemm, TransposesAlphaBetaAndBiasShapes) {
  const int64_t m = 7, k = 19, n = 13;
  const std::vector<Shape> c_shapes = {{}, {n}, {1, n}, {m, 1}, {m, n}, {1}};
  uint32_t seed = 20;
  for (int trans_a = 0; trans_a < 2; ++trans_a) {
    for (int trans_b = 0; trans_b < 2; ++trans_b) {
      Tensor a = random_f32(trans_a ? Shape{k, m} : Shape{m, k}, seed++);
      Tensor b = random_f32(trans_b ? Shape{n, k} : Shape{k, n}, seed++);
      for (const Shape& cs : c_shapes) {
        for (auto [alpha, beta] : {std::pair{1.0f, 1.0f}, {0.5f, 1.0f}, {1.0f, -2.0f}}) {
          std::vector<Attribute> attrs = {
              Attribute::of_int("transA", trans_a), Attribute::of_int("transB", trans_b),
              Attribute::of_float("alpha", alpha), Attribute::of_float("beta", beta)};
          Tensor c = random_f32(cs, seed++);
          Tensor want = run_op(make_node("Gemm", 3, 1, attrs), {a, b, c})[0];
          for (bool c_const : {true, false}) {
            DnnlRun r =
                run_dnnl({make_node("Gemm", 3, 1, attrs), {a, b, c}, {false, true, c_const}, {}},
                         want.shape());
            SCOPED_TRACE(fmt::format("tA {} tB {} C {} alpha {} beta {} c_const {}", trans_a,
                                     trans_b, shape_str(cs), alpha, beta, c_const));
            // A run-time C with beta != 1 is the reference's.
            if (beta != 1.0f && !c_const) {
              EXPECT_EQ(r.kernel, nullptr);
              continue;
            }
            // A run-time C broadcast along N may be the reference's (oneDNN's optimized
            // matmuls broadcast only along M); a constant one is expanded once.
            if (!c_const && r.kernel == nullptr && cs.size() == 2 && cs[1] == 1 && n > 1) continue;
            ASSERT_NE(r.kernel, nullptr);
            EXPECT_LT(relative_l2(r.plain, want), 1e-5) << r.kernel->name();
          }
        }
      }
    }
  }
}

TEST(DnnlFusedGemm, Activation) {
  Tensor a = random_f32({5, 24}, 41), b = random_f32({10, 24}, 42), c = random_f32({10}, 43);
  std::vector<Attribute> attrs = {Attribute::of_int("transB", 1)};
  Tensor gemm = run_op(make_node("Gemm", 3, 1, attrs), {a, b, c})[0];
  for (const auto& [act, params] : all_activations()) {
    Node n = make_node("FusedGemm", 3, 1, with_activation(attrs, act, params));
    n.domain = "ai.nnaccel";
    Tensor want = run_op(n, {a, b, c})[0];
    DnnlRun r = run_dnnl({n, {a, b, c}, {false, true, true}, {}}, gemm.shape());
    ASSERT_NE(r.kernel, nullptr) << act;
    EXPECT_LT(relative_l2(r.plain, want), 1e-5) << act << " " << r.kernel->name();
  }
}

TEST(DnnlMatMul, Bf16CloseToFp32) {
  if (!dnnl_kernels::cpu_has_bf16()) GTEST_SKIP() << "no native bf16 here (fp32 is kept)";
  Tensor a = random_f32({3, 31, 96}, 51), b = random_f32({96, 47}, 52);
  Tensor want = run_op(make_node("MatMul", 2, 1), {a, b})[0];
  for (bool b_const : {true, false}) {
    DnnlCase c{make_node("MatMul", 2, 1), {a, b}, {false, b_const}, {}, false, Precision::bf16};
    DnnlRun r = run_dnnl(c, want.shape());
    ASSERT_NE(r.kernel, nullptr);
    EXPECT_NE(r.kernel->name().find("bf16"), std::string::npos) << r.kernel->name();
    const double err = relative_l2(r.plain, want);
    EXPECT_LT(err, 1e-2);
    EXPECT_GT(err, 1e-6);
  }
}

struct PoolCase {
  std::string op;
  Shape x;
  std::vector<Attribute> attrs;
};

TEST(DnnlPool, MatchesReferencePlainAndBlocked) {
  const std::vector<PoolCase> cases = {
      {"MaxPool",
       {1, 17, 11, 12},
       {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("strides", {2, 2}),
        Attribute::of_ints("pads", {1, 1, 1, 1})}},
      {"MaxPool",
       {2, 3, 10, 9},
       {Attribute::of_ints("kernel_shape", {3, 2}), Attribute::of_ints("strides", {2, 2}),
        Attribute::of_int("ceil_mode", 1)}},
      {"MaxPool",
       {1, 20, 12, 12},
       {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("dilations", {2, 2})}},
      {"AveragePool",
       {1, 33, 9, 9},
       {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("pads", {1, 1, 1, 1}),
        Attribute::of_int("count_include_pad", 1)}},
      {"AveragePool",
       {1, 33, 9, 9},
       {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("strides", {2, 2}),
        Attribute::of_ints("pads", {1, 0, 1, 0})}},
      {"AveragePool",
       {1, 5, 10, 11},
       {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("strides", {2, 2}),
        Attribute::of_int("ceil_mode", 1)}},
      {"MaxPool", {2, 9, 23}, {Attribute::of_ints("kernel_shape", {4})}},
      {"GlobalAveragePool", {2, 17, 7, 5}, {}},
      {"GlobalMaxPool", {1, 40, 6, 6}, {}},
      {"GlobalAveragePool", {1, 9, 4, 3, 5}, {}},
  };
  uint32_t seed = 60;
  for (const PoolCase& pc : cases) {
    Tensor x = random_f32(pc.x, seed++);
    Tensor want = run_op(make_node(pc.op, 1, 1, pc.attrs), {x})[0];
    for (int64_t in_block : {int64_t{0}, channel_block()}) {
      DnnlRun r = run_dnnl({make_node(pc.op, 1, 1, pc.attrs), {x}, {false}, {in_block}, true},
                           want.shape());
      SCOPED_TRACE(pc.op + " " + shape_str(pc.x) + " in_block " + std::to_string(in_block));
      // Dilated pooling on blocked input has only oneDNN's reference kernel: declined.
      if (in_block != 0 && pc.attrs.size() > 1 && pc.attrs[1].name == "dilations") {
        EXPECT_EQ(r.kernel, nullptr);
        continue;
      }
      ASSERT_NE(r.kernel, nullptr);
      EXPECT_EQ(r.out.block, in_block);
      EXPECT_LT(relative_l2(r.plain, want), 1e-6) << r.kernel->name();
      EXPECT_TRUE(r.padding_zero) << r.kernel->name();
    }
  }
}

TEST(DnnlPool, CeilModeWithCountIncludePadIsTheReferences) {
  // ceil_mode adds right padding that count_include_pad must not count: oneDNN cannot say that.
  std::vector<Attribute> attrs = {
      Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("strides", {2, 2}),
      Attribute::of_int("ceil_mode", 1), Attribute::of_int("count_include_pad", 1)};
  Tensor x = random_f32({1, 4, 10, 10}, 70);
  Tensor want = run_op(make_node("AveragePool", 1, 1, attrs), {x})[0];
  EXPECT_EQ(
      run_dnnl({make_node("AveragePool", 1, 1, attrs), {x}, {false}, {}}, want.shape()).kernel,
      nullptr);
}

TEST(DnnlLayout, PlainBlockedRoundTripZeroPads) {
  Tensor x = random_f32({2, 19, 3, 5}, 80);
  for (int64_t block : {int64_t{8}, int64_t{16}}) {
    Tensor b = dnnl_kernels::reorder_plain_to_blocked(x, block);
    EXPECT_EQ(shape_str(b.shape()), shape_str({2, (19 + block - 1) / block, 3, 5, block}));
    // Channel c of element (n, h, w) sits at [n, c / block, h, w, c % block].
    EXPECT_EQ(b.data<float>()[((1 * b.dim(1) + 17 / block) * 15 + 2 * 5 + 4) * block + 17 % block],
              x.data<float>()[((1 * 19 + 17) * 3 + 2) * 5 + 4]);
    const float* p = b.data<float>();
    for (int64_t i = 0; i < b.numel(); ++i) {
      const int64_t ch = (i / block / 15) % b.dim(1) * block + i % block;
      if (ch >= 19) {
        ASSERT_EQ(p[i], 0.0f);
      }
    }
    Tensor back = dnnl_kernels::reorder_blocked_to_plain(b, x.shape(), block);
    EXPECT_EQ(relative_l2(back, x), 0.0);
  }
  EXPECT_THROW(dnnl_kernels::reorder_plain_to_blocked(random_f32({3, 4}, 1), 16), Error);
}

}  // namespace
}  // namespace nnaccel::testing

namespace nnaccel::testing {
namespace {

TEST(DnnlFactories, RestoreTheThreadCountTheyCreateWith) {
  // Primitives are created for the runs' thread count, and the caller's count is left as it was.
  const int before = thread_count();
  set_thread_count(1);
  Tensor a = random_f32({8, 16}, 90), b = random_f32({16, 4}, 91);
  Node n = make_node("MatMul", 2, 1);
  Graph g;
  g.nodes = {n};
  g.outputs = {ValueInfo{"out0", TypeInfo::of(DType::f32, {8, 4}), ""}};
  ValueDesc ad{DType::f32, a.shape()}, bd{DType::f32, b.shape()};
  CompileOptions opt;
  opt.threads = 2;
  KernelRequest req{g.nodes[0], g, {&ad, &bd}, {nullptr, &b}, {ValueDesc{DType::f32, {8, 4}}}, opt};
  EXPECT_NE(dnnl_kernels::make_dnnl_matmul(req), nullptr);
  EXPECT_EQ(thread_count(), 1);
  set_thread_count(before);
}

}  // namespace
}  // namespace nnaccel::testing
