// QDQ units -> ai.nnaccel integer ops (INT8_CONTRACT.md, pipeline step 2). A unit is
//   DequantizeLinear(inputs) -> op [-> activation] -> QuantizeLinear
// and becomes one QConv / QMatMul / QAdd reading the integers, or a transparent op (MaxPool,
// Reshape, ...) running on the integers when its DQ and Q have equal qparams. Only what is
// equivalent (up to float rounding of the float graph) is rewritten: per-tensor activations,
// constant int8 weights per tensor or per output channel, int32 biases at x_scale * w_scale.
// Dequantize nodes are left in place; the ones nothing reads any more go with remove_dead_nodes.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "core/verbose.hpp"
#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"
#include "ops/fused_activation.hpp"
#include "ops/op_registry.hpp"
#include "ops/quant_kernels.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

constexpr const char* kDomain = "ai.nnaccel";

struct Rewrite {
  size_t at;
  Node node;
  std::vector<size_t> absorbed;
};

// A per-tensor (de)quantization: the integer value's name and its qparams' initializer names.
struct PerTensor {
  std::string value, scale, zero_point;
  DType dtype = DType::undefined;
  float scale_value = 0;
  int64_t zero_point_value = 0;
};

bool same_qparams(const PerTensor& a, const PerTensor& b) {
  return a.dtype == b.dtype && a.scale_value == b.scale_value &&
         a.zero_point_value == b.zero_point_value;
}

bool is_int8(DType t) { return t == DType::u8 || t == DType::i8; }

class Matcher {
 public:
  Matcher(const GraphView& v, Graph& g) : v_(v), g_(g) {}

  std::optional<Rewrite> match(size_t k) {
    const Node& n = g_.nodes[k];
    reason_.clear();
    std::optional<Rewrite> r;
    if (is_op(n, "Conv") || (n.domain == kDomain && n.op_type == "FusedConv")) {
      r = match_conv(k);
    } else if (is_op(n, "MatMul") || is_op(n, "Gemm") ||
               (n.domain == kDomain && (n.op_type == "FusedMatMul" || n.op_type == "FusedGemm"))) {
      r = match_matmul(k);
    } else if (is_op(n, "Add")) {
      r = match_add(k);
    } else if (transparent(n)) {
      r = match_transparent(k);
    } else {
      return std::nullopt;
    }
    if (!r && !reason_.empty() && verbose_enabled())
      fmt::print(stderr,
                 "nnaccel: fuse_qdq: {} stays DequantizeLinear -> op -> QuantizeLinear: {}\n",
                 n.describe(), reason_);
    return r;
  }

  std::map<std::string, Tensor>& new_initializers() { return new_initializers_; }

 private:
  static bool transparent(const Node& n) {
    static const std::set<std::string> kOps = {"MaxPool", "Reshape",   "Flatten",  "Transpose",
                                               "Squeeze", "Unsqueeze", "Identity", "Concat"};
    return n.domain.empty() && kOps.count(n.op_type) > 0;
  }

  std::nullopt_t decline(std::string why) {
    reason_ = std::move(why);
    return std::nullopt;
  }

  std::string fresh(const std::string& base) {
    std::string name = unique_name(g_, base);
    for (int i = 1; new_initializers_.count(name); ++i)
      name = unique_name(g_, base + "_" + std::to_string(i));
    return name;
  }

  // A zero point of `t` shaped like `like` (an absent zero point is 0).
  std::string zeros(DType t, const Shape& like) {
    const std::string key = fmt::format("{}:{}", dtype_name(t), shape_str(like));
    auto it = zeros_.find(key);
    if (it != zeros_.end()) return it->second;
    const std::string name = fresh(fmt::format("qdq_zero_{}", dtype_name(t)));
    new_initializers_[name] = Tensor(t, like);
    zeros_[key] = name;
    return name;
  }

  DType dtype_of(const std::string& name) const {
    if (const Tensor* c = v_.constant(name)) return c->dtype();
    const TypeInfo* t = v_.type(name);
    return t != nullptr ? t->dtype : DType::undefined;
  }

