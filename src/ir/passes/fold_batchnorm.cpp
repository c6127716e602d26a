#include <cmath>

#include "ir/passes/passes.hpp"
#include "ir/verifier.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

template <typename T>
void set_at(Tensor& t, int64_t i, double v) {
  t.data<T>()[i] = static_cast<T>(v);
}

void store(Tensor& t, int64_t i, double v) {
  if (t.dtype() == DType::f32)
    set_at<float>(t, i, v);
  else
    set_at<double>(t, i, v);
}

// The per-channel scale s = gamma / sqrt(var + eps) and shift = beta - mean * s of an inference
// BatchNormalization, or false when its parameters are not constant 1-D tensors of `channels`.
bool bn_params(const Graph& g, const Node& bn, int64_t channels, DType dtype,
               std::vector<double>& s, std::vector<double>& shift) {
  for (size_t i = 1; i < 5; ++i) {
    if (i >= bn.inputs.size() || !is_constant_initializer(g, bn.inputs[i])) return false;
    const Tensor& t = g.initializers.at(bn.inputs[i]);
    if (t.dtype() != dtype || t.numel() != channels || t.rank() != 1) return false;
  }
  const Tensor& gamma = g.initializers.at(bn.inputs[1]);
  const Tensor& beta = g.initializers.at(bn.inputs[2]);
  const Tensor& mean = g.initializers.at(bn.inputs[3]);
  const Tensor& var = g.initializers.at(bn.inputs[4]);
  double eps = bn.attr_float("epsilon", 1e-5f);
  s.resize(static_cast<size_t>(channels));
  shift.resize(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    // The kernel computes in the tensor's dtype; follow it so results agree to rounding.
    double sc = dtype == DType::f32
                    ? static_cast<float>(gamma.at_f64(c)) /
                          std::sqrt(static_cast<float>(var.at_f64(c)) + static_cast<float>(eps))
                    : gamma.at_f64(c) / std::sqrt(var.at_f64(c) + eps);
    s[static_cast<size_t>(c)] = sc;
    shift[static_cast<size_t>(c)] = beta.at_f64(c) - mean.at_f64(c) * sc;
  }
  return true;
}

bool is_inference_bn(const Node& n) {
  if (!n.domain.empty() || n.op_type != "BatchNormalization") return false;
  if (n.attr_int("training_mode", 0) != 0) return false;
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (!n.outputs[i].empty()) return false;
  return n.inputs.size() == 5 && !n.outputs.empty() && !n.outputs[0].empty();
}

// Conv: W [M, C/group, k...], element i feeds output channel i / (C/group * k).
// ConvTranspose: W [C, M/group, k...], W[c, j] feeds output channel (c / (C/group)) * M/group + j.
// Each weight is scaled by its output channel's s; bias (M) = b * s + shift.
bool fold_into_conv(Graph& g, Node& conv, const Node& bn, bool transposed) {
  if (conv.inputs.size() < 2 || !is_constant_initializer(g, conv.inputs[1])) return false;
  const Tensor& w = g.initializers.at(conv.inputs[1]);
  if ((w.dtype() != DType::f32 && w.dtype() != DType::f64) || w.rank() < 2) return false;
  const int64_t group = transposed ? conv.attr_int("group", 1) : 1;
  const int64_t d0 = w.dim(0), d1 = w.dim(1);
  if (group <= 0 || d0 % group != 0) return false;
  const int64_t M = transposed ? d1 * group : d0;
  bool has_bias = conv.inputs.size() > 2 && !conv.inputs[2].empty();
  if (has_bias) {
    if (!is_constant_initializer(g, conv.inputs[2])) return false;
    const Tensor& b = g.initializers.at(conv.inputs[2]);
    if (b.dtype() != w.dtype() || b.numel() != M) return false;
  }
  std::vector<double> s, shift;
  if (!bn_params(g, bn, M, w.dtype(), s, shift)) return false;
  Tensor nw = w.clone();
  const int64_t spatial = (d0 == 0 || d1 == 0) ? 0 : w.numel() / (d0 * d1);
  for (int64_t i0 = 0; i0 < d0; ++i0)
    for (int64_t i1 = 0; i1 < d1; ++i1) {
      const int64_t channel = transposed ? (i0 / (d0 / group)) * d1 + i1 : i0;
      const double sc = s[static_cast<size_t>(channel)];
      for (int64_t k = 0; k < spatial; ++k) {
        const int64_t idx = (i0 * d1 + i1) * spatial + k;
        store(nw, idx, w.at_f64(idx) * sc);
      }
    }
  Tensor nb(w.dtype(), {M});
  for (int64_t o = 0; o < M; ++o) {
    double b = has_bias ? g.initializers.at(conv.inputs[2]).at_f64(o) : 0.0;
    store(nb, o, b * s[static_cast<size_t>(o)] + shift[static_cast<size_t>(o)]);
  }
  std::string wn = unique_name(g, conv.inputs[1] + "_bnfold");
  g.initializers[wn] = nw;
  std::string bname =
      unique_name(g, (has_bias ? conv.inputs[2] : conv.inputs[1] + "_bias") + "_bnfold");
  g.initializers[bname] = nb;
  conv.inputs[1] = wn;
  if (conv.inputs.size() < 3) conv.inputs.resize(3);
  conv.inputs[2] = bname;
  return true;
}

