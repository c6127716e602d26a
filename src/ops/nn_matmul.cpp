// MatMul (numpy semantics: 1-D promotion, broadcast batch dimensions) and Gemm (alpha, beta,
// transposes, C broadcast to [M, N]). Both reduce to one row-major [M, K] x [K, N] product,
// accumulated in double for floats.
#include "ops/nn_common.hpp"

namespace nnaccel {

namespace {

using namespace nn;

// acc[M, N] = a[M, K] * b[K, N]. The k loop sits outside the j loop so both b and acc are read
// along rows.
template <typename T>
void matmul_acc(const T* a, const T* b, int64_t m, int64_t k, int64_t n, acc_t<T>* acc) {
  std::fill(acc, acc + m * n, acc_t<T>{});
  for (int64_t i = 0; i < m; ++i) {
    acc_t<T>* row = acc + i * n;
    for (int64_t p = 0; p < k; ++p) {
      const acc_t<T> av = to_acc(a[i * k + p]);
      const T* b_row = b + p * n;
      for (int64_t j = 0; j < n; ++j) row[j] += av * to_acc(b_row[j]);
    }
  }
}

// Numpy broadcast of two batch shapes (dims may be -1 in shape functions).
std::vector<int64_t> broadcast_batch(const Node& node, const std::vector<int64_t>& a,
                                     const std::vector<int64_t>& b) {
  const size_t r = std::max(a.size(), b.size());
  std::vector<int64_t> out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (da < 0 || db < 0) {
      out[i] = da < 0 ? db : da;
    } else if (da != db) {
      node_fail(node, "batch dimensions [{}] and [{}] do not broadcast", fmt::join(a, ","),
                fmt::join(b, ","));
    } else {
      out[i] = da;
    }
  }
  return out;
}

struct MatMulShape {
  std::vector<int64_t> batch_a, batch_b, batch;  // batch dims of A, B, and of the result
  int64_t m, k, n;
  std::vector<int64_t> out;
};

MatMulShape matmul_shape(const Node& node, const std::vector<int64_t>& a,
                         const std::vector<int64_t>& b) {
  if (a.empty() || b.empty())
    node_fail(node, "MatMul inputs must have rank >= 1, got ranks {} and {}", a.size(), b.size());
  MatMulShape s;
  std::vector<int64_t> a2 = a.size() == 1 ? std::vector<int64_t>{1, a[0]} : a;
  std::vector<int64_t> b2 = b.size() == 1 ? std::vector<int64_t>{b[0], 1} : b;
  s.m = a2[a2.size() - 2];
  s.k = a2.back();
  s.n = b2.back();
  const int64_t kb = b2[b2.size() - 2];
  if (s.k >= 0 && kb >= 0 && s.k != kb)
    node_fail(node, "inner dimensions differ: A is [{}], B is [{}] ({} vs {})", fmt::join(a, ","),
              fmt::join(b, ","), s.k, kb);
  if (s.k < 0) s.k = kb;
  s.batch_a.assign(a2.begin(), a2.end() - 2);
  s.batch_b.assign(b2.begin(), b2.end() - 2);
  s.batch = broadcast_batch(node, s.batch_a, s.batch_b);
  s.out = s.batch;
  if (a.size() > 1) s.out.push_back(s.m);
  if (b.size() > 1) s.out.push_back(s.n);
  return s;
}

void infer_matmul(InferContext& ctx) {
  const TypeInfo& at = ctx.type(0);
  const TypeInfo& bt = ctx.type(1);
  if (at.dtype != bt.dtype && bt.dtype != DType::undefined)
    ctx.fail("A is {} but B is {}", dtype_name(at.dtype), dtype_name(bt.dtype));
  if (!at.has_shape || !bt.has_shape) {
    ctx.outputs[0] = type_unknown_shape(at.dtype);
    return;
  }
  MatMulShape s = matmul_shape(ctx.node, known_dims(at), known_dims(bt));
  ctx.outputs[0] = type_with_dims(at.dtype, s.out);
}

// Offsets of batch element `flat` of the broadcast batch shape in an operand with batch dims
// `own` (right-aligned, size-1 dims repeat), in units of whole matrices.
int64_t batch_offset(int64_t flat, const std::vector<int64_t>& batch,
                     const std::vector<int64_t>& own) {
  int64_t off = 0, stride = 1;
  for (size_t i = batch.size(); i-- > 0;) {
    const int64_t coord = flat % batch[i];
    flat /= batch[i];
    const size_t lead = batch.size() - own.size();
    if (i >= lead) {
      const int64_t d = own[i - lead];
      if (d != 1) off += coord * stride;
      stride *= d;
    }
  }
  return off;
}

void run_matmul(OpContext& ctx) {
  const Tensor& a0 = ctx.input(0);
  const Tensor& b0 = ctx.input(1);
  if (a0.dtype() != b0.dtype())
    ctx.fail("A is {} but B is {}", dtype_name(a0.dtype()), dtype_name(b0.dtype()));
  const DType io = a0.dtype();
  const DType ct = arith_compute_dtype(ctx.node, io);
  Tensor a = to_dtype(a0, ct), b = to_dtype(b0, ct);
  MatMulShape s = matmul_shape(ctx.node, a.shape(), b.shape());
  Tensor y(ct, s.out);
  const int64_t batches = product(s.batch);
  visit_numeric(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      std::vector<acc_t<T>> acc(static_cast<size_t>(s.m * s.n));
      for (int64_t bi = 0; bi < batches; ++bi) {
        const T* ap = a.data<T>() + batch_offset(bi, s.batch, s.batch_a) * s.m * s.k;
        const T* bp = b.data<T>() + batch_offset(bi, s.batch, s.batch_b) * s.k * s.n;
        matmul_acc<T>(ap, bp, s.m, s.k, s.n, acc.data());
        T* yp = y.data<T>() + bi * s.m * s.n;
        for (int64_t i = 0; i < s.m * s.n; ++i) yp[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
      }
    }
  });
  ctx.outputs[0] = to_dtype(y, io);
}

