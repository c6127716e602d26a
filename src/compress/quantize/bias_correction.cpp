#include "compress/quantize/bias_correction.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "compress/quantize/qdq_bias_scale.hpp"
#include "core/check.hpp"
#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"
#include "ir/verifier.hpp"

namespace nnaccel {

namespace {

using passes_detail::GraphView;
using passes_detail::is_op;

enum class BiasForm { int32, float32 };

// Where a layer's bias lives and how to rewrite it.
struct BiasSlot {
  BiasForm form = BiasForm::float32;
  std::string values;      // the int32 or f32 initializer
  Tensor scale;            // int32: the DequantizeLinear scale's value (numel 1 or channels)
  std::string zero_point;  // int32: optional
  double factor = 1.0;     // what the bias is multiplied by in the output (Gemm's beta)
};

struct Target {
  std::string name, op_type;
  std::string q_output, f_output;
  bool channels_last = false;
  int64_t channels = 0;
  std::string bias_description;
  BiasSlot bias;
  std::vector<double> float_mean;
};

std::string display_name(const Node& n) { return n.name.empty() ? n.outputs[0] : n.name; }

// A DequantizeLinear output whose quantized input is a constant initializer: its node, or null.
// Its scale is a constant, or a bias scale's Mul of two (qdq_bias_scale.hpp).
const Node* dequantized_constant(const GraphView& view, const std::string& value) {
  const Node* dq = view.producer(value);
  if (dq == nullptr || !is_op(*dq, "DequantizeLinear") || dq->inputs.size() < 2) return nullptr;
  if (view.constant(dq->inputs[0]) == nullptr || !constant_or_product(view, dq->inputs[1]))
    return nullptr;
  if (dq->inputs.size() > 2 && !dq->inputs[2].empty() && view.constant(dq->inputs[2]) == nullptr)
    return nullptr;
  return dq;
}

// The name `value` had before quantize_to_qdq renamed it: the output of the DequantizeLinear of
// the QuantizeLinear reading it alone; "" when there is none.
std::string requantized_name(const GraphView& view, const std::string& value) {
  const int q = view.sole_reader(value);
  if (q < 0) return "";
  const Node& qn = view.graph().nodes[static_cast<size_t>(q)];
  if (!is_op(qn, "QuantizeLinear") || qn.inputs[0] != value || qn.outputs.empty()) return "";
  const int dq = view.sole_reader(qn.outputs[0]);
  if (dq < 0) return "";
  const Node& dn = view.graph().nodes[static_cast<size_t>(dq)];
  return is_op(dn, "DequantizeLinear") && !dn.outputs.empty() ? dn.outputs[0] : "";
}

// The bias in `value` (read by the layer alone): an int32 constant through DequantizeLinear or an
// f32 constant, with one value per channel. nullopt otherwise.
std::optional<BiasSlot> existing_bias(const GraphView& view, const std::string& value,
                                      int64_t channels, std::string& why) {
  if (view.read_count(value) != 1) {
    why = "its bias is read by other nodes too";
    return std::nullopt;
  }
  if (const Tensor* f = view.constant(value)) {
    if (f->dtype() != DType::f32 || f->numel() != channels || f->shape().back() != channels) {
      why = "its float bias does not hold one value per output channel";
      return std::nullopt;
    }
    return BiasSlot{BiasForm::float32, value, Tensor{}, "", 1.0};
  }
  const Node* dq = dequantized_constant(view, value);
  if (dq == nullptr) {
    why = "its bias is neither a constant nor a dequantized int32 constant";
    return std::nullopt;
  }
  const Tensor* q = view.constant(dq->inputs[0]);
  const std::optional<Tensor> s = constant_or_product(view, dq->inputs[1]);
  const bool has_zp = dq->inputs.size() > 2 && !dq->inputs[2].empty();
  if (q->dtype() != DType::i32 || q->numel() != channels || view.read_count(dq->inputs[0]) != 1 ||
      s->dtype() != DType::f32 || (s->numel() != 1 && s->numel() != channels) ||
      (has_zp && view.constant(dq->inputs[2])->numel() != s->numel())) {
    why = "its dequantized bias is not int32 with one value per output channel";
    return std::nullopt;
  }
  return BiasSlot{BiasForm::int32, dq->inputs[0], *s, has_zp ? dq->inputs[2] : "", 1.0};
}

// Adds a zero int32 bias at scale x_scale * w_scale through DequantizeLinear as input `slot` of the
// node writing `output` (a Conv or Gemm whose input and weight are dequantized).
std::optional<BiasSlot> add_bias(Model& model, const std::string& output, size_t slot,
                                 int64_t channels, std::string& why) {
  Graph& g = model.graph;
  GraphView view(g);
  const int index = view.producer_index(output);
  const Node& n = g.nodes[static_cast<size_t>(index)];
  const Node* x = view.producer(n.inputs[0]);
  const Node* w = dequantized_constant(view, n.inputs[1]);
  if (x == nullptr || !is_op(*x, "DequantizeLinear") || x->inputs.size() < 2 ||
      view.constant(x->inputs[1]) == nullptr || view.constant(x->inputs[1])->numel() != 1 ||
      w == nullptr || view.constant(w->inputs[1]) == nullptr) {
    why =
        "it has no bias and its input is not dequantized with one constant "
        "scale";
    return std::nullopt;
  }
  const Tensor& ws = *view.constant(w->inputs[1]);
  if (ws.numel() != 1 && ws.numel() != channels) {
    why =
        "it has no bias and its weight scale is neither per tensor nor per "
        "output channel";
    return std::nullopt;
  }
  const std::string layer_name = display_name(n);  // `n` moves when nodes are added
  const std::string base = layer_name + "_bias";
  FreshNames names(g);
  const std::string values = names.fresh(base + "_quantized");
  g.initializers[values] = Tensor(DType::i32, {channels});
  std::vector<Node> added;
  const std::string scale = bias_scale_product(x->inputs[1], w->inputs[1], base, names, added);
  const std::string dequantized = names.fresh(base + "_dequantized");
  Node dq;
  dq.op_type = "DequantizeLinear";
  dq.name = dequantized;
  dq.inputs = {values, scale};
  dq.outputs = {dequantized};
  if (ws.numel() != 1) dq.attrs.push_back(Attribute::of_int("axis", 0));
  added.push_back(dq);
  Node& layer = g.nodes[static_cast<size_t>(index)];
  if (layer.inputs.size() <= slot) layer.inputs.resize(slot + 1);
  layer.inputs[slot] = dequantized;
  g.nodes.insert(g.nodes.end(), added.begin(), added.end());
  verify_graph(g);
  std::optional<Tensor> scale_value = constant_or_product(GraphView(g), scale);
  NNA_CHECK(scale_value.has_value(), "bias correction: the bias scale of {} does not evaluate",
            layer_name);
  return BiasSlot{BiasForm::int32, values, *scale_value, "", 1.0};
}

// The quantized layers of `q` matched with `f`'s nodes, in graph order; adds missing biases.
std::vector<Target> find_targets(Model& q, const Model& f, BiasCorrectionReport& report) {
  std::map<std::string, int> name_count;
  std::map<std::string, const Node*> by_name, by_output;
  for (const Node& n : f.graph.nodes) {
    ++name_count[n.name];
    by_name[n.name] = &n;
    if (!n.outputs.empty()) by_output[n.outputs[0]] = &n;
  }
  std::vector<Target> targets;
  std::vector<std::pair<Target, size_t>> needs_bias;  // slot to add a bias at
  {
    GraphView view(q.graph);
    for (const Node& n : q.graph.nodes) {
      if (!(is_op(n, "Conv") || is_op(n, "Gemm") || is_op(n, "MatMul")) || n.inputs.size() < 2 ||
          n.outputs.empty())
        continue;
      const Node* wdq = dequantized_constant(view, n.inputs[1]);
      if (wdq == nullptr) continue;  // not quantized
      Target t;
      t.name = display_name(n);
      t.op_type = n.op_type;
      t.q_output = n.outputs[0];
      const Node* fn = nullptr;
      if (!n.name.empty() && name_count[n.name] == 1) fn = by_name[n.name];
      if (fn == nullptr && by_output.count(n.outputs[0])) fn = by_output[n.outputs[0]];
      if (fn == nullptr) {
        // A quantized output keeps its name on the DequantizeLinear after the QuantizeLinear
        // that reads it; the layer writes a renamed float value.
        const std::string original = requantized_name(view, n.outputs[0]);
        if (by_output.count(original)) fn = by_output[original];
      }
      if (fn == nullptr || fn->op_type != n.op_type) {
        report.skipped.push_back(t.name + ": no node of the float model matches it");
        continue;
      }
      t.f_output = fn->outputs[0];
      const Tensor& w = *view.constant(wdq->inputs[0]);
      t.channels_last = !is_op(n, "Conv");
      if (is_op(n, "Conv")) {
        t.channels = w.dim(0);
      } else if (w.rank() != 2) {
        report.skipped.push_back(t.name + ": its weight is not 2-D");
        continue;
      } else {
        t.channels = is_op(n, "Gemm") && n.attr_int("transB", 0) ? w.dim(0) : w.dim(1);
      }
      std::string why;
      std::optional<BiasSlot> bias;
      if (is_op(n, "MatMul")) {
        const int r = view.sole_reader(t.q_output);
        const Node* add = r >= 0 ? &q.graph.nodes[static_cast<size_t>(r)] : nullptr;
        if (add == nullptr || !is_op(*add, "Add") || add->inputs.size() != 2) {
          report.skipped.push_back(t.name + ": a MatMul without an Add of a bias");
          continue;
        }
        bias = existing_bias(view, passes_detail::other_input(*add, t.q_output), t.channels, why);
        t.bias_description = "Add";
      } else if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        bias = existing_bias(view, n.inputs[2], t.channels, why);
      } else {
        needs_bias.emplace_back(t, targets.size());
        t.bias_description = "int32 added";
        targets.push_back(t);
        continue;
      }
      if (!bias) {
        report.skipped.push_back(t.name + ": " + why);
        continue;
      }
      if (is_op(n, "Gemm")) bias->factor = n.attr_float("beta", 1.0f);
      if (bias->factor == 0) {
        report.skipped.push_back(t.name + ": Gemm with beta 0");
        continue;
      }
      t.bias = *bias;
      t.bias_description += (t.bias_description.empty() ? "" : " ") +
                            std::string(bias->form == BiasForm::int32 ? "int32" : "float");
      targets.push_back(t);
    }
  }
  // Adding biases changes the graph: done after the scan, by output name.
  std::vector<bool> keep(targets.size(), true);
  for (auto& [t, index] : needs_bias) {
    const Node& n = *GraphView(q.graph).producer(t.q_output);
    const double beta = is_op(n, "Gemm") ? n.attr_float("beta", 1.0f) : 1.0;
    std::string why;
    std::optional<BiasSlot> bias =
        beta != 0 ? add_bias(q, t.q_output, 2, t.channels, why) : std::nullopt;
    if (!bias) {
      report.skipped.push_back(t.name + ": " + (beta == 0 ? "Gemm with beta 0" : why));
      keep[index] = false;
      continue;
    }
    bias->factor = beta;
    targets[index].bias = *bias;
  }
  std::vector<Target> kept;
  for (size_t k = 0; k < targets.size(); ++k)
    if (keep[k]) kept.push_back(std::move(targets[k]));
  return kept;
}

// bias -= error / factor, in the bias's own form.
void apply(Model& model, const Target& t, const std::vector<double>& error) {
  Graph& g = model.graph;
  const Tensor& old = g.initializers.at(t.bias.values);
  // New storage: copies of the model share the old one.
  Tensor out(old.dtype(), old.shape());
  if (t.bias.form == BiasForm::float32) {
    for (int64_t c = 0; c < t.channels; ++c)
      out.data<float>()[c] =
          static_cast<float>(old.data<float>()[c] - error[static_cast<size_t>(c)] / t.bias.factor);
  } else {
    const Tensor& scale = t.bias.scale;
    const Tensor* zp = t.bias.zero_point.empty() ? nullptr : &g.initializers.at(t.bias.zero_point);
    for (int64_t c = 0; c < t.channels; ++c) {
      const int64_t k = scale.numel() == 1 ? 0 : c;
      const double s = scale.at_f64(k);
      const double z = zp ? static_cast<double>(zp->at_i64(k)) : 0.0;
      const double real =
          (old.data<int32_t>()[c] - z) * s - error[static_cast<size_t>(c)] / t.bias.factor;
      const double v = s > 0 ? std::nearbyint(real / s) + z : old.data<int32_t>()[c];
      out.data<int32_t>()[c] = static_cast<int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
    }
  }
  g.initializers[t.bias.values] = out;
}

CorrectedLayer row_for(const Target& t, const std::vector<double>& error) {
  CorrectedLayer row;
  row.node = t.name;
  row.op_type = t.op_type;
  row.output = t.q_output;
  row.channels = t.channels;
  row.bias = t.bias_description;
  for (size_t c = 0; c < error.size(); ++c) {
    row.mean_abs_error += std::fabs(error[c]) / static_cast<double>(error.size());
    row.max_abs_error = std::max(row.max_abs_error, std::fabs(error[c]));
    row.output_mean_abs += std::fabs(t.float_mean[c]) / static_cast<double>(error.size());
  }
  return row;
}

}  // namespace

