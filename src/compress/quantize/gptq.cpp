#include "compress/quantize/gptq.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <oneapi/dnnl/dnnl.hpp>

#include "core/check.hpp"
#include "core/parallel.hpp"
#include "ir/passes/passes.hpp"
#include "ops/nn_common.hpp"

namespace nnaccel {

namespace {

// The largest input vector GPTQ takes (its matrices are dim^2 doubles; the factorizations dim^3).
constexpr int64_t kMaxDim = 4608;
// Patch rows gathered before each sgemm update of a Conv's H.
constexpr int64_t kPatchRows = 1024;

const Tensor* constant_f32(const Graph& g, const std::string& name, int rank) {
  auto it = g.initializers.find(name);
  if (it == g.initializers.end() || it->second.dtype() != DType::f32 ||
      it->second.rank() != rank || !passes_detail::is_constant_initializer(g, name))
    return nullptr;
  return &it->second;
}

// What a layer's H is built from.
struct HessianLayer {
  const Node* node = nullptr;
  bool conv = false;
  int64_t groups = 1, dim = 0;
  int64_t kh = 1, kw = 1;  // a Conv's kernel
};

HessianLayer hessian_layer(const Graph& g, const Node& n) {
  HessianLayer l;
  l.node = &n;
  const Tensor& w = g.initializers.at(n.inputs[1]);
  if (n.op_type == "Conv") {
    l.conv = true;
    l.groups = n.attr_int("group", 1);
    l.kh = w.dim(2);
    l.kw = w.dim(3);
    l.dim = w.dim(1) * l.kh * l.kw;
  } else {
    const bool trans_b = n.op_type == "Gemm" && n.attr_int("transB", 0) != 0;
    l.dim = trans_b ? w.dim(1) : w.dim(0);
  }
  return l;
}

// hf += rows^T rows (rows: count x dim, row-major), by oneDNN's sgemm.
void add_gram(const float* rows, int64_t count, int64_t dim, std::vector<float>& hf) {
  if (count == 0) return;
  const dnnl::status st =
      dnnl::sgemm('T', 'N', dim, dim, count, 1.0f, rows, dim, rows, dim, 1.0f, hf.data(), dim);
  NNA_CHECK(st == dnnl::status::success, "GPTQ statistics: sgemm failed");
}

// Adds one batch of a layer's input to its H.
void accumulate(const HessianLayer& l, const Tensor& x, WeightHessian& h) {
  NNA_CHECK(x.dtype() == DType::f32, "GPTQ: the input of '{}' is {}, not float32", l.node->name,
            dtype_name(x.dtype()));
  const int64_t d = l.dim;
  std::vector<float> hf(static_cast<size_t>(d * d), 0.0f);
  auto flush = [&](int64_t gi) {
    double* out = h.h.data() + gi * d * d;
    for (int64_t i = 0; i < d * d; ++i) out[i] += hf[static_cast<size_t>(i)];
    std::fill(hf.begin(), hf.end(), 0.0f);
  };
  if (!l.conv) {
    NNA_CHECK(x.rank() >= 1 && x.dim(x.rank() - 1) == d,
              "GPTQ: the input of '{}' has shape {}, not [..., {}]", l.node->name,
              shape_str(x.shape()), d);
    const int64_t rows = x.numel() / d;
    add_gram(x.data<float>(), rows, d, hf);
    flush(0);
    h.count += rows;
    return;
  }
  NNA_CHECK(x.rank() == 4, "GPTQ: the input of Conv '{}' has shape {}, not 4-D", l.node->name,
            shape_str(x.shape()));
  const int64_t n = x.dim(0), c = x.dim(1), ih = x.dim(2), iw = x.dim(3);
  const int64_t cg = c / l.groups;
  NNA_CHECK(cg * l.kh * l.kw == d, "GPTQ: Conv '{}' reads {} channels, its weight {} per group",
            l.node->name, c, d / (l.kh * l.kw));
  // Output size, strides, dilations and pads (auto_pad included) as the Conv computes them.
  const nn::Window win = nn::resolve_window(*l.node, {ih, iw}, {l.kh, l.kw}, false);
  const int64_t oh = win.out[0], ow = win.out[1];
  if (oh <= 0 || ow <= 0) return;
  const float* xp = x.data<float>();
  std::vector<float> patches(static_cast<size_t>(kPatchRows * d));
  for (int64_t gi = 0; gi < l.groups; ++gi) {
    int64_t filled = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          float* p = patches.data() + filled * d;
          for (int64_t ci = 0; ci < cg; ++ci) {
            const float* plane = xp + ((b * c) + gi * cg + ci) * ih * iw;
            for (int64_t ky = 0; ky < l.kh; ++ky) {
              const int64_t y = oy * win.strides[0] - win.pads_begin[0] + ky * win.dilations[0];
              for (int64_t kx = 0; kx < l.kw; ++kx) {
                const int64_t xx = ox * win.strides[1] - win.pads_begin[1] + kx * win.dilations[1];
                *p++ = y >= 0 && y < ih && xx >= 0 && xx < iw ? plane[y * iw + xx] : 0.0f;
              }
            }
          }
          if (++filled == kPatchRows) {
            add_gram(patches.data(), filled, d, hf);
            filled = 0;
          }
        }
    add_gram(patches.data(), filled, d, hf);
    flush(gi);
  }
  h.count += n * oh * ow;
}

// The dot product of a and b over n, in eight independent sums (a compiler keeps one chain of
// additions in order, 4 cycles each).
double dot(const double* a, const double* b, int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) s[j] += a[k + j] * b[k + j];
  for (; k < n; ++k) s[0] += a[k] * b[k];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// In place: the lower Cholesky factor of the SPD matrix a (d x d, row-major; the upper triangle is
// left as it was); false when a pivot is not positive. The rows below each pivot in parallel.
bool cholesky_lower(std::vector<double>& a, int64_t d) {
  for (int64_t j = 0; j < d; ++j) {
    double* rj = a.data() + j * d;
    const double s = rj[j] - dot(rj, rj, j);
    if (!(s > 0)) return false;
    const double djj = std::sqrt(s);
    rj[j] = djj;
    parallel_for(d - j - 1, std::max<int64_t>(1, 16384 / (j + 1)), [&](int64_t b, int64_t e) {
      for (int64_t i = j + 1 + b; i < j + 1 + e; ++i) {
        double* ri = a.data() + i * d;
        ri[j] = (ri[j] - dot(ri, rj, j)) / djj;
      }
    });
  }
  return true;
}

// U upper triangular with U^T U = H^-1, from H (d x d). With J the reversal and chol(J H J) = L,
// H = (J L J)(J L J)^T, so H^-1 = (J L^-1 J)^T (J L^-1 J) and U = J L^-1 J (upper).
bool inverse_upper_factor(const std::vector<double>& h, int64_t d, std::vector<double>& u) {
  std::vector<double> l(static_cast<size_t>(d * d));
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j)
      l[static_cast<size_t>(i * d + j)] = h[static_cast<size_t>((d - 1 - i) * d + (d - 1 - j))];
  if (!cholesky_lower(l, d)) return false;
  // Column c of X = L^-1 by forward substitution, kept as row c of xt (contiguous for the dot
  // products): X[c][c] = 1 / L[c][c], X[i][c] = -(sum_{c<=k<i} L[i][k] X[k][c]) / L[i][i].
  // Columns are independent; column c costs ~(d - c)^2, so each task takes c and d - 1 - c.
  std::vector<double> xt(static_cast<size_t>(d * d), 0.0);
  auto column = [&](int64_t c) {
    double* x = xt.data() + c * d;
    x[c] = 1.0 / l[static_cast<size_t>(c * d + c)];
    for (int64_t i = c + 1; i < d; ++i) {
      const double* li = l.data() + i * d;
      x[i] = -dot(li + c, x + c, i - c) / li[i];
    }
  };
  parallel_for((d + 1) / 2, 1, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      column(p);
      if (d - 1 - p != p) column(d - 1 - p);
    }
  });
  u.assign(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = i; j < d; ++j)
      u[static_cast<size_t>(i * d + j)] = xt[static_cast<size_t>((d - 1 - j) * d + (d - 1 - i))];
  return true;
}

