// MatMul and Gemm: hand-computed products, numpy 1-D and batch-broadcast rules, transposes,
// alpha/beta and C broadcasting, integer types, shapes and errors.
#include "ops/nn_test_util.hpp"

namespace nnaccel::testing {
namespace {

Tensor transpose2d(const Tensor& t) {
  Tensor r(t.dtype(), {t.dim(1), t.dim(0)});
  for (int64_t i = 0; i < t.dim(0); ++i)
    for (int64_t j = 0; j < t.dim(1); ++j)
      r.data<float>()[j * t.dim(0) + i] = t.data<float>()[i * t.dim(1) + j];
  return r;
}

// Matrix b of a [batch, M, N] float tensor.
Tensor matrix(const Tensor& t, int64_t b) {
  const int64_t m = t.dim(t.rank() - 2), n = t.dim(t.rank() - 1);
  Tensor r(DType::f32, {m, n});
  std::copy_n(t.data<float>() + b * m * n, m * n, r.data<float>());
  return r;
}

TEST(NnMatMul, HandComputed) {
  Tensor a = Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::from_f32({3, 2}, {7, 8, 9, 10, 11, 12});
  expect_values(run_op(make_node("MatMul", 2, 1), {a, b})[0], {2, 2}, {58, 64, 139, 154});
}

TEST(NnMatMul, OneDimensionalOperandsArePromotedAndRemoved) {
  Tensor v = Tensor::from_f32({3}, {1, 2, 3});
  Tensor m = Tensor::from_f32({3, 2}, {1, 0, 0, 1, 1, 1});
  expect_values(run_op(make_node("MatMul", 2, 1), {v, m})[0], {2}, {4, 5});
  Tensor mt = Tensor::from_f32({2, 3}, {1, 0, 1, 0, 1, 1});
  expect_values(run_op(make_node("MatMul", 2, 1), {mt, v})[0], {2}, {4, 5});
  expect_values(run_op(make_node("MatMul", 2, 1), {v, v})[0], {}, {14});
  // A vector against a batch of matrices.
  Tensor bm = random_f32({4, 3, 2}, 1);
  Tensor r = run_op(make_node("MatMul", 2, 1), {v, bm})[0];
  ASSERT_EQ(r.shape(), (Shape{4, 2}));
  for (int64_t b = 0; b < 4; ++b) {
    Tensor rb = run_op(make_node("MatMul", 2, 1), {v, matrix(bm, b)})[0];
    EXPECT_NEAR(r.data<float>()[b * 2], rb.data<float>()[0], 1e-6);
    EXPECT_NEAR(r.data<float>()[b * 2 + 1], rb.data<float>()[1], 1e-6);
  }
}

TEST(NnMatMul, BatchDimensionsBroadcast) {
  Tensor a = random_f32({2, 1, 3, 4}, 2);
  Tensor b = random_f32({5, 4, 2}, 3);
  Tensor y = run_op(make_node("MatMul", 2, 1), {a, b})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 5, 3, 2}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      Tensor r = run_op(make_node("MatMul", 2, 1), {matrix(a, i), matrix(b, j)})[0];
      expect_close(matrix(y, i * 5 + j), r, 1e-6);
    }
  EXPECT_EQ(dims_of(infer_op(make_node("MatMul", 2, 1),
                             {ti(DType::f32, {2, 1, 3, 4}), ti(DType::f32, {5, 4, 2})})[0]),
            (std::vector<int64_t>{2, 5, 3, 2}));
}

TEST(NnMatMul, IntegerAndDoubleTypes) {
  Tensor a = cast_tensor(Tensor::from_f32({2, 2}, {1, -2, 3, 4}), DType::i32);
  Tensor b = cast_tensor(Tensor::from_f32({2, 2}, {5, 6, -7, 8}), DType::i32);
  Tensor y = run_op(make_node("MatMul", 2, 1), {a, b})[0];
  ASSERT_EQ(y.dtype(), DType::i32);
  EXPECT_EQ(y.to_i64_vector(), (std::vector<int64_t>{19, -10, -13, 50}));
  Tensor y64 = run_op(make_node("MatMul", 2, 1),
                      {cast_tensor(a, DType::i64), cast_tensor(b, DType::i64)})[0];
  EXPECT_EQ(y64.to_i64_vector(), (std::vector<int64_t>{19, -10, -13, 50}));
  Tensor yd = run_op(make_node("MatMul", 2, 1),
                     {cast_tensor(a, DType::f64), cast_tensor(b, DType::f64)})[0];
  ASSERT_EQ(yd.dtype(), DType::f64);
  EXPECT_EQ(yd.to_i64_vector(), (std::vector<int64_t>{19, -10, -13, 50}));
}