// Gemm Y = alpha * A * B' + beta * C with Y [M, N]; BN channels are N (the columns of B').
bool fold_into_gemm(Graph& g, Node& gemm, const Node& bn) {
  if (gemm.inputs.size() < 2 || !is_constant_initializer(g, gemm.inputs[1])) return false;
  const Tensor& b = g.initializers.at(gemm.inputs[1]);
  if ((b.dtype() != DType::f32 && b.dtype() != DType::f64) || b.rank() != 2) return false;
  const bool trans_b = gemm.attr_int("transB", 0) != 0;
  const int64_t N = trans_b ? b.dim(0) : b.dim(1);
  const int64_t K = trans_b ? b.dim(1) : b.dim(0);
  const double beta = gemm.attr_float("beta", 1.0f);
  bool has_c = gemm.inputs.size() > 2 && !gemm.inputs[2].empty();
  Tensor c;
  if (has_c) {
    if (!is_constant_initializer(g, gemm.inputs[2])) return false;
    c = g.initializers.at(gemm.inputs[2]);
    // A per-column bias ([N], [1, N]) or a scalar ([], [1], [1, 1]) only.
    bool per_col = c.numel() == N && (c.rank() == 1 || (c.rank() == 2 && c.dim(0) == 1));
    bool scalar = c.numel() == 1 && c.rank() <= 2;
    if (c.dtype() != b.dtype() || !(per_col || scalar)) return false;
  }
  std::vector<double> s, shift;
  if (!bn_params(g, bn, N, b.dtype(), s, shift)) return false;
  Tensor nb = b.clone();
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      int64_t idx = trans_b ? n * K + k : k * N + n;
      store(nb, idx, b.at_f64(idx) * s[static_cast<size_t>(n)]);
    }
  Tensor nc(b.dtype(), {N});
  for (int64_t n = 0; n < N; ++n) {
    double cv = has_c ? beta * c.at_f64(c.numel() == 1 ? 0 : n) : 0.0;
    store(nc, n, cv * s[static_cast<size_t>(n)] + shift[static_cast<size_t>(n)]);
  }
  std::string bn_name = unique_name(g, gemm.inputs[1] + "_bnfold");
  g.initializers[bn_name] = nb;
  std::string cn = unique_name(g, (has_c ? gemm.inputs[2] : gemm.inputs[1] + "_bias") + "_bnfold");
  g.initializers[cn] = nc;
  gemm.inputs[1] = bn_name;
  if (gemm.inputs.size() < 3) gemm.inputs.resize(3);
  gemm.inputs[2] = cn;
  Attribute one;
  one.name = "beta";
  one.kind = Attribute::Kind::f;
  one.f = 1.0f;
  gemm.set_attr(one);
  return true;
}

}  // namespace

void fold_batchnorm(Model& m) {
  Graph& g = m.graph;
  verify_graph(g);
  std::map<std::string, int> reads = read_counts(g);
  std::map<std::string, size_t> producer;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    for (const std::string& o : g.nodes[k].outputs)
      if (!o.empty()) producer[o] = k;
  std::vector<bool> drop(g.nodes.size(), false);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& bn = g.nodes[k];
    if (!is_inference_bn(bn)) continue;
    auto p = producer.find(bn.inputs[0]);
    if (p == producer.end() || reads[bn.inputs[0]] != 1) continue;
    Node& prod = g.nodes[p->second];
    if (!prod.domain.empty() || prod.outputs.size() != 1) continue;
    bool done = false;
    if (prod.op_type == "Conv")
      done = fold_into_conv(g, prod, bn, /*transposed=*/false);
    else if (prod.op_type == "ConvTranspose")
      done = fold_into_conv(g, prod, bn, /*transposed=*/true);
    else if (prod.op_type == "Gemm")
      done = fold_into_gemm(g, prod, bn);
    if (!done) continue;
    prod.outputs[0] = bn.outputs[0];
    drop[k] = true;
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (!drop[k]) kept.push_back(std::move(g.nodes[k]));
  g.nodes = std::move(kept);
}

}  // namespace nnaccel
