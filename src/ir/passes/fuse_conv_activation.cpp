// Conv/Gemm/MatMul with what follows them -> ai.nnaccel FusedConv/FusedGemm/FusedMatMul, so the
// fast kernels do bias, residual add and activation while the output is still in cache.
#include <cmath>
#include <limits>

#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"
#include "ops/fused_activation.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

constexpr const char* kDomain = "ai.nnaccel";

// A rewrite found in the current view: the nodes it replaces (dead) and the node written in the
// first one's place.
struct Fusion {
  size_t at;
  Node node;
  std::vector<size_t> absorbed;
  std::map<std::string, Tensor> new_initializers;
};

// The activation node `n` applies to its input 0 as a FusedActivation, if it is one we fuse.
std::optional<FusedActivation> activation_of(const GraphView& v, const Node& n) {
  FusedActivation a;
  if (n.inputs.empty() || n.outputs.size() != 1) return std::nullopt;
  if (n.domain == kDomain && n.op_type == "Gelu") {
    const std::string approx = n.attr_string("approximate", "none");
    if (approx != "none" && approx != "tanh") return std::nullopt;
    a.kind = approx == "none" ? ActivationKind::gelu : ActivationKind::gelu_tanh;
    return a;
  }
  if (!n.domain.empty()) return std::nullopt;
  if (n.op_type == "Relu") {
    a.kind = ActivationKind::relu;
  } else if (n.op_type == "Sigmoid") {
    a.kind = ActivationKind::sigmoid;
  } else if (n.op_type == "Tanh") {
    a.kind = ActivationKind::tanh;
  } else if (n.op_type == "HardSwish") {
    a.kind = ActivationKind::hard_swish;
  } else if (n.op_type == "LeakyRelu") {
    a.kind = ActivationKind::leaky_relu;
    a.alpha = n.attr_float("alpha", 0.01f);
  } else if (n.op_type == "HardSigmoid") {
    a.kind = ActivationKind::hard_sigmoid;
    a.alpha = n.attr_float("alpha", 0.2f);
    a.beta = n.attr_float("beta", 0.5f);
  } else if (n.op_type == "Clip") {
    a.kind = ActivationKind::clip;
    a.alpha = -std::numeric_limits<float>::infinity();
    a.beta = std::numeric_limits<float>::infinity();
    for (size_t i = 1; i < n.inputs.size() && i < 3; ++i) {
      if (n.inputs[i].empty()) continue;
      std::optional<double> bound = v.scalar(n.inputs[i]);
      if (!bound) return std::nullopt;
      (i == 1 ? a.alpha : a.beta) = static_cast<float>(*bound);
    }
  } else {
    return std::nullopt;
  }
  return a;
}

// HardSwish as x * Clip(x + 3, 0, 6) / 6 (Paddle's exports; the last step a Div by 6 or a Mul
// by 1/6), with `value` read by the Add and the first Mul.
bool hard_swish_by_clip(const GraphView& v, const std::string& value, std::vector<size_t>& absorbed,
                        std::string& out) {
  const Graph& g = v.graph();
  const std::vector<size_t>& readers = v.readers(value);
  for (int pick = 0; pick < 2; ++pick) {
    const size_t add_at = readers[static_cast<size_t>(pick)];
    const size_t mul_at = readers[static_cast<size_t>(1 - pick)];
    const Node& add = g.nodes[add_at];
    const Node& mul = g.nodes[mul_at];
    if (!is_op(add, "Add") || !is_op(mul, "Mul")) continue;
    std::optional<double> three = v.scalar(other_input(add, value));
    if (!three || *three != 3.0) continue;
    const int clip_at = v.sole_reader(add.outputs[0]);
    if (clip_at < 0) continue;
    const Node& clip = g.nodes[static_cast<size_t>(clip_at)];
    std::optional<FusedActivation> bounds = activation_of(v, clip);
    if (!bounds || bounds->kind != ActivationKind::clip || clip.inputs[0] != add.outputs[0] ||
        bounds->alpha != 0.0f || bounds->beta != 6.0f)
      continue;
    if (other_input(mul, value) != clip.outputs[0] || v.sole_reader(clip.outputs[0]) < 0) continue;
    const int last_at = v.sole_reader(mul.outputs[0]);
    if (last_at < 0) continue;
    const Node& last = g.nodes[static_cast<size_t>(last_at)];
    std::optional<double> c = v.scalar(other_input(last, mul.outputs[0]));
    const bool by_div = is_op(last, "Div") && last.inputs[0] == mul.outputs[0] && c && *c == 6.0;
    const bool by_mul = is_op(last, "Mul") && c && near(*c, 1.0 / 6);
    if (!by_div && !by_mul) continue;
    absorbed.insert(absorbed.end(),
                    {add_at, static_cast<size_t>(clip_at), mul_at, static_cast<size_t>(last_at)});
    out = last.outputs[0];
    return true;
  }
  return false;
}

