// The simd binary arithmetic, ElementwiseChain and BatchNormalization kernels against the
// reference, for each supported broadcast pattern, and the patterns they must decline.
#include "kernels/simd/simd_api.hpp"
#include "kernels/simd_test_util.hpp"
#include "ops/elementwise_chain.hpp"

namespace nnaccel::testing {
namespace {

struct Pattern {
  Shape a, b;
};

// Same shape, scalar on either side, trailing vector/block, per-channel, ragged sizes.
const std::vector<Pattern> kPatterns = {
    {{1003}, {1003}},
    {{17}, {17}},
    {{3, 5, 33}, {}},
    {{1}, {15}},
    {{7}, {1}},
    {{4, 1003}, {1003}},
    {{2, 3, 17}, {3, 17}},
    {{2, 3, 4, 5}, {3, 1, 1}},
    {{2, 3, 4, 5}, {1, 3, 1, 1}},
    {{2, 6, 7}, {6, 1}},
    {{3, 1}, {2, 3, 7}},
    {{130, 1031}, {130, 1031}},
    {{2, 9, 4, 7}, {9, 4, 1}},
};

TEST(SimdBinary, MatchesReferenceForEachPattern) {
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"}) {
    const Node node = make_node(op, 2, 1);
    for (size_t pi = 0; pi < kPatterns.size(); ++pi) {
      const Pattern& p = kPatterns[pi];
      const auto seed = static_cast<uint32_t>(pi * 2);
      const Tensor a = random_nonzero(p.a, seed, -50, 50);
      const Tensor b = random_nonzero(p.b, seed + 1, -50, 50);
      const Tensor want = run_op(node, {a, b})[0];
      const std::string what = std::string(op) + " " + shape_str(p.a) + " " + shape_str(p.b);
      std::vector<ValueDesc> outs;
      auto k = make_simd_kernel(node, {a, b}, {want.shape()}, outs);
      const bool expected = simd_on() && (p.a == want.shape() || p.b == want.shape());
      if (!expected) {
        EXPECT_EQ(k, nullptr) << what;
        continue;
      }
      ASSERT_NE(k, nullptr) << what;
      expect_close(run_kernel(*k, {a, b}, outs)[0], want, 1e-6f, 0, what);
    }
  }
}

TEST(SimdBinary, DeclinesGeneralBroadcast) {
  const Node node = make_node("Add", 2, 1);
  std::vector<ValueDesc> outs;
  // [3,1] + [1,4], and an operand broadcasting inside its extent ([3,1,5] over [3,4,5]).
  EXPECT_EQ(make_simd_kernel(node, {random_f32({3, 1}, 1), random_f32({1, 4}, 2)}, {{3, 4}}, outs),
            nullptr);
  EXPECT_EQ(make_simd_kernel(node, {random_f32({3, 4, 5}, 1), random_f32({3, 1, 5}, 2)},
                             {{3, 4, 5}}, outs),
            nullptr);
}

TEST(SimdBinary, PowWithConstantExponent) {
  const Node node = make_node("Pow", 2, 1);
  const Tensor x = random_nonzero({1003}, 9, 0.01f, 20);
  for (float e : {2.0f, 0.5f}) {
    Tensor exponent(DType::f32, {});
    exponent.data<float>()[0] = e;
    std::vector<ValueDesc> outs;
    auto k = make_simd_kernel(node, {x, exponent}, {x.shape()}, outs, {false, true});
    if (!simd_on()) {
      EXPECT_EQ(k, nullptr);
      continue;
    }
    ASSERT_NE(k, nullptr);
    expect_close(run_kernel(*k, {x, exponent}, outs)[0], run_op(node, {x, exponent})[0], 1e-6f, 0,
                 "Pow " + std::to_string(e));
    // Not a constant, or another exponent: the reference.
    EXPECT_EQ(make_simd_kernel(node, {x, exponent}, {x.shape()}, outs, {false, false}), nullptr);
  }
  Tensor three(DType::f32, {});
  three.data<float>()[0] = 3.0f;
  std::vector<ValueDesc> outs;
  EXPECT_EQ(make_simd_kernel(node, {x, three}, {x.shape()}, outs, {false, true}), nullptr);
}

TEST(SimdBinary, BlockedSameShapeOperands) {
  const Shape shape = {2, 21, 3, 3};
  const Tensor a = random_nonzero(shape, 1, -5, 5), b = random_nonzero(shape, 2, -5, 5);
  for (const char* op : {"Add", "Sub", "Mul", "Max", "Min"}) {
    const Node node = make_node(op, 2, 1);
    std::vector<ValueDesc> outs;
    auto k = make_simd_kernel(node, {a, b}, {shape}, outs, {}, {16, 16});
    if (!simd_on()) {
      EXPECT_EQ(k, nullptr);
      continue;
    }
    ASSERT_NE(k, nullptr) << op;
    ASSERT_EQ(outs[0].block, 16);
    const Tensor yb = run_kernel(*k, {to_blocked(a, 16), to_blocked(b, 16)}, outs)[0];
    expect_close(from_blocked(yb, shape, 16), run_op(node, {a, b})[0], 1e-6f, 0, op);
    expect_close(yb, to_blocked(from_blocked(yb, shape, 16), 16), 0, 0, "padding");
  }
  std::vector<ValueDesc> outs;
  // 0 / 0 would put NaN in the padding; mixed layouts need a reorder.
  EXPECT_EQ(make_simd_kernel(make_node("Div", 2, 1), {a, b}, {shape}, outs, {}, {16, 16}), nullptr);
  EXPECT_EQ(make_simd_kernel(make_node("Add", 2, 1), {a, b}, {shape}, outs, {}, {16, 0}), nullptr);
  EXPECT_EQ(make_simd_kernel(make_node("Add", 2, 1), {a, b}, {shape}, outs, {}, {8, 16}), nullptr);
}

// The operand's element for output flat index i under numpy broadcasting.
float broadcast_at(const Tensor& o, const Shape& out, int64_t i) {
  const Shape& s = o.shape();
  int64_t offset = 0, stride = 1;
  for (size_t d = out.size(); d-- > 0;) {
    const int64_t idx = i % out[d];
    i /= out[d];
    const size_t back = out.size() - 1 - d;
    if (back < s.size()) {
      const int64_t dim = s[s.size() - 1 - back];
      if (dim != 1) offset += idx * stride;
      stride *= dim;
    }
  }
  return o.data<float>()[offset];
}

Node chain_node(std::vector<std::string> steps, std::vector<float> params, int operands) {
  Node n = make_node("ElementwiseChain", 1 + operands, 1,
                     {Attribute::of_strings("steps", std::move(steps)),
                      Attribute::of_floats("params", std::move(params))});
  n.domain = "ai.nnaccel";
  return n;
}

// The chain's scalar semantics, element by element.
Tensor chain_reference(const Node& node, const std::vector<Tensor>& in) {
  const std::vector<ChainStep> steps = parse_elementwise_chain(node);
  Tensor y(DType::f32, in[0].shape());
  for (int64_t i = 0; i < y.numel(); ++i) {
    float v = in[0].data<float>()[i];
    for (const ChainStep& s : steps) {
      const float o = s.operand >= 0
                          ? broadcast_at(in[static_cast<size_t>(s.operand)], in[0].shape(), i)
                          : 0.0f;
      v = apply_chain_step(s, v, o);
    }
    y.data<float>()[i] = v;
  }
  return y;
}

TEST(SimdChain, MatchesScalarSemantics) {
  const Shape x_shape = {2, 6, 5, 33};
  const Tensor x = random_nonzero(x_shape, 1, -6, 6);
  const Tensor per_channel = random_nonzero({6, 1, 1}, 2, 0.5f, 2);
  const Tensor trailing = random_nonzero({33}, 3, -2, 2);
  const Tensor same = random_nonzero(x_shape, 4, -2, 2);
  Tensor scalar(DType::f32, {});
  scalar.data<float>()[0] = 1.5f;
  struct Case {
    std::vector<std::string> steps;
    std::vector<float> params;
    std::vector<Tensor> operands;
  };
  const std::vector<Case> cases = {
      {{"Mul", "Add", "Relu"}, {}, {per_channel, trailing}},
      {{"Add", "Gelu", "Mul"}, {}, {same, scalar}},
      {{"Sigmoid", "RSub", "Tanh", "RDiv"}, {}, {scalar, trailing}},
      {{"Clip", "LeakyRelu", "HardSigmoid", "Sub"}, {-2, 3, 0.2f, 0.3f, 0.4f}, {same}},
      {{"Abs", "Sqrt", "Log", "Exp", "Max", "Min"}, {}, {trailing, per_channel}},
      {{"Elu", "Softplus", "HardSwish", "GeluTanh", "Neg", "Erf", "Div"}, {0.8f}, {per_channel}},
      {{"Reciprocal", "Sub", "Add"}, {}, {same, same}},
  };
  for (const Case& c : cases) {
    const Node node = chain_node(c.steps, c.params, static_cast<int>(c.operands.size()));
    std::vector<Tensor> in = {x};
    for (const Tensor& o : c.operands) in.push_back(o);
    std::string what = "chain";
    for (const std::string& s : c.steps) what += " " + s;
    std::vector<ValueDesc> outs;
    auto k = make_simd_kernel(node, in, {x_shape}, outs);
    if (!simd_on()) {
      EXPECT_EQ(k, nullptr) << what;
      continue;
    }
    ASSERT_NE(k, nullptr) << what;
    const Tensor got = run_kernel(*k, in, outs)[0];
    expect_close(got, chain_reference(node, in), 2e-5f, 2e-6f, what);
    expect_close(got, run_op(node, in)[0], 2e-5f, 2e-6f, what + " vs reference op");
  }
}

TEST(SimdChain, PowAndDeclines) {
  const Tensor x = random_nonzero({4, 1003}, 1, 0.1f, 4);
  Tensor two(DType::f32, {});
  two.data<float>()[0] = 2.0f;
  const Node pow = chain_node({"Pow", "Add"}, {}, 2);
  const std::vector<Tensor> in = {x, two, random_nonzero({1003}, 2, -1, 1)};
  std::vector<ValueDesc> outs;
  auto k = make_simd_kernel(pow, in, {x.shape()}, outs, {false, true, false});
  if (!simd_on()) GTEST_SKIP() << "simd disabled by NNACCEL_MAX_ISA";
  ASSERT_NE(k, nullptr);
  expect_close(run_kernel(*k, in, outs)[0], chain_reference(pow, in), 1e-6f, 1e-7f, "Pow Add");
  // A run-time exponent, RPow, and an operand needing general broadcasting go to the reference.
  EXPECT_EQ(make_simd_kernel(pow, in, {x.shape()}, outs), nullptr);
  EXPECT_EQ(
      make_simd_kernel(chain_node({"RPow"}, {}, 1), {x, two}, {x.shape()}, outs, {false, true}),
      nullptr);
  EXPECT_EQ(
      make_simd_kernel(chain_node({"Add"}, {}, 1),
                       {random_f32({4, 3, 5}, 3), random_f32({4, 1, 5}, 4)}, {{4, 3, 5}}, outs),
      nullptr);
}

TEST(SimdChain, BlockedKeepsPaddingZero) {
  const Shape shape = {1, 20, 4, 3};
  const Tensor x = random_nonzero(shape, 1, -3, 3), o = random_nonzero(shape, 2, -3, 3);
  Tensor scalar(DType::f32, {});
  scalar.data<float>()[0] = 2.5f;
  const Node good = chain_node({"Add", "Relu", "Mul"}, {}, 2);  // (x + o) relu * 2.5: 0 -> 0
  std::vector<ValueDesc> outs;
  auto k = make_simd_kernel(good, {x, o, scalar}, {shape}, outs, {false, false, true}, {8, 8, 0});
  if (!simd_on()) GTEST_SKIP() << "simd disabled by NNACCEL_MAX_ISA";
  ASSERT_NE(k, nullptr);
  ASSERT_EQ(outs[0].block, 8);
  const Tensor yb = run_kernel(*k, {to_blocked(x, 8), to_blocked(o, 8), scalar}, outs)[0];
  expect_close(from_blocked(yb, shape, 8), chain_reference(good, {x, o, scalar}), 1e-6f, 0,
               "blocked chain");
  expect_close(yb, to_blocked(from_blocked(yb, shape, 8), 8), 0, 0, "padding");
  // x + 2.5 would fill the padding; a run-time scalar cannot be checked at compile time.
  const Node bad = chain_node({"Add"}, {}, 1);
  EXPECT_EQ(make_simd_kernel(bad, {x, scalar}, {shape}, outs, {false, true}, {8, 0}), nullptr);
  EXPECT_EQ(make_simd_kernel(good, {x, o, scalar}, {shape}, outs, {}, {8, 8, 0}), nullptr);
  // No padding channels (16 = 2 blocks of 8): x + 2.5 is fine.
  const Shape whole = {2, 16, 3, 5};
  const Tensor xw = random_nonzero(whole, 3, -3, 3);
  auto kw = make_simd_kernel(bad, {xw, scalar}, {whole}, outs, {false, true}, {8, 0});
  ASSERT_NE(kw, nullptr);
  ASSERT_EQ(outs[0].block, 8);
  const Tensor yw = run_kernel(*kw, {to_blocked(xw, 8), scalar}, outs)[0];
  expect_close(from_blocked(yw, whole, 8), chain_reference(bad, {xw, scalar}), 1e-6f, 0,
               "blocked chain without padding");
}

// x * sigmoid(x) as a chain reads X as an operand after the first step wrote y: y must not
// overwrite X. A single step reads both before writing, so Mul(x, x) may run in place.
TEST(SimdChain, InPlaceOnlyWhenSafe) {
  const Tensor x = random_nonzero({1003}, 1, -4, 4);
  Node swish = chain_node({"Sigmoid", "Mul"}, {}, 1);
  swish.inputs[1] = swish.inputs[0];
  std::vector<ValueDesc> outs;
  auto k = make_simd_kernel(swish, {x, x}, {x.shape()}, outs);
  if (!simd_on()) GTEST_SKIP() << "simd disabled by NNACCEL_MAX_ISA";
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->inplace_input(0), -1);
  expect_close(run_kernel(*k, {x, x}, outs)[0], chain_reference(swish, {x, x}), 1e-5f, 1e-7f,
               "swish");