  // Scale (f32) and zero point (absent, or the integer's dtype) of a per-tensor node.
  std::optional<PerTensor> per_tensor(const Node& n, const std::string& integer, DType dtype) {
    if (n.inputs.size() < 2 || !is_int8(dtype)) return std::nullopt;
    const Tensor* s = v_.constant(n.inputs[1]);
    if (s == nullptr || s->dtype() != DType::f32 || s->numel() != 1 || s->rank() > 1)
      return std::nullopt;
    PerTensor p{integer, n.inputs[1], "", dtype, s->data<float>()[0], 0};
    if (!(p.scale_value > 0) || !std::isfinite(p.scale_value)) return std::nullopt;
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
      const Tensor* z = v_.constant(n.inputs[2]);
      if (z == nullptr || z->dtype() != dtype || z->numel() != 1 || z->rank() > 1)
        return std::nullopt;
      p.zero_point = n.inputs[2];
      p.zero_point_value = static_cast<int64_t>(z->at_f64(0));
    } else {
      p.zero_point = zeros(dtype, {});
    }
    return p;
  }

  // `value` written by a per-tensor DequantizeLinear of a u8/i8 value.
  std::optional<PerTensor> dequantized(const std::string& value) {
    const Node* dq = v_.producer(value);
    if (dq == nullptr || !is_op(*dq, "DequantizeLinear") || dq->inputs.empty()) return std::nullopt;
    return per_tensor(*dq, dq->inputs[0], dtype_of(dq->inputs[0]));
  }

  // The QuantizeLinear that alone reads `value` (per tensor, to u8/i8), and its index.
  std::optional<PerTensor> quantized_by(const std::string& value, int& at) {
    at = v_.sole_reader(value);
    if (at < 0) return std::nullopt;
    const Node& q = g_.nodes[static_cast<size_t>(at)];
    if (!is_op(q, "QuantizeLinear") || q.inputs.empty() || q.inputs[0] != value ||
        q.outputs.size() != 1)
      return std::nullopt;
    const DType t = q.inputs.size() > 2 && !q.inputs[2].empty() ? dtype_of(q.inputs[2]) : DType::u8;
    return per_tensor(q, q.outputs[0], t);
  }

  // A Relu, or Clip with constant bounds, alone reading `value` (for ops the float fusions did
  // not give one).
  std::optional<FusedActivation> activation_after(const std::string& value, int& at) {
    at = v_.sole_reader(value);
    if (at < 0) return std::nullopt;
    const Node& a = g_.nodes[static_cast<size_t>(at)];
    if (a.inputs.empty() || a.inputs[0] != value || a.outputs.size() != 1) return std::nullopt;
    FusedActivation f;
    if (is_op(a, "Relu")) {
      f.kind = ActivationKind::relu;
      return f;
    }
    if (!is_op(a, "Clip")) return std::nullopt;
    f.kind = ActivationKind::clip;
    f.alpha = -std::numeric_limits<float>::infinity();
    f.beta = std::numeric_limits<float>::infinity();
    for (size_t i = 1; i < a.inputs.size() && i < 3; ++i) {
      if (a.inputs[i].empty()) continue;
      std::optional<double> bound = v_.scalar(a.inputs[i]);
      if (!bound) return std::nullopt;
      (i == 1 ? f.alpha : f.beta) = static_cast<float>(*bound);
    }
    return f;
  }

  // A constant weight read through DequantizeLinear: int8 values, scale and zero point per tensor
  // or along `channel_axis` (which must be the output channels). A zero point other than 0 (u8
  // weights, or asymmetric s8) is folded into new s8 values where w - zero point fits s8
  // (quant::centered_s8), so the fused op always gets s8 weights; other weights stay float.
  struct Weight {
    std::string value, scale, zero_point;
    const Tensor* w = nullptr;
    std::vector<float> scales;  // one per channel, or one
  };
  std::optional<Weight> weight(const std::string& value, int channel_axis) {
    const Node* dq = v_.producer(value);
    if (dq == nullptr || !is_op(*dq, "DequantizeLinear") || dq->inputs.size() < 2)
      return std::nullopt;
    Weight w;
    w.w = v_.constant(dq->inputs[0]);
    const Tensor* s = v_.constant(dq->inputs[1]);
    if (w.w == nullptr || !is_int8(w.w->dtype()) || s == nullptr || s->dtype() != DType::f32 ||
        s->rank() > 1)
      return std::nullopt;
    const bool per_channel = s->rank() == 1 && s->numel() > 1;
    if (per_channel) {
      int64_t axis = dq->attr_int("axis", 1);
      if (axis < 0) axis += w.w->rank();
      if (axis != channel_axis || s->numel() != w.w->dim(channel_axis)) return std::nullopt;
    } else if (s->numel() != 1) {
      return std::nullopt;
    }
    w.value = dq->inputs[0];
    w.scale = dq->inputs[1];
    w.scales.assign(s->data<float>(), s->data<float>() + s->numel());
    const Tensor* z = nullptr;
    if (dq->inputs.size() > 2 && !dq->inputs[2].empty()) {
      z = v_.constant(dq->inputs[2]);
      if (z == nullptr || z->dtype() != w.w->dtype() || z->shape() != s->shape())
        return std::nullopt;
    }
    std::optional<Tensor> centered =
        quant::centered_s8(*w.w, z, per_channel ? static_cast<int>(channel_axis) : 0);
    if (!centered) return std::nullopt;
    if (centered->raw() != w.w->raw()) {
      auto [it, fresh_one] = centered_.try_emplace(w.value);  // once per weight
      if (fresh_one) {
        it->second = fresh(w.value + "_s8");
        new_initializers_[it->second] = *centered;
      }
      w.value = it->second;
      w.w = &new_initializers_.at(it->second);
      w.zero_point = zeros(DType::i8, s->shape());
    } else if (z != nullptr) {
      w.zero_point = dq->inputs[2];
    } else {
      w.zero_point = zeros(DType::i8, s->shape());
    }
    return w;
  }

  // A bias read through DequantizeLinear: int32 [channels] at scale x_scale * w_scale (within
  // float rounding of that product), zero point 0. True when `value` is absent.
  bool int32_bias(const std::string& value, const PerTensor& x, const Weight& w, int64_t channels,
                  std::string& out) {
    out.clear();
    if (value.empty()) return true;
    const Node* dq = v_.producer(value);
    if (dq == nullptr || !is_op(*dq, "DequantizeLinear") || dq->inputs.size() < 2) return false;
    const Tensor* b = v_.constant(dq->inputs[0]);
    const Tensor* s = v_.constant(dq->inputs[1]);
    if (b == nullptr || b->dtype() != DType::i32 || b->rank() != 1 || b->numel() != channels ||
        s == nullptr || s->dtype() != DType::f32 || (s->numel() != 1 && s->numel() != channels))
      return false;
    if (dq->inputs.size() > 2 && !dq->inputs[2].empty()) {
      const Tensor* z = v_.constant(dq->inputs[2]);
      if (z == nullptr) return false;
      for (int64_t i = 0; i < z->numel(); ++i)
        if (z->at_f64(i) != 0) return false;
    }
    for (int64_t c = 0; c < channels; ++c) {
      const float want =
          x.scale_value * w.scales[w.scales.size() == 1 ? 0 : static_cast<size_t>(c)];
      const float got = s->data<float>()[s->numel() == 1 ? 0 : c];
      if (std::fabs(got - want) > 1e-6f * std::fabs(want)) return false;
    }
    out = dq->inputs[0];
    return true;
  }

  // The unit's end: the op's activation (from a fused op, or a Relu/Clip read next) and the
  // QuantizeLinear after it. Sets the output and the y qparams inputs (6, 7) of `r.node`.
  void finish_unit(std::string out, Rewrite& r, bool has_activation) {
    if (!has_activation) {
      int at = -1;
      if (std::optional<FusedActivation> a = activation_after(out, at)) {
        r.node.set_attr(Attribute::of_string("activation", activation_name(a->kind)));
        r.node.set_attr(Attribute::of_floats("activation_params", activation_params(*a)));
        r.absorbed.push_back(static_cast<size_t>(at));
        out = g_.nodes[static_cast<size_t>(at)].outputs[0];
      }
    }
    int q_at = -1;
    if (std::optional<PerTensor> y = quantized_by(out, q_at)) {
      r.node.inputs[6] = y->scale;
      r.node.inputs[7] = y->zero_point;
      r.node.outputs = {y->value};
      r.absorbed.push_back(static_cast<size_t>(q_at));
    } else {
      r.node.outputs = {out};  // float output: a float op (or the graph output) reads it
    }
  }

  static bool has_activation(const Node& n) {
    return n.domain == kDomain && !n.attr_string("activation", "").empty();
  }

  static Node integer_node(const Node& op, const char* type, size_t inputs) {
    Node n;
    n.name = op.name;
    n.op_type = type;
    n.domain = kDomain;
    n.inputs.assign(inputs, "");
    n.doc = op.doc;
    return n;
  }

  std::optional<Rewrite> match_conv(size_t k) {
    const Node& conv = g_.nodes[k];
    if (conv.inputs.size() < 2 || conv.outputs.size() != 1) return std::nullopt;
    std::optional<PerTensor> x = dequantized(conv.inputs[0]);
    if (!x) return std::nullopt;  // not a QDQ unit
    std::optional<Weight> w = weight(conv.inputs[1], 0);
    if (!w) return decline("the weight is not a constant int8 per-tensor/per-channel DQ");
    const int64_t m = w->w->dim(0);
    Rewrite r{k, integer_node(conv, "QConv", 12), {}};
    for (const Attribute& a : conv.attrs) r.node.attrs.push_back(a);
    r.node.inputs[0] = x->value;
    r.node.inputs[1] = x->scale;
    r.node.inputs[2] = x->zero_point;
    r.node.inputs[3] = w->value;
    r.node.inputs[4] = w->scale;
    r.node.inputs[5] = w->zero_point;
    std::string bias;
    if (!int32_bias(conv.inputs.size() > 2 ? conv.inputs[2] : "", *x, *w, m, bias))
      return decline("the bias is not int32 at x_scale * w_scale");
    r.node.inputs[8] = bias;
    if (conv.inputs.size() > 3 && !conv.inputs[3].empty()) {
      std::optional<PerTensor> z = dequantized(conv.inputs[3]);
      if (!z) return decline("the residual is not a per-tensor DQ");
      r.node.inputs[9] = z->value;
      r.node.inputs[10] = z->scale;
      r.node.inputs[11] = z->zero_point;
    }
    finish_unit(conv.outputs[0], r, has_activation(conv));
    trim(r.node);
    return r;
  }

  std::optional<Rewrite> match_matmul(size_t k) {
    const Node& mm = g_.nodes[k];
    if (mm.inputs.size() < 2 || mm.outputs.size() != 1) return std::nullopt;
    std::optional<PerTensor> a = dequantized(mm.inputs[0]);
    if (!a) return std::nullopt;
    const bool gemm = mm.op_type == "Gemm" || mm.op_type == "FusedGemm";
    bool trans_b = false;
    if (gemm) {
      if (mm.attr_float("alpha", 1.0f) != 1.0f || mm.attr_float("beta", 1.0f) != 1.0f ||
          mm.attr_int("transA", 0) != 0)
        return decline("Gemm with alpha/beta != 1 or transA");
      trans_b = mm.attr_int("transB", 0) != 0;
    }
    std::optional<Weight> w = weight(mm.inputs[1], trans_b ? 0 : 1);
    if (!w || w->w->rank() != 2) return decline("the weight is not a constant 2-D int8 DQ");
    const int64_t n = w->w->dim(trans_b ? 0 : 1);
    Rewrite r{k, integer_node(mm, "QMatMul", 9), {}};
    r.node.inputs[0] = a->value;
    r.node.inputs[1] = a->scale;
    r.node.inputs[2] = a->zero_point;
    r.node.inputs[3] = trans_b ? transposed(w->value, *w->w) : w->value;
    r.node.inputs[4] = w->scale;
    r.node.inputs[5] = w->zero_point;
    std::string bias;
    const std::string c = mm.inputs.size() > 2 ? mm.inputs[2] : "";
    if (!int32_bias(c, *a, *w, n, bias))
      return decline("the bias is not int32 [N] at a_scale * b_scale");
    std::string out = mm.outputs[0];
    if (is_op(mm, "MatMul")) {
      // quantize_to_qdq's MatMul unit: MatMul -> Add of an int32 [N] bias read through DQ.
      const int at = v_.sole_reader(out);
      if (at >= 0 && is_op(g_.nodes[static_cast<size_t>(at)], "Add")) {
        const Node& add = g_.nodes[static_cast<size_t>(at)];
        const std::string other = other_input(add, out);
        if (!other.empty() && other != out && v_.producer(other) != nullptr &&
            int32_bias(other, *a, *w, n, bias) && !bias.empty()) {
          r.absorbed.push_back(static_cast<size_t>(at));
          out = add.outputs[0];
        } else {
          bias.clear();
        }
      }
    }
    r.node.inputs[8] = bias;
    for (const char* attr : {"activation", "activation_params"})
      if (const Attribute* at = mm.attr(attr)) r.node.attrs.push_back(*at);
    finish_unit(out, r, has_activation(mm));
    trim(r.node);
    return r;
  }

  std::optional<Rewrite> match_add(size_t k) {
    const Node& add = g_.nodes[k];
    if (add.inputs.size() != 2 || add.outputs.size() != 1) return std::nullopt;
    std::optional<PerTensor> a = dequantized(add.inputs[0]);
    std::optional<PerTensor> b = dequantized(add.inputs[1]);
    if (!a || !b) return std::nullopt;
    Rewrite r{k, integer_node(add, "QAdd", 8), {}};
    r.node.inputs = {a->value, a->scale, a->zero_point, b->value, b->scale, b->zero_point, "", ""};
    finish_unit(add.outputs[0], r, false);
    if (r.node.inputs[6].empty())
      return decline("its output is not quantized (QAdd has no float output)");
    return r;
  }

  std::optional<Rewrite> match_transparent(size_t k) {
    const Node& t = g_.nodes[k];
    if (t.outputs.empty() || t.inputs.empty()) return std::nullopt;
    for (size_t o = 1; o < t.outputs.size(); ++o)
      if (!t.outputs[o].empty()) return std::nullopt;  // MaxPool's Indices
    const size_t data_inputs = t.op_type == "Concat" ? t.inputs.size() : 1;
    Rewrite r{k, t, {}};
    std::optional<PerTensor> first;
    for (size_t i = 0; i < data_inputs; ++i) {
      std::optional<PerTensor> x = dequantized(t.inputs[i]);
      if (!x) return std::nullopt;
      if (first && !same_qparams(*first, *x)) return decline("its inputs' qparams differ");
      if (!first) first = x;
      r.node.inputs[i] = x->value;
    }
    int q_at = -1;
    std::optional<PerTensor> y = quantized_by(t.outputs[0], q_at);
    if (!y) return std::nullopt;
    if (!same_qparams(*first, *y)) return decline("its output's qparams differ from its input's");
    r.node.outputs = {y->value};
    r.absorbed.push_back(static_cast<size_t>(q_at));
    return r;
  }

  // [N, K] int8 -> [K, N], once per weight.
  std::string transposed(const std::string& name, const Tensor& w) {
    auto it = transposed_.find(name);
    if (it != transposed_.end()) return it->second;
    const int64_t rows = w.dim(0), cols = w.dim(1);
    Tensor t(DType::i8, {cols, rows});
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        t.data<int8_t>()[j * rows + i] = w.data<int8_t>()[i * cols + j];
    const std::string out = fresh(name + "_transposed");
    new_initializers_[out] = t;
    transposed_[name] = out;
    return out;
  }

  // Drops trailing absent optional inputs.
  static void trim(Node& n) {
    while (!n.inputs.empty() && n.inputs.back().empty()) n.inputs.pop_back();
  }

  const GraphView& v_;
  Graph& g_;
  std::string reason_;
  std::map<std::string, Tensor> new_initializers_;
  std::map<std::string, std::string> zeros_, transposed_, centered_;
};