// Follows `value` into the activation that alone reads it: one activation node, HardSwish
// written as x * HardSigmoid(x, 1/6, 1/2) (what torch exports below opset 14) or with a Clip, or
// ReLU followed
// by a Clip whose bounds make the ReLU redundant (torch's ReLU6). Adds the nodes it absorbs.
std::optional<FusedActivation> follow_activation(const GraphView& v, const std::string& value,
                                                 std::vector<size_t>& absorbed, std::string& out) {
  const Graph& g = v.graph();
  const std::vector<size_t>& readers = v.readers(value);
  if (v.read_count(value) == 2 && readers.size() == 2) {
    if (hard_swish_by_clip(v, value, absorbed, out))
      return FusedActivation{ActivationKind::hard_swish, 0.0f, 0.0f};
    for (int pick = 0; pick < 2; ++pick) {
      const Node& hs = g.nodes[readers[static_cast<size_t>(pick)]];
      const Node& mul = g.nodes[readers[static_cast<size_t>(1 - pick)]];
      if (!is_op(hs, "HardSigmoid") || !is_op(mul, "Mul") || hs.inputs[0] != value) continue;
      if (!near(hs.attr_float("alpha", 0.2f), 1.0 / 6) || !near(hs.attr_float("beta", 0.5f), 0.5))
        continue;
      if (other_input(mul, value) != hs.outputs[0] || v.sole_reader(hs.outputs[0]) < 0) continue;
      absorbed.push_back(readers[static_cast<size_t>(pick)]);
      absorbed.push_back(readers[static_cast<size_t>(1 - pick)]);
      out = mul.outputs[0];
      return FusedActivation{ActivationKind::hard_swish, 0.0f, 0.0f};
    }
    return std::nullopt;
  }
  const int r = v.sole_reader(value);
  if (r < 0) return std::nullopt;
  const Node& n = g.nodes[static_cast<size_t>(r)];
  if (n.inputs.empty() || n.inputs[0] != value) return std::nullopt;
  std::optional<FusedActivation> a = activation_of(v, n);
  if (!a) return std::nullopt;
  absorbed.push_back(static_cast<size_t>(r));
  out = n.outputs[0];
  if (a->kind == ActivationKind::relu) {
    const int c = v.sole_reader(out);
    if (c >= 0) {
      const Node& clip = g.nodes[static_cast<size_t>(c)];
      std::optional<FusedActivation> b = activation_of(v, clip);
      if (b && b->kind == ActivationKind::clip && clip.inputs[0] == out && b->alpha >= 0.0f) {
        absorbed.push_back(static_cast<size_t>(c));
        out = clip.outputs[0];
        return b;
      }
    }
  }
  return a;
}

void set_activation(Node& n, const FusedActivation& a) {
  n.set_attr(Attribute::of_string("activation", activation_name(a.kind)));
  n.set_attr(Attribute::of_floats("activation_params", activation_params(a)));
}

// A constant Add operand holding one value per channel (or one for all), as a bias [C].
std::optional<Tensor> per_channel_bias(const GraphView& v, const std::string& name,
                                       int64_t channels, size_t rank) {
  const Tensor* t = v.constant(name);
  if (t == nullptr) return std::nullopt;
  std::optional<std::vector<float>> values = per_channel_values(*t, channels, rank);
  if (!values) return std::nullopt;
  Tensor b(DType::f32, {channels});
  std::copy(values->begin(), values->end(), b.data<float>());
  return b;
}

std::optional<Fusion> match_conv(const GraphView& v, size_t k) {
  const Graph& g = v.graph();
  const Node& conv = g.nodes[k];
  if (conv.outputs.size() != 1 || conv.inputs.size() < 2 || !v.is_f32(conv.outputs[0]))
    return std::nullopt;
  const TypeInfo* wt = v.type(conv.inputs[1]);
  const TypeInfo* yt = v.type(conv.outputs[0]);
  if (wt == nullptr || !wt->has_shape || wt->dims.empty() || !wt->dims[0].known())
    return std::nullopt;
  Fusion f{k, conv, {}, {}};
  f.node.op_type = "FusedConv";
  f.node.domain = kDomain;
  std::string cur = conv.outputs[0];
  const bool has_bias = conv.inputs.size() > 2 && !conv.inputs[2].empty();
  auto sole_add = [&](const std::string& value) -> const Node* {
    const int r = v.sole_reader(value);
    if (r < 0 || !is_op(g.nodes[static_cast<size_t>(r)], "Add")) return nullptr;
    return &g.nodes[static_cast<size_t>(r)];
  };
  // Per-channel bias when the Conv has none (exporters of convs without bias + BN folding).
  if (const Node* add = sole_add(cur); add != nullptr && !has_bias) {
    std::optional<Tensor> b =
        per_channel_bias(v, other_input(*add, cur), wt->dims[0].value, wt->dims.size());
    if (b) {
      const std::string name = unique_name(g, conv.outputs[0] + "_bias");
      f.node.inputs.resize(3);
      f.node.inputs[2] = name;
      f.new_initializers[name] = *b;
      f.absorbed.push_back(static_cast<size_t>(v.sole_reader(cur)));
      cur = add->outputs[0];
    }
  }
  // Residual add: the other operand has the output's shape exactly.
  if (const Node* add = sole_add(cur); add != nullptr && yt != nullptr) {
    const std::string z = other_input(*add, cur);
    const TypeInfo* zt = v.type(z);
    if (!z.empty() && z != cur && zt != nullptr && zt->dtype == DType::f32 &&
        same_shape(*zt, *yt)) {
      f.node.inputs.resize(4);
      f.node.inputs[3] = z;
      f.absorbed.push_back(static_cast<size_t>(v.sole_reader(cur)));
      cur = add->outputs[0];
    }
  }
  std::string out = cur;
  std::optional<FusedActivation> a = follow_activation(v, cur, f.absorbed, out);
  if (f.absorbed.empty()) return std::nullopt;
  set_activation(f.node, a.value_or(FusedActivation{}));
  f.node.outputs = {out};
  return f;
}

