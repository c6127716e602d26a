// The simd LSTM and GRU kernels against the reference, over directions, layouts, optional
// inputs and ragged hidden sizes (vector tails in the gates and the packed products).
#include "kernels/simd_test_util.hpp"

namespace nnaccel::testing {
namespace {

struct RnnCase {
  const char* direction;
  int64_t layout;
  int64_t seq, batch, input, hidden;
  bool bias, initial, peephole, linear_before_reset;
};

const std::vector<RnnCase> kCases = {
    {"forward", 0, 4, 3, 5, 7, true, true, true, false},
    {"reverse", 0, 3, 1, 19, 17, true, false, false, true},
    {"bidirectional", 0, 5, 2, 6, 33, true, true, true, true},
    {"bidirectional", 1, 3, 3, 4, 16, false, true, false, false},
    {"forward", 1, 1, 2, 3, 1, true, true, true, true},
    {"forward", 0, 6, 1, 40, 70, true, false, false, false},
};

void check_recurrent(bool lstm, const RnnCase& c, uint32_t seed, bool constant_weights = true) {
  const int64_t D = std::string(c.direction) == "bidirectional" ? 2 : 1;
  const int64_t G = lstm ? 4 : 3, H = c.hidden;
  const Shape x_shape = c.layout ? Shape{c.batch, c.seq, c.input} : Shape{c.seq, c.batch, c.input};
  const Shape state = c.layout ? Shape{c.batch, D, H} : Shape{D, c.batch, H};
  const Shape y_shape = c.layout ? Shape{c.batch, c.seq, D, H} : Shape{c.seq, D, c.batch, H};
  std::vector<Attribute> attrs = {Attribute::of_string("direction", c.direction),
                                  Attribute::of_int("layout", c.layout),
                                  Attribute::of_int("hidden_size", H)};
  if (!lstm) attrs.push_back(Attribute::of_int("linear_before_reset", c.linear_before_reset));
  const int n_in = lstm ? 8 : 6;
  Node node = make_node(lstm ? "LSTM" : "GRU", n_in, lstm ? 3 : 2, attrs);
  std::vector<Tensor> in(static_cast<size_t>(n_in));
  in[0] = random_nonzero(x_shape, seed, -2, 2);
  in[1] = random_nonzero({D, G * H, c.input}, seed + 1, -0.6f, 0.6f);
  in[2] = random_nonzero({D, G * H, H}, seed + 2, -0.6f, 0.6f);
  if (c.bias) in[3] = random_nonzero({D, 2 * G * H}, seed + 3, -0.5f, 0.5f);
  node.inputs[4] = "";
  if (c.initial) in[5] = random_nonzero(state, seed + 5, -1, 1);
  if (lstm && c.initial) in[6] = random_nonzero(state, seed + 6, -1, 1);
  if (lstm && c.peephole) in[7] = random_nonzero({D, 3 * H}, seed + 7, -0.5f, 0.5f);
  for (size_t i = 3; i < in.size(); ++i)
    if (!in[i].defined()) node.inputs[i] = "";
  const std::vector<Tensor> want = run_op(node, in);
  std::vector<Shape> outs_shapes = {y_shape, state};
  if (lstm) outs_shapes.push_back(state);
  std::vector<bool> constant(in.size(), false);
  constant[1] = constant[2] = constant[3] = constant_weights;
  if (lstm) constant[7] = constant_weights;
  std::vector<ValueDesc> outs;
  auto k = make_simd_kernel(node, in, outs_shapes, outs, constant);
  const std::string what = std::string(node.op_type) + " " + c.direction + " layout " +
                           std::to_string(c.layout) + " H " + std::to_string(H);
  if (!simd_on()) {
    EXPECT_EQ(k, nullptr);
    return;
  }
  ASSERT_NE(k, nullptr) << what;
  EXPECT_EQ(k->owns_constant(2), constant_weights);
  const std::vector<Tensor> got = run_kernel(*k, in, outs);
  for (size_t o = 0; o < outs_shapes.size(); ++o)
    expect_close(got[o], want[o], 2e-5f, 2e-6f, what + " output " + std::to_string(o));
}

TEST(SimdRecurrent, LstmMatchesReference) {
  uint32_t seed = 1;
  for (const RnnCase& c : kCases) check_recurrent(true, c, seed += 10);
}

TEST(SimdRecurrent, GruMatchesReference) {
  uint32_t seed = 100;
  for (const RnnCase& c : kCases) check_recurrent(false, c, seed += 10);
}

// Weights computed at run time (graph inputs) are packed on every run.
TEST(SimdRecurrent, RunTimeWeights) {
  uint32_t seed = 200;
  for (const RnnCase& c : kCases) {
    check_recurrent(true, c, seed += 10, false);
    check_recurrent(false, c, seed += 10, false);
  }
}

TEST(SimdRecurrent, DeclinesWhatItDoesNotImplement) {
  const Tensor x = random_nonzero({2, 1, 3}, 1, -1, 1);
  const Tensor w = random_nonzero({1, 16, 3}, 2, -1, 1), r = random_nonzero({1, 16, 4}, 3, -1, 1);
  std::vector<ValueDesc> outs;
  // Clip, custom activations, sequence_lens.
  EXPECT_EQ(make_simd_kernel(make_node("LSTM", 3, 1, {Attribute::of_float("clip", 1.0f)}),
                             {x, w, r}, {{2, 1, 1, 4}}, outs, {false, true, true}),
            nullptr);
  EXPECT_EQ(
      make_simd_kernel(
          make_node("LSTM", 3, 1, {Attribute::of_strings("activations", {"Relu", "Tanh", "Tanh"})}),
          {x, w, r}, {{2, 1, 1, 4}}, outs, {false, true, true}),
      nullptr);
  EXPECT_EQ(
      make_simd_kernel(make_node("LSTM", 5, 1), {x, w, r, Tensor(), Tensor::from_i64({1}, {2})},
                       {{2, 1, 1, 4}}, outs, {false, true, true}),
      nullptr);
}

}  // namespace
}  // namespace nnaccel::testing