  Node square = make_node("Mul", 2, 1);
  square.inputs[1] = square.inputs[0];
  auto m = make_simd_kernel(square, {x, x}, {x.shape()}, outs);
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->inplace_input(0), 0);
  const Tensor want = run_op(square, {x, x})[0];
  Tensor buffer(DType::f32, x.shape());
  std::copy(x.data<float>(), x.data<float>() + x.numel(), buffer.data<float>());
  std::vector<Tensor> out = {buffer};  // shares buffer's storage: y over x
  const Tensor* ins[] = {&buffer, &buffer};
  m->run(ins, out);
  expect_close(buffer, want, 1e-6f, 0, "Mul in place");
}

TEST(SimdBatchNorm, MatchesReference) {
  for (const Shape& shape : std::vector<Shape>{{2, 5, 7, 9}, {1, 3, 1003}, {4, 17}}) {
    const int64_t c = shape[1];
    const Tensor x = random_nonzero(shape, 1, -10, 10);
    const Tensor scale = random_nonzero({c}, 2, 0.5f, 2), bias = random_nonzero({c}, 3, -1, 1);
    const Tensor mean = random_nonzero({c}, 4, -1, 1), var = random_nonzero({c}, 5, 0.1f, 3);
    const Node node =
        make_node("BatchNormalization", 5, 1, {Attribute::of_float("epsilon", 1e-3f)});
    const std::vector<Tensor> in = {x, scale, bias, mean, var};
    std::vector<ValueDesc> outs;
    auto k = make_simd_kernel(node, in, {shape}, outs, {false, true, true, true, true});
    if (!simd_on()) {
      EXPECT_EQ(k, nullptr);
      continue;
    }
    ASSERT_NE(k, nullptr);
    expect_close(run_kernel(*k, in, outs)[0], run_op(node, in)[0], 1e-5f, 2e-6f,
                 "BatchNormalization " + shape_str(shape));
    // Statistics computed at run time: the reference.
    EXPECT_EQ(make_simd_kernel(node, in, {shape}, outs, {false, true, true, false, true}), nullptr);
  }
}

}  // namespace
}  // namespace nnaccel::testing

