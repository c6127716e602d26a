#include "train/autograd/grad_linalg.hpp"

#include <vector>

#include "core/parallel.hpp"
#include "ops/op_registry.hpp"
#include "train/autograd/dnnl_ops.hpp"
#include "train/autograd/grad_util.hpp"

namespace nnaccel::grad {

namespace {

template <typename T>
void matmul_reference(const T* a, bool ta, const T* b, bool tb, T* y, int64_t batch, int64_t m,
                      int64_t k, int64_t n, double alpha) {
  // Element (i, p) of op(a) for a matrix stored [m, k] (or [k, m] when transposed).
  const int64_t a_size = m * k, b_size = k * n;
  parallel_for(batch * m, 4, [&](int64_t begin, int64_t end) {
    std::vector<double> row(static_cast<size_t>(n));
    for (int64_t bi = begin; bi < end; ++bi) {
      const int64_t bt = bi / m, i = bi % m;
      const T* ab = a + bt * a_size;
      const T* bb = b + bt * b_size;
      std::fill(row.begin(), row.end(), 0.0);
      for (int64_t p = 0; p < k; ++p) {
        const double av = static_cast<double>(ta ? ab[p * m + i] : ab[i * k + p]);
        if (tb) {
          for (int64_t j = 0; j < n; ++j) row[static_cast<size_t>(j)] += av * bb[j * k + p];
        } else {
          const T* brow = bb + p * n;
          for (int64_t j = 0; j < n; ++j) row[static_cast<size_t>(j)] += av * brow[j];
        }
      }
      T* yr = y + bt * m * n + i * n;
      for (int64_t j = 0; j < n; ++j) yr[j] = static_cast<T>(alpha * row[static_cast<size_t>(j)]);
    }
  });
}

}  // namespace

Tensor matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, double alpha,
              const Node& node) {
  if (a.rank() < 2 || a.rank() != b.rank())
    rule_fail(node, "cannot multiply shapes {} and {}", shape_str(a.shape()), shape_str(b.shape()));
  if (a.dtype() != b.dtype())
    rule_fail(node, "cannot multiply {} by {}", dtype_name(a.dtype()), dtype_name(b.dtype()));
  const int r = a.rank();
  Shape batch(a.shape().begin(), a.shape().end() - 2);
  if (Shape(b.shape().begin(), b.shape().end() - 2) != batch)
    rule_fail(node, "batch dims differ: {} and {}", shape_str(a.shape()), shape_str(b.shape()));
  const int64_t m = trans_a ? a.dim(r - 1) : a.dim(r - 2);
  const int64_t k = trans_a ? a.dim(r - 2) : a.dim(r - 1);
  const int64_t kb = trans_b ? b.dim(r - 1) : b.dim(r - 2);
  const int64_t n = trans_b ? b.dim(r - 2) : b.dim(r - 1);
  if (k != kb)
    rule_fail(node, "inner dims differ: {} and {}", shape_str(a.shape()), shape_str(b.shape()));
  Shape out = batch;
  out.push_back(m);
  out.push_back(n);
  const int64_t nb = shape_numel(batch);
  if (a.dtype() == DType::f32 && dnnl_enabled()) {
    if (shape_numel(out) == 0 || k == 0) return Tensor(DType::f32, out);  // zeros
    Tensor y = uninitialized(DType::f32, out);
    matmul_dnnl(a.data<float>(), trans_a, b.data<float>(), trans_b, y.data<float>(), nb, m, k, n,
                static_cast<float>(alpha));
    return y;
  }
  Tensor y(a.dtype(), out);
  visit_grad_float(node, a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    matmul_reference<T>(a.data<T>(), trans_a, b.data<T>(), trans_b, y.data<T>(), nb, m, k, n,
                        alpha);
  });
  return y;
}

Tensor matmul_numpy(const Tensor& a0, const Tensor& b0, const Node& node) {
  if (a0.rank() == 0 || b0.rank() == 0) rule_fail(node, "MatMul of a scalar");
  if (a0.dtype() != b0.dtype())
    rule_fail(node, "cannot multiply {} by {}", dtype_name(a0.dtype()), dtype_name(b0.dtype()));
  const Tensor a = a0.rank() == 1 ? a0.reshaped({1, a0.dim(0)}) : a0;
  const Tensor b = b0.rank() == 1 ? b0.reshaped({b0.dim(0), 1}) : b0;
  const int64_t m = a.dim(a.rank() - 2), k = a.dim(a.rank() - 1);
  const int64_t n = b.dim(b.rank() - 1);
  if (b.dim(b.rank() - 2) != k)
    rule_fail(node, "inner dims differ: {} and {}", shape_str(a0.shape()), shape_str(b0.shape()));
  Shape batch_a(a.shape().begin(), a.shape().end() - 2);
  Shape batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(batch_a, batch_b);
  } catch (const Error& e) {
    rule_fail(node, "{}", e.what());
  }
  Shape out = batch;
  if (a0.rank() > 1) out.push_back(m);
  if (b0.rank() > 1) out.push_back(n);
  Tensor y;
  if (k == 0) return Tensor(a0.dtype(), out);
  if (batch_b.empty()) {
    // A shared right-hand matrix: the batch folds into the rows of one product.
    y = matmul(a.reshaped({shape_numel(a.shape()) / k, k}), false, b, false, 1.0, node);
  } else {
    Shape fa = batch, fb = batch;
    fa.insert(fa.end(), {m, k});
    fb.insert(fb.end(), {k, n});
    y = matmul(broadcast_to(a, fa), false, broadcast_to(b, fb), false, 1.0, node);
  }
  return y.reshaped(out);
}

Tensor scaled(const Tensor& t, double s) {
  Tensor r(t.dtype(), t.shape());
  if (t.dtype() != DType::f32 && t.dtype() != DType::f64)
    fail("autograd: cannot scale a {} tensor", dtype_name(t.dtype()));
  visit_numeric(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = t.data<T>();
    T* y = r.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) y[i] = static_cast<T>(static_cast<double>(x[i]) * s);
  });
  return r;
}

}  // namespace nnaccel::grad