// The weights and biases of the float ops left (units not fused): a DequantizeLinear of constants
// read only there becomes its float result, so the float fast kernels, which pack constant
// weights, take those ops (as before fold_constants kept DequantizeLinear). The values are the
// reference kernel's, so the results do not change.
void fold_float_weights(Graph& g) {
  static const std::set<std::string> kWeighted = {
      "Conv", "ConvTranspose", "Gemm", "MatMul", "FusedConv", "FusedGemm", "FusedMatMul"};
  const std::map<std::string, int> reads = read_counts(g);
  std::map<std::string, int> weight_reads;
  for (const Node& n : g.nodes) {
    if (!kWeighted.count(n.op_type) || (!n.domain.empty() && n.domain != kDomain)) continue;
    for (size_t i = 1; i < n.inputs.size(); ++i)
      if (!n.inputs[i].empty()) ++weight_reads[n.inputs[i]];
  }
  const OpSchema* schema = OpRegistry::instance().find("", "DequantizeLinear");
  std::vector<bool> dead(g.nodes.size(), false);
  bool any = false;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& n = g.nodes[k];
    if (!is_op(n, "DequantizeLinear") || n.outputs.size() != 1) continue;
    auto r = reads.find(n.outputs[0]);
    auto w = weight_reads.find(n.outputs[0]);
    if (r == reads.end() || w == weight_reads.end() || r->second != w->second) continue;
    std::vector<const Tensor*> ins;
    bool constant = true;
    for (const std::string& in : n.inputs) {
      if (in.empty()) {
        ins.push_back(nullptr);
      } else if (is_constant_initializer(g, in)) {
        ins.push_back(&g.initializers.at(in));
      } else {
        constant = false;
      }
    }
    if (!constant) continue;
    try {
      OpContext ctx(n, ins, nullptr);
      schema->run(ctx);
      g.initializers[n.outputs[0]] = ctx.outputs[0];
    } catch (const Error&) {
      continue;  // left for run time, which reports it in context
    }
    dead[k] = true;
    any = true;
  }
  if (any) erase_nodes(g, dead);
}

}  // namespace

