// Gradient rules of Gemm and MatMul. Both reduce to batched products of (possibly transposed)
// matrices: for Y = A B, dA = dY B^T and dB = A^T dY; broadcast batch dims (MatMul) and a
// broadcast C (Gemm) get their gradients summed back to their shapes.
#include "ops/op_registry.hpp"
#include "train/autograd/grad_linalg.hpp"
#include "train/autograd/grad_util.hpp"

namespace nnaccel {

namespace {

using namespace grad;

Tensor as_2d(const Tensor& t, const Node& node) {
  if (t.rank() != 2) rule_fail(node, "expected a matrix, got shape {}", shape_str(t.shape()));
  return t;
}

// Y = alpha * op(A) op(B) + beta * C.
void grad_gemm(GradContext& c) {
  const Tensor a = as_2d(input(c, 0), c.node);
  const Tensor b = as_2d(input(c, 1), c.node);
  const Tensor dy = grad_output(c, 0);
  const bool ta = c.node.attr_int("transA", 0) != 0;
  const bool tb = c.node.attr_int("transB", 0) != 0;
  const double alpha = c.node.attr_float("alpha", 1.0f);
  const double beta = c.node.attr_float("beta", 1.0f);
  if (wants(c, 0))
    c.grad_inputs[0] =
        ta ? matmul(b, tb, dy, true, alpha, c.node) : matmul(dy, false, b, !tb, alpha, c.node);
  if (wants(c, 1))
    c.grad_inputs[1] =
        tb ? matmul(dy, true, a, ta, alpha, c.node) : matmul(a, !ta, dy, false, alpha, c.node);
  if (wants(c, 2)) {
    Tensor dc = reduce_to_shape(dy, input(c, 2).shape());
    c.grad_inputs[2] = beta == 1.0 ? dc : scaled(dc, beta);
  }
}

// MatMul with numpy semantics: 1-D operands are promoted to matrices ([K] -> [1, K] on the
// left, [K, 1] on the right) and batch dims broadcast.
void grad_matmul(GradContext& c) {
  const Tensor& a0 = input(c, 0);
  const Tensor& b0 = input(c, 1);
  if (a0.rank() == 0 || b0.rank() == 0) rule_fail(c.node, "MatMul of a scalar");
  const Tensor a = a0.rank() == 1 ? a0.reshaped({1, a0.dim(0)}) : a0;
  const Tensor b = b0.rank() == 1 ? b0.reshaped({b0.dim(0), 1}) : b0;
  const int64_t m = a.dim(a.rank() - 2), k = a.dim(a.rank() - 1), n = b.dim(b.rank() - 1);
  if (b.rank() == 2) {
    // A shared right-hand matrix (a linear layer): the batch folds into the rows.
    const int64_t rows = a.numel() / std::max<int64_t>(k, 1);
    const Tensor a2 = a.reshaped({rows, k});
    const Tensor dy = grad_output(c, 0).reshaped({rows, n});
    if (wants(c, 0))
      c.grad_inputs[0] = matmul(dy, false, b, true, 1.0, c.node).reshaped(a0.shape());
    if (wants(c, 1))
      c.grad_inputs[1] = matmul(a2, true, dy, false, 1.0, c.node).reshaped(b0.shape());
    return;
  }
  Shape batch_a(a.shape().begin(), a.shape().end() - 2);
  Shape batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(batch_a, batch_b);
  } catch (const Error& e) {
    rule_fail(c.node, "{}", e.what());
  }
  auto full = [&](int64_t r, int64_t col) {
    Shape s = batch;
    s.push_back(r);
    s.push_back(col);
    return s;
  };
  const Tensor dy = grad_output(c, 0).reshaped(full(m, n));
  if (wants(c, 0)) {
    const Tensor bb = broadcast_to(b, full(k, n));
    Tensor da = matmul(dy, false, bb, true, 1.0, c.node);
    c.grad_inputs[0] = reduce_to_shape(da, a.shape()).reshaped(a0.shape());
  }
  if (wants(c, 1)) {
    const Tensor ab = broadcast_to(a, full(m, k));
    Tensor db = matmul(ab, true, dy, false, 1.0, c.node);
    c.grad_inputs[1] = reduce_to_shape(db, b.shape()).reshaped(b0.shape());
  }
}

}  // namespace

void register_matmul_grads(GradRegistry& r) {
  r.add("", "Gemm", grad_gemm);
  r.add("", "MatMul", grad_matmul);
}

}  // namespace nnaccel