TEST(NnMatMul, RejectsMismatchedInnerDimensions) {
  Node n = make_node("MatMul", 2, 1);
  EXPECT_THROW(run_op(n, {random_f32({2, 3}, 1), random_f32({4, 2}, 2)}), Error);
  EXPECT_THROW(infer_op(n, {ti(DType::f32, {2, 3}), ti(DType::f32, {4, 2})}), Error);
  EXPECT_THROW(run_op(n, {random_f32({2, 2, 3}, 1), random_f32({3, 3, 2}, 2)}), Error);  // batch
  EXPECT_THROW(run_op(n, {random_f32({2, 3}, 1), cast_tensor(random_f32({3, 2}, 2), DType::f64)}),
               Error);
  // Unknown dims do not fail.
  EXPECT_EQ(dims_of(infer_op(n, {ti(DType::f32, {-1, 3}), ti(DType::f32, {-1, 2})})[0]),
            (std::vector<int64_t>{-1, 2}));
}

TEST(NnGemm, TransposesAlphaBetaAndBias) {
  Tensor a = random_f32({3, 4}, 4);
  Tensor b = random_f32({4, 5}, 5);
  Tensor c = random_f32({3, 5}, 6);
  Tensor ab = run_op(make_node("MatMul", 2, 1), {a, b})[0];
  Tensor plain = run_op(make_node("Gemm", 3, 1), {a, b, c})[0];
  for (int64_t i = 0; i < 15; ++i)
    EXPECT_NEAR(plain.data<float>()[i], ab.data<float>()[i] + c.data<float>()[i], 1e-6);
  Tensor t = run_op(make_node("Gemm", 3, 1, {Attribute::of_int("transA", 1), Attribute::of_int("transB", 1)}),
                    {transpose2d(a), transpose2d(b), c})[0];
  expect_close(t, plain, 1e-6);
  Tensor scaled =
      run_op(make_node("Gemm", 3, 1, {Attribute::of_float("alpha", 0.5f), Attribute::of_float("beta", -2.0f)}), {a, b, c})[0];
  for (int64_t i = 0; i < 15; ++i)
    EXPECT_NEAR(scaled.data<float>()[i], 0.5 * ab.data<float>()[i] - 2 * c.data<float>()[i], 1e-6);
  expect_close(run_op(make_node("Gemm", 2, 1), {a, b})[0], ab, 1e-6);
}

TEST(NnGemm, BiasBroadcastsUnidirectionally) {
  Tensor a = Tensor::from_f32({2, 2}, {1, 0, 0, 1});
  Tensor b = Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Node n = make_node("Gemm", 3, 1);
  expect_values(run_op(n, {a, b, Tensor::from_f32({}, {10})})[0], {2, 3}, {11, 12, 13, 14, 15, 16});
  expect_values(run_op(n, {a, b, Tensor::from_f32({3}, {10, 20, 30})})[0], {2, 3},
                {11, 22, 33, 14, 25, 36});
  expect_values(run_op(n, {a, b, Tensor::from_f32({2, 1}, {10, 20})})[0], {2, 3},
                {11, 12, 13, 24, 25, 26});
  expect_values(run_op(n, {a, b, Tensor::from_f32({1, 3}, {10, 20, 30})})[0], {2, 3},
                {11, 22, 33, 14, 25, 36});
  EXPECT_THROW(run_op(n, {a, b, Tensor::from_f32({2}, {1, 2})}), Error);
  EXPECT_THROW(
      infer_op(n, {ti(DType::f32, {2, 2}), ti(DType::f32, {2, 3}), ti(DType::f32, {3, 3})}), Error);
}

TEST(NnGemm, ShapesAndErrors) {
  Node n = make_node("Gemm", 2, 1, {Attribute::of_int("transA", 1)});
  EXPECT_EQ(dims_of(infer_op(n, {ti(DType::f32, {6, 3}), ti(DType::f32, {6, 4})})[0]),
            (std::vector<int64_t>{3, 4}));
  EXPECT_THROW(infer_op(n, {ti(DType::f32, {3, 6}), ti(DType::f32, {6, 4})}), Error);
  EXPECT_THROW(run_op(make_node("Gemm", 2, 1), {random_f32({2, 3}, 1), random_f32({4, 2}, 2)}),
               Error);
  EXPECT_THROW(run_op(make_node("Gemm", 2, 1), {random_f32({2, 3, 1}, 1), random_f32({1, 2}, 2)}),
               Error);
  Tensor ai = cast_tensor(Tensor::from_f32({1, 2}, {2, 3}), DType::i64);
  Tensor bi = cast_tensor(Tensor::from_f32({2, 1}, {4, 5}), DType::i64);
  Tensor yi = run_op(make_node("Gemm", 2, 1), {ai, bi})[0];
  ASSERT_EQ(yi.dtype(), DType::i64);
  EXPECT_EQ(yi.to_i64_vector(), (std::vector<int64_t>{23}));
}

}  // namespace
}  // namespace nnaccel::testing
