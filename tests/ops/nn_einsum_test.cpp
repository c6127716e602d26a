// Einsum: explicit and implicit outputs, diagonals, ellipsis broadcasting, reductions, checked
// against MatMul and hand-computed values.
#include "ops/nn_test_util.hpp"

namespace nnaccel::testing {
namespace {

Node einsum(const std::string& eq, int inputs) {
  return make_node("Einsum", inputs, 1, {Attribute::of_string("equation", eq)});
}

TEST(NnEinsum, MatMulAndBatchMatMulAgreeWithMatMul) {
  Tensor a = random_f32({3, 4}, 1), b = random_f32({4, 5}, 2);
  Tensor mm = run_op(make_node("MatMul", 2, 1), {a, b})[0];
  expect_close(run_op(einsum("ij,jk->ik", 2), {a, b})[0], mm, 1e-6);
  expect_close(run_op(einsum("ij,jk", 2), {a, b})[0], mm, 1e-6);  // implicit output "ik"
  Tensor ba = random_f32({2, 3, 4}, 3), bb = random_f32({2, 4, 5}, 4);
  expect_close(run_op(einsum("bij, bjk -> bik", 2), {ba, bb})[0],
               run_op(make_node("MatMul", 2, 1), {ba, bb})[0], 1e-6);
}

TEST(NnEinsum, TransposeSumsTraceAndOuterProduct) {
  Tensor m = Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_values(run_op(einsum("ij->ji", 1), {m})[0], {3, 2}, {1, 4, 2, 5, 3, 6});
  expect_values(run_op(einsum("ba", 1), {m})[0], {3, 2}, {1, 4, 2, 5, 3, 6});  // implicit: "ab"
  expect_values(run_op(einsum("ij->i", 1), {m})[0], {2}, {6, 15});
  expect_values(run_op(einsum("ij->j", 1), {m})[0], {3}, {5, 7, 9});
  expect_values(run_op(einsum("ij->", 1), {m})[0], {}, {21});
  Tensor sq = Tensor::from_f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  expect_values(run_op(einsum("ii->", 1), {sq})[0], {}, {15});
  expect_values(run_op(einsum("ii", 1), {sq})[0], {}, {15});  // implicit: repeated label summed
  expect_values(run_op(einsum("ii->i", 1), {sq})[0], {3}, {1, 5, 9});
  Tensor u = Tensor::from_f32({2}, {1, 2}), v = Tensor::from_f32({3}, {3, 4, 5});
  expect_values(run_op(einsum("i,j->ij", 2), {u, v})[0], {2, 3}, {3, 4, 5, 6, 8, 10});
  expect_values(run_op(einsum("i,i", 2), {u, Tensor::from_f32({2}, {3, 4})})[0], {}, {11});
}

TEST(NnEinsum, EllipsisDiagonalAndBroadcast) {
  Tensor x = random_f64({3, 4, 4}, 5);
  Tensor d = run_op(einsum("...ii ->...i", 1), {x})[0];
  ASSERT_EQ(d.shape(), (Shape{3, 4}));
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t i = 0; i < 4; ++i)
      EXPECT_EQ(d.data<double>()[b * 4 + i], x.data<double>()[b * 16 + i * 5]);
  // Ellipsis dims broadcast like numpy: [2, 1] with [3] gives [2, 3].
  Tensor a = random_f32({2, 1, 3, 4}, 6), b = random_f32({3, 4, 2}, 7);
  Tensor y = run_op(einsum("...ij,...jk->...ik", 2), {a, b})[0];
  expect_close(y, run_op(make_node("MatMul", 2, 1), {a, b})[0], 1e-6);
  // Implicit output puts the ellipsis dims first.
  Tensor t = run_op(einsum("i...", 1), {random_f32({4, 2, 3}, 8)})[0];
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  // An ellipsis missing from an explicit output is summed.
  expect_values(run_op(einsum("...i->i", 1), {Tensor::from_f32({2, 2}, {1, 2, 3, 4})})[0], {2},
                {4, 6});
}

TEST(NnEinsum, ThreeOperandsAndIntegers) {
  Tensor a = random_f32({2, 3}, 9), b = random_f32({3, 4}, 10), c = random_f32({4, 2}, 11);
  Tensor ab = run_op(make_node("MatMul", 2, 1), {a, b})[0];
  Tensor abc = run_op(make_node("MatMul", 2, 1), {ab, c})[0];
  expect_close(run_op(einsum("ij,jk,kl->il", 3), {a, b, c})[0], abc, 1e-5);
  Tensor ia = cast_tensor(Tensor::from_f32({2, 2}, {1, 2, 3, 4}), DType::i64);
  Tensor y = run_op(einsum("ij,jk->ik", 2), {ia, ia})[0];
  ASSERT_EQ(y.dtype(), DType::i64);
  EXPECT_EQ(y.to_i64_vector(), (std::vector<int64_t>{7, 10, 15, 22}));
}

TEST(NnEinsum, ShapesAndErrors) {
  EXPECT_EQ(dims_of(infer_op(einsum("bij,bjk->bik", 2),
                             {ti(DType::f32, {5, 2, 3}), ti(DType::f32, {5, 3, 4})})[0]),
            (std::vector<int64_t>{5, 2, 4}));
  Tensor m = random_f32({2, 3}, 12);
  EXPECT_THROW(run_op(einsum("ij,jk->ik", 1), {m}), Error);     // two terms, one input
  EXPECT_THROW(run_op(einsum("ij,jk->ik", 2), {m, m}), Error);  // j is 3 and 2
  EXPECT_THROW(run_op(einsum("ij->ik", 1), {m}), Error);        // k not in inputs
  EXPECT_THROW(run_op(einsum("ijk->i", 1), {m}), Error);        // rank 2, three labels
  EXPECT_THROW(run_op(einsum("ij->ii", 1), {m}), Error);        // repeated output label
  EXPECT_THROW(run_op(einsum("i1->i", 1), {m}), Error);         // bad character
  EXPECT_THROW(infer_op(einsum("ij,jk->ik", 2), {ti(DType::f32, {2, 3}), ti(DType::f32, {2, 3})}),
               Error);
}

}  // namespace
}  // namespace nnaccel::testing