int fuse_qdq(Model& m) {
  Graph& g = m.graph;
  // Float models (most) skip the shape inference a GraphView costs.
  if (std::none_of(g.nodes.begin(), g.nodes.end(),
                   [](const Node& n) { return is_op(n, "DequantizeLinear"); }))
    return 0;
  std::vector<Rewrite> rewrites;
  std::map<std::string, Tensor> added;
  {
    GraphView v(g);
    Matcher matcher(v, g);
    std::vector<bool> claimed(g.nodes.size(), false);
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      if (claimed[k]) continue;
      std::optional<Rewrite> r = matcher.match(k);
      if (!r) continue;
      bool free = true;
      for (size_t a : r->absorbed) free = free && !claimed[a];
      if (!free) continue;
      claimed[k] = true;
      for (size_t a : r->absorbed) claimed[a] = true;
      rewrites.push_back(std::move(*r));
    }
    added = std::move(matcher.new_initializers());
  }
  if (verbose_enabled() && !rewrites.empty())
    fmt::print(stderr, "nnaccel: fuse_qdq: {} QDQ units became integer ops\n", rewrites.size());
  if (!rewrites.empty()) {
    std::vector<bool> dead(g.nodes.size(), false);
    for (Rewrite& r : rewrites) {
      for (size_t a : r.absorbed) dead[a] = true;
      g.nodes[r.at] = std::move(r.node);
    }
    for (auto& [name, t] : added) g.initializers[name] = t;
    m.opsets[kDomain] = 1;
    erase_nodes(g, dead);
  }
  fold_float_weights(g);
  return static_cast<int>(rewrites.size());
}

}  // namespace nnaccel