BiasCorrectionReport correct_bias(Model& quantized, const Model& float_model,
                                  const ForEachBatch& batches,
                                  const BiasCorrectionOptions& options) {
  BiasCorrectionReport report;
  if (options.sequential && options.layers_per_pass < 1)
    fail("bias correction: layers_per_pass must be at least 1, not {}", options.layers_per_pass);
  verify_graph(quantized.graph);
  std::vector<Target> targets = find_targets(quantized, float_model, report);
  if (targets.empty()) return report;
  std::vector<const Target*> all;
  for (const Target& t : targets) all.push_back(&t);
  auto values = [](const std::vector<const Target*>& ts, bool quantized_side) {
    std::vector<ChannelValue> v;
    for (const Target* t : ts)
      v.push_back({quantized_side ? t->q_output : t->f_output, t->channels_last ? -1 : 1});
    return v;
  };
  auto checked = [](const Target& t, const ChannelStats& s) -> const ChannelStats& {
    if (static_cast<int64_t>(s.sum.size()) != t.channels)
      fail("bias correction: {} computes {} channels, its weight has {}", t.name, s.sum.size(),
           t.channels);
    return s;
  };
  {
    std::vector<ChannelStats> f = measure_channels(float_model, values(all, false), batches,
                                                   options.session, &report.batches);
    for (size_t k = 0; k < targets.size(); ++k)
      targets[k].float_mean = checked(targets[k], f[k]).mean();
  }
  auto correct = [&](const Target& t, const ChannelStats& q) {
    std::vector<double> error = checked(t, q).mean();
    for (size_t c = 0; c < error.size(); ++c) error[c] -= t.float_mean[c];
    report.layers.push_back(row_for(t, error));
    apply(quantized, t, error);
  };
  const size_t group =
      options.sequential ? static_cast<size_t>(options.layers_per_pass) : targets.size();
  for (size_t first = 0; first < targets.size(); first += group) {
    std::vector<const Target*> some(
        all.begin() + static_cast<std::ptrdiff_t>(first),
        all.begin() + static_cast<std::ptrdiff_t>(std::min(first + group, all.size())));
    std::vector<ChannelStats> q =
        measure_channels(quantized, values(some, true), batches, options.session);
    for (size_t k = 0; k < some.size(); ++k) correct(*some[k], q[k]);
  }
  return report;
}

BiasCorrectionReport correct_bias(Model& quantized, const Model& float_model,
                                  const std::vector<std::map<std::string, Tensor>>& batches,
                                  const BiasCorrectionOptions& options) {
  return correct_bias(quantized, float_model, batches_of(batches), options);
}

}  // namespace nnaccel