namespace nnaccel::testing {
namespace {

// Per-channel ([C,1,1], [1,C,1,1]) and per-(n, c) ([N,C,1,1], the squeeze-excitation scale)
// operands of a channel-blocked X stay blocked: padding channels meet zeros.
TEST(SimdBinary, BlockedPerChannelOperands) {
  for (int64_t block : {8, 16}) {
    for (const Shape& shape : std::vector<Shape>{{2, 19, 3, 5}, {2, 21, 40, 40}, {1, 8, 7}}) {
      const int64_t n = shape[0], c = shape[1];
      const Tensor x = random_nonzero(shape, 1, -5, 5);
      Shape ones(shape.size() - 2, 1);
      Shape per_c = {c}, per_nc = {n, c};
      per_c.insert(per_c.end(), ones.begin(), ones.end());
      per_nc.insert(per_nc.end(), ones.begin(), ones.end());
      for (const Shape& os : {per_c, per_nc}) {
        const Tensor o = random_nonzero(os, 2, 0.5f, 2);
        for (const char* op : {"Add", "Mul", "Sub", "Max"}) {
          const Node node = make_node(op, 2, 1);
          std::vector<ValueDesc> outs;
          auto k = make_simd_kernel(node, {x, o}, {shape}, outs, {}, {block, 0});
          const std::string what = std::string(op) + " " + shape_str(shape) + " by " +
                                   shape_str(os) + " b" + std::to_string(block);
          if (!simd_on()) {
            EXPECT_EQ(k, nullptr);
            continue;
          }
          ASSERT_NE(k, nullptr) << what;
          ASSERT_EQ(outs[0].block, block);
          const Tensor yb = run_kernel(*k, {to_blocked(x, block), o}, outs)[0];
          expect_close(from_blocked(yb, shape, block), run_op(node, {x, o})[0], 1e-6f, 0, what);
          expect_close(yb, to_blocked(from_blocked(yb, shape, block), block), 0, 0,
                       what + " padding");
        }
      }
    }
  }
}

TEST(SimdBatchNorm, BlockedInput) {
  const Shape shape = {2, 19, 5, 3};
  const int64_t c = shape[1];
  const Tensor x = random_nonzero(shape, 1, -10, 10);
  const Tensor scale = random_nonzero({c}, 2, 0.5f, 2), bias = random_nonzero({c}, 3, -1, 1);
  const Tensor mean = random_nonzero({c}, 4, -1, 1), var = random_nonzero({c}, 5, 0.1f, 3);
  const Node node = make_node("BatchNormalization", 5, 1);
  const std::vector<Tensor> in = {x, scale, bias, mean, var};
  std::vector<ValueDesc> outs;
  auto k =
      make_simd_kernel(node, in, {shape}, outs, {false, true, true, true, true}, {16, 0, 0, 0, 0});
  if (!simd_on()) GTEST_SKIP() << "simd disabled by NNACCEL_MAX_ISA";
  ASSERT_NE(k, nullptr);
  ASSERT_EQ(outs[0].block, 16);
  const Tensor yb = run_kernel(*k, {to_blocked(x, 16), scale, bias, mean, var}, outs)[0];
  expect_close(from_blocked(yb, shape, 16), run_op(node, in)[0], 1e-5f, 2e-6f, "blocked BN");
  expect_close(yb, to_blocked(from_blocked(yb, shape, 16), 16), 0, 0, "padding");
}

// The engine evaluated over arbitrary sub-ranges (as threads split it) equals one pass: runs,
// periods and patterns must restart correctly mid-way.
TEST(SimdEngine, AnySplitOfTheRangeGivesTheSameResult) {
  if (!simd_on()) GTEST_SKIP() << "simd disabled by NNACCEL_MAX_ISA";
  const int64_t n = 2 * 3 * 7 * 16;  // [2, 3 blocks, 7, 16]
  const Tensor x = random_nonzero({n}, 1, -3, 3);
  const Tensor per_channel = random_nonzero({2 * 48}, 2, -3, 3);  // [2, 48] padded
  const Tensor trailing = random_nonzero({17}, 3, -3, 3);
  const Tensor runs = random_nonzero({6}, 4, -3, 3);
  simd::EwProgram p;
  p.x = x.data<float>();
  p.operands = {simd::EwOperand{per_channel.data<float>(), 7 * 16, 3, 16, 48},
                simd::EwOperand{trailing.data<float>(), 1, 17, 0, 0},
                simd::EwOperand{runs.data<float>(), 7 * 16, 6, 0, 0}};
  p.steps = {simd::EwStep{ChainOp::add, 0, 0, 0}, simd::EwStep{ChainOp::mul, 1, 0, 0},
             simd::EwStep{ChainOp::sub, 2, 0, 0}};
  Tensor whole(DType::f32, {n}), pieces(DType::f32, {n});
  p.y = whole.data<float>();
  simd::eval_elementwise(p, 0, n);
  p.y = pieces.data<float>();
  const int64_t cuts[] = {0, 1, 9, 37, 100, 311, 500, n};
  for (size_t i = 0; i + 1 < std::size(cuts); ++i) simd::eval_elementwise(p, cuts[i], cuts[i + 1]);
  expect_close(pieces, whole, 0, 0, "pieces");
  // And the one pass matches the definition value(i) of each operand.
  for (int64_t i = 0; i < n; ++i) {
    const int64_t run = i / (7 * 16);
    const float pc = per_channel.data<float>()[(run / 3) * 48 + (run % 3) * 16 + i % 16];
    const float want =
        (x.data<float>()[i] + pc) * trailing.data<float>()[i % 17] - runs.data<float>()[run % 6];
    ASSERT_NEAR(whole.data<float>()[i], want, 1e-5f * (1 + std::fabs(want))) << i;
  }
}

}  // namespace
}  // namespace nnaccel::testing