int32_t round_on(double v, const AffineQuant& q) {
  return quantize_value(static_cast<float>(v), q);
}

}  // namespace

bool gptq_supports(const Graph& g, const Node& n) {
  if (n.inputs.size() < 2 || g.initializers.count(n.inputs[0])) return false;
  if (n.op_type == "Conv") {
    const Tensor* w = constant_f32(g, n.inputs[1], 4);
    return w != nullptr && w->dim(1) * w->dim(2) * w->dim(3) <= kMaxDim;
  }
  if (n.op_type == "MatMul" || (n.op_type == "Gemm" && n.attr_int("transA", 0) == 0)) {
    const Tensor* w = constant_f32(g, n.inputs[1], 2);
    if (w == nullptr) return false;
    const bool trans_b = n.op_type == "Gemm" && n.attr_int("transB", 0) != 0;
    return (trans_b ? w->dim(1) : w->dim(0)) <= kMaxDim;
  }
  return false;
}

std::map<std::string, WeightHessian> collect_weight_hessians(const Model& model,
                                                             const std::set<std::string>& nodes,
                                                             const ForEachBatch& batches,
                                                             const SessionOptions& options,
                                                             uint64_t budget_bytes) {
  std::vector<HessianLayer> layers;
  for (const Node& n : model.graph.nodes)
    if (nodes.count(n.name) && gptq_supports(model.graph, n))
      layers.push_back(hessian_layer(model.graph, n));
  std::map<std::string, WeightHessian> out;
  size_t next = 0;
  while (next < layers.size()) {
    // One run: the layers from `next` whose matrices fit the budget together (at least one).
    size_t end = next;
    uint64_t bytes = 0;
    while (end < layers.size()) {
      const HessianLayer& l = layers[end];
      const uint64_t b = static_cast<uint64_t>(l.groups * l.dim * l.dim) * sizeof(double);
      if (end > next && bytes + b > budget_bytes) break;
      bytes += b;
      ++end;
    }
    std::vector<std::string> inputs;
    for (size_t k = next; k < end; ++k) {
      const HessianLayer& l = layers[k];
      WeightHessian& h = out[l.node->name];
      h.groups = l.groups;
      h.dim = l.dim;
      h.h.assign(static_cast<size_t>(l.groups * l.dim * l.dim), 0.0);
      inputs.push_back(l.node->inputs[0]);
    }
    for_each_value_batch(model, inputs, batches, options, [&](const std::vector<Tensor>& xs) {
      for (size_t k = next; k < end; ++k)
        accumulate(layers[k], xs[k - next], out[layers[k].node->name]);
    });
    next = end;
  }
  return out;
}

