#include "train/autograd/grad_linalg.hpp"

#include <vector>

#include "core/parallel.hpp"
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
    rule_fail(node, "cannot multiply shapes {} and {}", shape_str(a.shape()),
              shape_str(b.shape()));
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
  Tensor y(a.dtype(), out);
  const int64_t nb = shape_numel(batch);
  visit_grad_float(node, a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    matmul_reference<T>(a.data<T>(), trans_a, b.data<T>(), trans_b, y.data<T>(), nb, m, k, n,
                        alpha);
  });
  return y;
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