// ---------------------------------------------------------------------------------------------
// Gemm: Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A, B' = transB ? B^T : B.

struct GemmShape {
  int64_t m, k, n;
};

GemmShape gemm_shape(const Node& node, const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                     const std::vector<int64_t>* c) {
  if (a.size() != 2 || b.size() != 2)
    node_fail(node, "A and B must be matrices, got ranks {} and {}", a.size(), b.size());
  const bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  GemmShape s;
  s.m = ta ? a[1] : a[0];
  s.k = ta ? a[0] : a[1];
  const int64_t kb = tb ? b[1] : b[0];
  s.n = tb ? b[0] : b[1];
  if (s.k >= 0 && kb >= 0 && s.k != kb)
    node_fail(node,
              "inner dimensions differ: A' has {} columns, B' has {} rows (transA={}, "
              "transB={})",
              s.k, kb, ta, tb);
  if (c != nullptr) {
    if (c->size() > 2) node_fail(node, "C has rank {}, expected at most 2", c->size());
    const std::vector<int64_t> target = {s.m, s.n};
    for (size_t i = 0; i < c->size(); ++i) {
      const int64_t d = (*c)[i], t = target[2 - c->size() + i];
      if (d >= 0 && t >= 0 && d != 1 && d != t)
        node_fail(node, "C of shape [{}] does not broadcast to [{}, {}]", fmt::join(*c, ","), s.m,
                  s.n);
    }
  }
  return s;
}

void infer_gemm(InferContext& ctx) {
  const TypeInfo& at = ctx.type(0);
  const TypeInfo& bt = ctx.type(1);
  if (!at.has_shape || !bt.has_shape) {
    ctx.outputs[0] = type_with_dims(at.dtype, {-1, -1});
    return;
  }
  std::vector<int64_t> c;
  const bool has_c = ctx.has_input(2) && ctx.type(2).has_shape;
  if (has_c) c = known_dims(ctx.type(2));
  GemmShape s = gemm_shape(ctx.node, known_dims(at), known_dims(bt), has_c ? &c : nullptr);
  ctx.outputs[0] = type_with_dims(at.dtype, {s.m, s.n});
}

// Row-major copy of the transpose of a matrix.
Tensor transposed(const Tensor& t) {
  Tensor r(t.dtype(), {t.dim(1), t.dim(0)});
  visit_by_size(t.dtype(), [&](auto tag) {
    using E = typename decltype(tag)::type;
    const E* src = t.data<E>();
    E* dst = r.data<E>();
    for (int64_t i = 0; i < t.dim(0); ++i)
      for (int64_t j = 0; j < t.dim(1); ++j) dst[j * t.dim(0) + i] = src[i * t.dim(1) + j];
  });
  return r;
}

void run_gemm(OpContext& ctx) {
  const DType io = ctx.input(0).dtype();
  if (ctx.input(1).dtype() != io || (ctx.has_input(2) && ctx.input(2).dtype() != io))
    ctx.fail("A, B and C must have the same element type");
  const DType ct = arith_compute_dtype(ctx.node, io);
  Tensor a = to_dtype(ctx.input(0), ct), b = to_dtype(ctx.input(1), ct);
  Tensor c;
  if (ctx.has_input(2)) c = to_dtype(ctx.input(2), ct);
  std::vector<int64_t> cshape = c.defined() ? c.shape() : std::vector<int64_t>{};
  GemmShape s = gemm_shape(ctx.node, a.shape(), b.shape(), c.defined() ? &cshape : nullptr);
  if (ctx.attr_int("transA", 0) != 0) a = transposed(a);
  if (ctx.attr_int("transB", 0) != 0) b = transposed(b);
  const double alpha = ctx.attr_float("alpha", 1.0f), beta = ctx.attr_float("beta", 1.0f);
  // C's strides within [M, N]: broadcast dims (size 1 or missing) do not advance.
  int64_t c_row = 0, c_col = 0;
  if (c.defined()) {
    const size_t cr = cshape.size();
    if (cr == 2) {
      c_row = cshape[0] == 1 ? 0 : cshape[1];
      c_col = cshape[1] == 1 ? 0 : 1;
    } else if (cr == 1) {
      c_col = cshape[0] == 1 ? 0 : 1;
    }
  }
  Tensor y(ct, {s.m, s.n});
  visit_numeric(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      std::vector<acc_t<T>> acc(static_cast<size_t>(s.m * s.n));
      matmul_acc<T>(a.data<T>(), b.data<T>(), s.m, s.k, s.n, acc.data());
      const T* cd = c.defined() ? c.data<T>() : nullptr;
      T* yd = y.data<T>();
      for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = 0; j < s.n; ++j) {
          const acc_t<T> sum = acc[static_cast<size_t>(i * s.n + j)];
          // Integer sums are taken modulo the type first, then scaled.
          double v =
              alpha * (std::is_floating_point_v<T> ? static_cast<double>(sum)
                                                   : static_cast<double>(static_cast<T>(sum)));
          if (cd != nullptr && beta != 0)
            v += beta * static_cast<double>(cd[i * c_row + j * c_col]);
          yd[i * s.n + j] = from_double<T>(v);
        }
    }
  });
  ctx.outputs[0] = to_dtype(y, io);
}

}  // namespace

void register_nn_matmul_ops(OpRegistry& r) {
  r.add({"Gemm", "", infer_gemm, run_gemm});
  r.add({"MatMul", "", infer_matmul, run_matmul});
}

}  // namespace nnaccel
