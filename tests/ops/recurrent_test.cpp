// LSTM, GRU and RNN against hand computations with hidden size 1, and structural identities
// (layout 1 is layout 0 transposed; reverse is forward on the reversed sequence).
#include <cmath>

#include "ops/op_test_util.hpp"

namespace nnaccel {
namespace {

using testing::make_node;
using testing::random_f32;
using testing::run_op;

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }


TEST(LSTM, OneStepMatchesHandComputationWithPeepholes) {
  // I = 1, H = 1: gate blocks i, o, f, c.
  const float x = 0.5f, wi = 0.1f, wo = 0.2f, wf = 0.3f, wc = 0.4f;
  const float ri = -0.5f, ro = 0.6f, rf = -0.7f, rc = 0.8f;
  const float bwi = 0.01f, bwo = 0.02f, bwf = 0.03f, bwc = 0.04f;
  const float bri = 0.05f, bro = -0.06f, brf = 0.07f, brc = -0.08f;
  const float pi = 0.9f, po = -0.3f, pf = 0.2f, h0 = 0.25f, c0 = -0.4f;
  Node n = make_node("LSTM", 8, 3, {Attribute::of_int("hidden_size", 1)});
  auto out =
      run_op(n, {Tensor::from_f32({1, 1, 1}, {x}), Tensor::from_f32({1, 4, 1}, {wi, wo, wf, wc}),
                 Tensor::from_f32({1, 4, 1}, {ri, ro, rf, rc}),
                 Tensor::from_f32({1, 8}, {bwi, bwo, bwf, bwc, bri, bro, brf, brc}), Tensor{},
                 Tensor::from_f32({1, 1, 1}, {h0}), Tensor::from_f32({1, 1, 1}, {c0}),
                 Tensor::from_f32({1, 3}, {pi, po, pf})});
  const double i = sigmoid(x * wi + h0 * ri + bwi + bri + pi * c0);
  const double f = sigmoid(x * wf + h0 * rf + bwf + brf + pf * c0);
  const double g = std::tanh(x * wc + h0 * rc + bwc + brc);
  const double c = f * c0 + i * g;
  const double o = sigmoid(x * wo + h0 * ro + bwo + bro + po * c);
  const double h = o * std::tanh(c);
  ASSERT_EQ(out[0].shape(), (Shape{1, 1, 1, 1}));
  EXPECT_NEAR(out[0].data<float>()[0], h, 1e-6);
  EXPECT_NEAR(out[1].data<float>()[0], h, 1e-6);
  EXPECT_NEAR(out[2].data<float>()[0], c, 1e-6);

  // input_forget couples the forget gate to the input gate: f = 1 - i.
  Node nf = make_node("LSTM", 8, 3, {Attribute::of_int("hidden_size", 1), Attribute::of_int("input_forget", 1)});
  auto cf =
      run_op(nf, {Tensor::from_f32({1, 1, 1}, {x}), Tensor::from_f32({1, 4, 1}, {wi, wo, wf, wc}),
                  Tensor::from_f32({1, 4, 1}, {ri, ro, rf, rc}),
                  Tensor::from_f32({1, 8}, {bwi, bwo, bwf, bwc, bri, bro, brf, brc}), Tensor{},
                  Tensor::from_f32({1, 1, 1}, {h0}), Tensor::from_f32({1, 1, 1}, {c0}),
                  Tensor::from_f32({1, 3}, {pi, po, pf})});
  EXPECT_NEAR(cf[2].data<float>()[0], (1 - i) * c0 + i * g, 1e-6);
}

TEST(GRU, LinearBeforeResetChangesWhereTheResetGateApplies) {
  const double x = 0.7, wz = 0.3, wr = -0.2, wh = 0.5, rz = 0.4, rr = 0.6, rh = -0.9;
  const double bwh = 0.1, brh = 0.3, h0 = 0.5;
  auto run = [&](int lbr) {
    Node n = make_node("GRU", 6, 2, {Attribute::of_int("hidden_size", 1), Attribute::of_int("linear_before_reset", lbr)});
    Tensor B =
        Tensor::from_f32({1, 6}, {0, 0, static_cast<float>(bwh), 0, 0, static_cast<float>(brh)});
    return run_op(n, {Tensor::from_f32({1, 1, 1}, {static_cast<float>(x)}),
                      Tensor::from_f32({1, 3, 1}, {float(wz), float(wr), float(wh)}),
                      Tensor::from_f32({1, 3, 1}, {float(rz), float(rr), float(rh)}), B, Tensor{},
                      Tensor::from_f32({1, 1, 1}, {float(h0)})});
  };
  const double z = sigmoid(x * wz + h0 * rz), r = sigmoid(x * wr + h0 * rr);
  const double ht0 = std::tanh(x * wh + (r * h0) * rh + brh + bwh);
  const double ht1 = std::tanh(x * wh + r * (h0 * rh + brh) + bwh);
  EXPECT_NEAR(run(0)[1].data<float>()[0], (1 - z) * ht0 + z * h0, 1e-6);
  EXPECT_NEAR(run(1)[1].data<float>()[0], (1 - z) * ht1 + z * h0, 1e-6);
}

TEST(RNN, BidirectionalWithSequenceLengths) {
  // W = R = 1, Relu: forward is a running sum, reverse a running sum from the end of each
  // sequence. Batch 0 has length 3, batch 1 length 2.
  Node n = make_node("RNN", 5, 2,
                     {Attribute::of_int("hidden_size", 1), Attribute::of_string("direction", "bidirectional"),
                      Attribute::of_strings("activations", {"Relu", "Relu"})});
  Tensor X = Tensor::from_f32({3, 2, 1}, {1, 10, 2, 20, 3, 30});
  Tensor W = Tensor::from_f32({2, 1, 1}, {1, 1}), R = Tensor::from_f32({2, 1, 1}, {1, 1});
  Tensor lens(DType::i32, {2});
  lens.data<int32_t>()[0] = 3;
  lens.data<int32_t>()[1] = 2;
  auto out = run_op(n, {X, W, R, Tensor{}, lens});
  ASSERT_EQ(out[0].shape(), (Shape{3, 2, 2, 1}));  // [seq, dirs, batch, hidden]
  // Y[t][d][b]: forward b0 1,3,6; b1 10,30,(0); reverse b0 6,5,3; b1 30,20,(0).
  EXPECT_EQ(out[0].to_f32_vector(), (std::vector<float>{1, 10, 6, 30, 3, 30, 5, 20, 6, 0, 3, 0}));
  // Y_h[d][b]: forward's last valid step, reverse's first position.
  EXPECT_EQ(out[1].to_f32_vector(), (std::vector<float>{6, 30, 6, 30}));
  // One activation list serves both directions.
  Node one = make_node("RNN", 5, 2,
                       {Attribute::of_int("hidden_size", 1), Attribute::of_string("direction", "bidirectional"),
                        Attribute::of_strings("activations", {"Relu"})});
  EXPECT_EQ(run_op(one, {X, W, R, Tensor{}, lens})[1].to_f32_vector(), out[1].to_f32_vector());
}

TEST(RNN, ActivationAlphaBetaAreConsumedInOrderAndClipApplies) {
  // GRU with f = HardSigmoid(alpha 0.3, beta 0.4), g = LeakyRelu(alpha 0.1): alphas are read in
  // order by the activations that take them, betas likewise.
  Node n = make_node(
      "GRU", 3, 2,
      {Attribute::of_int("hidden_size", 1), Attribute::of_strings("activations", {"HardSigmoid", "LeakyRelu"}),
       Attribute::of_floats("activation_alpha", {0.3f, 0.1f}), Attribute::of_floats("activation_beta", {0.4f})});
  const double x = -1, wz = 1, wr = 0.5, wh = 2;
  auto out = run_op(n, {Tensor::from_f32({1, 1, 1}, {float(x)}),
                        Tensor::from_f32({1, 3, 1}, {float(wz), float(wr), float(wh)}),
                        Tensor::from_f32({1, 3, 1}, {0, 0, 0})});
  const double z = std::clamp(0.3 * x * wz + 0.4, 0.0, 1.0);
  const double ht = 0.1 * (x * wh);  // LeakyRelu of a negative value
  EXPECT_NEAR(out[1].data<float>()[0], (1 - z) * ht, 1e-6);

  // Sigmoid takes no alpha, so ScaledTanh gets alpha 2 and beta 0.5.
  Node st =
      make_node("GRU", 3, 2,
                {Attribute::of_int("hidden_size", 1), Attribute::of_strings("activations", {"Sigmoid", "ScaledTanh"}),
                 Attribute::of_floats("activation_alpha", {2}), Attribute::of_floats("activation_beta", {0.5f})});
  auto o2 = run_op(st, {Tensor::from_f32({1, 1, 1}, {float(x)}),
                        Tensor::from_f32({1, 3, 1}, {float(wz), float(wr), float(wh)}),
                        Tensor::from_f32({1, 3, 1}, {0, 0, 0})});
  const double z2 = sigmoid(x * wz);
  EXPECT_NEAR(o2[1].data<float>()[0], (1 - z2) * 2 * std::tanh(0.5 * x * wh), 1e-6);

  // RNN with Affine(2, 1) and clip 1.5: h = 2 * clamp(x, -1.5, 1.5) + 1.
  Node a = make_node("RNN", 3, 2,
                     {Attribute::of_int("hidden_size", 1), Attribute::of_strings("activations", {"Affine"}),
                      Attribute::of_floats("activation_alpha", {2}), Attribute::of_floats("activation_beta", {1}),
                      Attribute::of_float("clip", 1.5f)});
  auto y = run_op(a, {Tensor::from_f32({2, 1, 1}, {3, -0.5f}), Tensor::from_f32({1, 1, 1}, {1}),
                      Tensor::from_f32({1, 1, 1}, {0})});
  EXPECT_EQ(y[0].to_f32_vector(), (std::vector<float>{4, 0}));
}

// Transposes [seq, batch, ...] <-> [batch, seq, ...] (first two dims).
Tensor swap01(const Tensor& t) {
  Shape s = t.shape();
  std::swap(s[0], s[1]);
  Tensor r(t.dtype(), s);
  int64_t inner = t.numel() / (s[0] * s[1]);
  for (int64_t a = 0; a < t.dim(0); ++a)
    for (int64_t b = 0; b < t.dim(1); ++b)
      for (int64_t i = 0; i < inner; ++i)
        r.data<float>()[(b * t.dim(0) + a) * inner + i] =
            t.data<float>()[(a * t.dim(1) + b) * inner + i];
  return r;
}

TEST(LSTM, Layout1IsLayout0Transposed) {
  const int64_t S = 4, Bt = 3, I = 5, H = 2;
  Tensor X = random_f32({S, Bt, I}, 10), W = random_f32({2, 4 * H, I}, 11),
         R = random_f32({2, 4 * H, H}, 12), B = random_f32({2, 8 * H}, 13),
         h0 = random_f32({2, Bt, H}, 14), c0 = random_f32({2, Bt, H}, 15);
  std::vector<Attribute> attrs = {Attribute::of_int("hidden_size", H), Attribute::of_string("direction", "bidirectional")};
  auto y0 = run_op(make_node("LSTM", 7, 3, attrs), {X, W, R, B, Tensor{}, h0, c0});
  attrs.push_back(Attribute::of_int("layout", 1));
  auto y1 = run_op(make_node("LSTM", 7, 3, attrs),
                   {swap01(X), W, R, B, Tensor{}, swap01(h0), swap01(c0)});
  // Y: [S, D, B, H] vs [B, S, D, H].
  ASSERT_EQ(y1[0].shape(), (Shape{Bt, S, 2, H}));
  for (int64_t t = 0; t < S; ++t)
    for (int64_t d = 0; d < 2; ++d)
      for (int64_t b = 0; b < Bt; ++b)
        for (int64_t h = 0; h < H; ++h)
          EXPECT_EQ(y0[0].data<float>()[((t * 2 + d) * Bt + b) * H + h],
                    y1[0].data<float>()[((b * S + t) * 2 + d) * H + h]);
  EXPECT_EQ(swap01(y0[1]).to_f32_vector(), y1[1].to_f32_vector());
  EXPECT_EQ(swap01(y0[2]).to_f32_vector(), y1[2].to_f32_vector());
}

TEST(GRU, ReverseIsForwardOnTheReversedSequenceAndDoubleWorks) {
  const int64_t S = 5, Bt = 2, I = 3, H = 4;
  Tensor X = random_f32({S, Bt, I}, 20), W = random_f32({1, 3 * H, I}, 21),
         R = random_f32({1, 3 * H, H}, 22);
  Tensor Xr(DType::f32, X.shape());
  for (int64_t t = 0; t < S; ++t)
    std::copy(X.data<float>() + (S - 1 - t) * Bt * I, X.data<float>() + (S - t) * Bt * I,
              Xr.data<float>() + t * Bt * I);
  auto fwd = run_op(make_node("GRU", 3, 2, {Attribute::of_int("hidden_size", H)}), {Xr, W, R});
  auto rev =
      run_op(make_node("GRU", 3, 2, {Attribute::of_int("hidden_size", H), Attribute::of_string("direction", "reverse")}),
             {X, W, R});
  for (int64_t i = 0; i < Bt * H; ++i)
    EXPECT_FLOAT_EQ(fwd[1].data<float>()[i], rev[1].data<float>()[i]);
  // Y of reverse at time t equals Y of forward-on-reversed at S - 1 - t.
  for (int64_t t = 0; t < S; ++t)
    for (int64_t i = 0; i < Bt * H; ++i)
      EXPECT_FLOAT_EQ(rev[0].data<float>()[t * Bt * H + i],
                      fwd[0].data<float>()[(S - 1 - t) * Bt * H + i]);

  // Double inputs give double outputs agreeing with float.
  auto to_f64 = [](const Tensor& t) {
    Tensor d(DType::f64, t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) d.data<double>()[i] = t.data<float>()[i];
    return d;
  };
  auto dbl = run_op(make_node("GRU", 3, 2, {Attribute::of_int("hidden_size", H)}),
                    {to_f64(Xr), to_f64(W), to_f64(R)});
  ASSERT_EQ(dbl[1].dtype(), DType::f64);
  for (int64_t i = 0; i < Bt * H; ++i)
    EXPECT_NEAR(dbl[1].data<double>()[i], fwd[1].data<float>()[i], 1e-5);
}

TEST(Recurrent, BadShapesAndAttributesAreErrors) {
  Tensor X = random_f32({2, 1, 3}, 1);
  Node n = make_node("RNN", 3, 1, {Attribute::of_int("hidden_size", 2)});
  EXPECT_THROW(run_op(n, {X, random_f32({1, 2, 4}, 2), random_f32({1, 2, 2}, 3)}), Error);  // W
  Node bad_dir =
      make_node("RNN", 3, 1, {Attribute::of_int("hidden_size", 2), Attribute::of_string("direction", "sideways")});
  EXPECT_THROW(run_op(bad_dir, {X, random_f32({1, 2, 3}, 2), random_f32({1, 2, 2}, 3)}), Error);
  Node bad_act =
      make_node("RNN", 3, 1, {Attribute::of_int("hidden_size", 2), Attribute::of_strings("activations", {"Gelu"})});
  EXPECT_THROW(run_op(bad_act, {X, random_f32({1, 2, 3}, 2), random_f32({1, 2, 2}, 3)}), Error);
  Tensor lens(DType::i32, {1});
  lens.data<int32_t>()[0] = 3;  // longer than the sequence
  EXPECT_THROW(run_op(make_node("RNN", 5, 1, {Attribute::of_int("hidden_size", 2)}),
                      {X, random_f32({1, 2, 3}, 2), random_f32({1, 2, 2}, 3), Tensor{}, lens}),
               Error);
}

TEST(Recurrent, ShapeFunction) {
  const OpSchema* s = OpRegistry::instance().find("", "LSTM");
  ASSERT_NE(s, nullptr);
  Node n = make_node(
      "LSTM", 3, 3,
      {Attribute::of_int("hidden_size", 7), Attribute::of_string("direction", "bidirectional"), Attribute::of_int("layout", 1)});
  TypeInfo x{DType::f32, true, {Dim{4, {}}, Dim{-1, "seq"}, Dim{5, {}}}};
  TypeInfo w = TypeInfo::of(DType::f32, {2, 28, 5}), r = TypeInfo::of(DType::f32, {2, 28, 7});
  InferContext ctx(n, {&x, &w, &r}, {nullptr, nullptr, nullptr});
  s->infer(ctx);
  ASSERT_EQ(ctx.outputs[0].dims.size(), 4u);
  EXPECT_EQ(ctx.outputs[0].dims[0].value, 4);
  EXPECT_EQ(ctx.outputs[0].dims[1].param, "seq");
  EXPECT_EQ(ctx.outputs[0].dims[2].value, 2);
  EXPECT_EQ(ctx.outputs[0].dims[3].value, 7);
  EXPECT_EQ(ctx.outputs[2], TypeInfo::of(DType::f32, {4, 2, 7}));
}

}  // namespace
}  // namespace nnaccel