std::optional<Fusion> match_gemm(const GraphView& v, size_t k) {
  const Node& gemm = v.graph().nodes[k];
  if (gemm.outputs.size() != 1 || !v.is_f32(gemm.outputs[0])) return std::nullopt;
  Fusion f{k, gemm, {}, {}};
  std::string out;
  std::optional<FusedActivation> a = follow_activation(v, gemm.outputs[0], f.absorbed, out);
  if (!a) return std::nullopt;
  f.node.op_type = "FusedGemm";
  f.node.domain = kDomain;
  set_activation(f.node, *a);
  f.node.outputs = {out};
  return f;
}

// MatMul by a constant 2-D B, then an Add of a constant [N] bias and/or an activation.
std::optional<Fusion> match_matmul(const GraphView& v, size_t k) {
  const Graph& g = v.graph();
  const Node& mm = g.nodes[k];
  if (mm.inputs.size() != 2 || mm.outputs.size() != 1 || !v.is_f32(mm.outputs[0]))
    return std::nullopt;
  const Tensor* b = v.constant(mm.inputs[1]);
  if (b == nullptr || b->rank() != 2 || b->dtype() != DType::f32) return std::nullopt;
  const TypeInfo* at = v.type(mm.inputs[0]);
  if (at == nullptr || !at->has_shape || at->dims.empty()) return std::nullopt;
  const int64_t n = b->shape()[1];
  const size_t out_rank = at->dims.size();  // [.., M, K] x [K, N] keeps A's rank (1-D A: [N])
  Fusion f{k, mm, {}, {}};
  f.node.op_type = "FusedMatMul";
  f.node.domain = kDomain;
  std::string cur = mm.outputs[0];
  const int r = v.sole_reader(cur);
  if (r >= 0 && is_op(g.nodes[static_cast<size_t>(r)], "Add")) {
    const Node& add = g.nodes[static_cast<size_t>(r)];
    const Tensor* bias = v.constant(other_input(add, cur));
    bool ok = bias != nullptr && bias->dtype() == DType::f32 && bias->numel() == n &&
              static_cast<size_t>(bias->rank()) <= out_rank && bias->rank() >= 1;
    for (int64_t d = 0; ok && d + 1 < bias->rank(); ++d)
      ok = bias->shape()[static_cast<size_t>(d)] == 1;
    if (ok) {
      Tensor flat(DType::f32, {n});
      for (int64_t j = 0; j < n; ++j) flat.data<float>()[j] = bias->data<float>()[j];
      const std::string name = unique_name(g, cur + "_bias");
      f.node.inputs.push_back(name);
      f.new_initializers[name] = flat;
      f.absorbed.push_back(static_cast<size_t>(r));
      cur = add.outputs[0];
    }
  }
  std::string out = cur;
  std::optional<FusedActivation> a = follow_activation(v, cur, f.absorbed, out);
  if (f.absorbed.empty()) return std::nullopt;
  set_activation(f.node, a.value_or(FusedActivation{}));
  f.node.outputs = {out};
  return f;
}

}  // namespace

void fuse_conv_activation(Model& m) {
  Graph& g = m.graph;
  std::vector<Fusion> fusions;
  {
    GraphView v(g);
    std::vector<bool> claimed(g.nodes.size(), false);
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      const Node& n = g.nodes[k];
      std::optional<Fusion> f;
      if (is_op(n, "Conv"))
        f = match_conv(v, k);
      else if (is_op(n, "Gemm"))
        f = match_gemm(v, k);
      else if (is_op(n, "MatMul"))
        f = match_matmul(v, k);
      if (!f || claimed[k]) continue;
      bool free = true;
      for (size_t a : f->absorbed) free = free && !claimed[a];
      if (!free) continue;
      claimed[k] = true;
      for (size_t a : f->absorbed) claimed[a] = true;
      fusions.push_back(std::move(*f));
    }
  }
  if (fusions.empty()) return;
  std::vector<bool> dead(g.nodes.size(), false);
  for (Fusion& f : fusions) {
    for (size_t a : f.absorbed) dead[a] = true;
    for (auto& [name, t] : f.new_initializers) g.initializers[name] = t;
    g.nodes[f.at] = std::move(f.node);
  }
  m.opsets[kDomain] = 1;
  erase_nodes(g, dead);
}

}  // namespace nnaccel