void gptq_round(const WeightRows& w, const WeightHessian& h, const std::vector<AffineQuant>& q,
                int32_t* out) {
  const int64_t d = w.cols, groups = h.groups;
  NNA_CHECK(d == h.dim && groups >= 1 && w.rows % groups == 0,
            "GPTQ: a {}x{} weight does not match {} group(s) of {}-input statistics", w.rows,
            w.cols, groups, h.dim);
  NNA_CHECK(q.size() == 1 || static_cast<int64_t>(q.size()) == w.rows,
            "GPTQ: {} grids for {} rows", q.size(), w.rows);
  const int64_t per_group = w.rows / groups;
  auto grid = [&](int64_t r) -> const AffineQuant& {
    return q[q.size() == 1 ? 0 : static_cast<size_t>(r)];
  };
  auto at = [&](int64_t r, int64_t c) { return r * w.row_stride + c * w.col_stride; };
  std::vector<double> hg(static_cast<size_t>(d * d)), u, work;
  for (int64_t gi = 0; gi < groups; ++gi) {
    const int64_t r0 = gi * per_group;
    std::copy_n(h.h.begin() + gi * d * d, d * d, hg.begin());
    // Inputs that never carry a value: their weights cannot matter; they round to nearest.
    double mean_diag = 0;
    for (int64_t i = 0; i < d; ++i) mean_diag += hg[static_cast<size_t>(i * d + i)];
    mean_diag /= static_cast<double>(d);
    std::vector<bool> dead(static_cast<size_t>(d));
    for (int64_t i = 0; i < d; ++i) {
      double& hii = hg[static_cast<size_t>(i * d + i)];
      dead[static_cast<size_t>(i)] = !(hii > 0);
      if (dead[static_cast<size_t>(i)]) {
        for (int64_t k = 0; k < d; ++k)
          hg[static_cast<size_t>(i * d + k)] = hg[static_cast<size_t>(k * d + i)] = 0;
        hii = 1;
      }
    }
    const double damp = 0.01 * (mean_diag > 0 ? mean_diag : 1.0);
    // Act order: the inputs with the largest H diagonal first.
    std::vector<int64_t> order(static_cast<size_t>(d));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return hg[static_cast<size_t>(a * d + a)] > hg[static_cast<size_t>(b * d + b)];
    });
    std::vector<double> hp(static_cast<size_t>(d * d));
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j)
        hp[static_cast<size_t>(i * d + j)] =
            hg[static_cast<size_t>(order[static_cast<size_t>(i)] * d + order[static_cast<size_t>(j)])] +
            (i == j ? damp : 0.0);
    const bool factored = inverse_upper_factor(hp, d, u);
    // work: column-major over the group's rows (input i of every row contiguous), permuted.
    work.assign(static_cast<size_t>(d * per_group), 0.0);
    for (int64_t i = 0; i < d; ++i)
      for (int64_t r = 0; r < per_group; ++r)
        work[static_cast<size_t>(i * per_group + r)] =
            w.data[at(r0 + r, order[static_cast<size_t>(i)])];
    std::vector<double> err(static_cast<size_t>(per_group));
    for (int64_t i = 0; i < d; ++i) {
      const int64_t col = order[static_cast<size_t>(i)];
      double* wi = work.data() + i * per_group;
      for (int64_t r = 0; r < per_group; ++r) {
        const AffineQuant& g = grid(r0 + r);
        const int32_t v = round_on(wi[r], g);
        out[at(r0 + r, col)] = v;
        err[static_cast<size_t>(r)] =
            factored ? (wi[r] - dequantize_value(v, g)) / u[static_cast<size_t>(i * d + i)] : 0;
      }
      if (!factored || dead[static_cast<size_t>(col)]) continue;
      parallel_for(d - i - 1, std::max<int64_t>(1, 16384 / per_group), [&](int64_t b, int64_t e) {
        for (int64_t k = i + 1 + b; k < i + 1 + e; ++k) {
          const double uik = u[static_cast<size_t>(i * d + k)];
          if (uik == 0) continue;
          double* wk = work.data() + k * per_group;
          for (int64_t r = 0; r < per_group; ++r) wk[r] -= err[static_cast<size_t>(r)] * uik;
        }
      });
    }
  }
}

}  // namespace nnaccel
