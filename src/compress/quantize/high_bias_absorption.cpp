#include "compress/quantize/high_bias_absorption.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/check.hpp"
#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"
#include "ir/verifier.hpp"

namespace nnaccel {

namespace {

using passes_detail::GraphView;
using passes_detail::is_op;

const Tensor* own_constant(const GraphView& view, const std::string& name) {
  if (name.empty()) return nullptr;
  const Tensor* t = view.constant(name);
  if (t == nullptr || t->dtype() != DType::f32 || view.read_count(name) != 1) return nullptr;
  return t;
}

bool one_per_channel(const Tensor* t, int64_t channels) {
  return t != nullptr && t->rank() >= 1 && t->numel() == channels && t->shape().back() == channels;
}

struct Pair {
  int first = -1, second = -1;
  int64_t channels = 0, group = 1;  // group: second-layer input features per channel
  std::string first_bias;
  // The second layer's bias: an existing constant (bias_name) or one to add at input 2.
  std::string second_bias;
  double second_bias_factor = 1.0;  // the bias gets delta * factor
};

// Conv or Gemm with an own f32 weight and an own f32 bias of one value per output channel.
int64_t first_layer_channels(const GraphView& view, const Node& n) {
  if (!(is_op(n, "Conv") || is_op(n, "Gemm")) || n.inputs.size() < 3 || n.outputs.size() != 1)
    return 0;
  const Tensor* w = own_constant(view, n.inputs[1]);
  if (w == nullptr || w->rank() < 2) return 0;
  const int64_t c = is_op(n, "Conv") || n.attr_int("transB", 0) ? w->dim(0) : w->dim(1);
  if (is_op(n, "Gemm") && w->rank() != 2) return 0;
  return one_per_channel(own_constant(view, n.inputs[2]), c) ? c : 0;
}

bool conv_without_padding(const Node& n) {
  const std::string pad = n.attr_string("auto_pad", "NOTSET");
  if (pad != "NOTSET" && pad != "VALID") return false;
  for (int64_t p : n.attr_ints("pads")) {
    if (p != 0) return false;
  }
  return true;
}

// Finds the second layer after `first` -> Relu; true with `pair` filled when absorbable.
bool find_pair(const GraphView& view, int first, int64_t channels, Pair& pair) {
  const Graph& g = view.graph();
  const Node& head = g.nodes[static_cast<size_t>(first)];
  int r = view.sole_reader(head.outputs[0]);
  if (r < 0 || !is_op(g.nodes[static_cast<size_t>(r)], "Relu")) return false;
  std::string v = g.nodes[static_cast<size_t>(r)].outputs[0];
  bool conv_mode = is_op(head, "Conv"), flattened = false;
  for (;;) {
    r = view.sole_reader(v);
    if (r < 0) return false;
    const Node& n = g.nodes[static_cast<size_t>(r)];
    if (n.inputs.empty() || n.inputs[0] != v || n.outputs.empty()) return false;
    for (size_t k = 1; k < n.outputs.size(); ++k)
      if (!n.outputs[k].empty()) return false;
    if (conv_mode &&
        (is_op(n, "MaxPool") || is_op(n, "GlobalAveragePool") || is_op(n, "GlobalMaxPool"))) {
      v = n.outputs[0];
      continue;
    }
    if (conv_mode && is_op(n, "Flatten") && n.attr_int("axis", 1) == 1) {
      conv_mode = false;
      flattened = true;
      v = n.outputs[0];
      continue;
    }
    if (n.inputs.size() < 2) return false;
    const Tensor* w = own_constant(view, n.inputs[1]);
    if (w == nullptr) return false;
    pair.first = first;
    pair.second = r;
    pair.channels = channels;
    pair.first_bias = head.inputs[2];
    if (is_op(n, "Conv")) {
      if (!conv_mode || !conv_without_padding(n) || w->rank() < 3 ||
          w->dim(1) * n.attr_int("group", 1) != channels)
        return false;
      const int64_t outs = w->dim(0);
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        if (!one_per_channel(own_constant(view, n.inputs[2]), outs)) return false;
        pair.second_bias = n.inputs[2];
      }
      return true;
    }
    if (conv_mode || w->rank() != 2) return false;
    const bool gemm = is_op(n, "Gemm");
    if (!gemm && !is_op(n, "MatMul")) return false;
    if (gemm && n.attr_int("transA", 0) != 0) return false;
    const bool trans_b = gemm && n.attr_int("transB", 0) != 0;
    const int64_t ins = w->dim(trans_b ? 1 : 0), outs = w->dim(trans_b ? 0 : 1);
    if (ins % channels != 0 || (!flattened && ins != channels)) return false;
    pair.group = ins / channels;
    if (gemm) {
      const double beta = n.attr_float("beta", 1.0f);
      if (beta == 0) return false;
      pair.second_bias_factor = n.attr_float("alpha", 1.0f) / beta;
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        if (!one_per_channel(own_constant(view, n.inputs[2]), outs)) return false;
        pair.second_bias = n.inputs[2];
      }
      return true;
    }
    // MatMul: the bias is the constant an Add reading the product alone adds.
    const int a = view.sole_reader(n.outputs[0]);
    if (a < 0 || !is_op(g.nodes[static_cast<size_t>(a)], "Add")) return false;
    const std::string other =
        passes_detail::other_input(g.nodes[static_cast<size_t>(a)], n.outputs[0]);
    if (!one_per_channel(own_constant(view, other), outs)) return false;
    pair.second_bias = other;
    return true;
  }
}

// W2 c: the second layer's output change when each input channel i grows by c[i].
std::vector<double> weight_times(const Node& n, const Tensor& w, const std::vector<double>& c,
                                 int64_t group) {
  const float* p = w.data<float>();
  if (is_op(n, "Conv")) {
    const int64_t outs = w.dim(0), per_group = w.dim(1), groups = n.attr_int("group", 1);
    const int64_t spatial = w.numel() / (outs * per_group);
    std::vector<double> d(static_cast<size_t>(outs), 0.0);
    for (int64_t m = 0; m < outs; ++m)
      for (int64_t i = 0; i < per_group; ++i) {
        const double ci = c[static_cast<size_t>((m / (outs / groups)) * per_group + i)];
        const float* q = p + (m * per_group + i) * spatial;
        for (int64_t k = 0; k < spatial; ++k) d[static_cast<size_t>(m)] += q[k] * ci;
      }
    return d;
  }
  const bool trans_b = is_op(n, "Gemm") && n.attr_int("transB", 0) != 0;
  const int64_t ins = w.dim(trans_b ? 1 : 0), outs = w.dim(trans_b ? 0 : 1);
  std::vector<double> d(static_cast<size_t>(outs), 0.0);
  for (int64_t j = 0; j < ins; ++j) {
    const double cj = c[static_cast<size_t>(j / group)];
    if (cj == 0) continue;
    for (int64_t m = 0; m < outs; ++m)
      d[static_cast<size_t>(m)] += cj * p[trans_b ? m * ins + j : j * outs + m];
  }
  return d;
}

std::string display_name(const Node& n) { return n.name.empty() ? n.outputs[0] : n.name; }

}  // namespace

HighBiasReport absorb_high_bias(Model& model, const ForEachBatch& batches,
                                const HighBiasOptions& options) {
  HighBiasReport report;
  Graph& g = model.graph;
  verify_graph(g);
  std::vector<Pair> pairs;
  std::vector<ChannelValue> values;
  {
    GraphView view(g);
    for (int k = 0; k < static_cast<int>(g.nodes.size()); ++k) {
      const int64_t channels = first_layer_channels(view, g.nodes[static_cast<size_t>(k)]);
      Pair p;
      if (channels == 0 || !find_pair(view, k, channels, p)) continue;
      const Node& n = g.nodes[static_cast<size_t>(k)];
      values.push_back({n.outputs[0], is_op(n, "Conv") ? 1 : -1});
      pairs.push_back(p);
    }
  }
  if (pairs.empty()) return report;
  std::vector<ChannelStats> stats =
      measure_channels(model, values, batches, options.session, &report.batches);

  // Changes per bias initializer, summed (a layer's bias may both give and receive).
  std::map<std::string, std::vector<double>> delta;
  auto add_delta = [&](const std::string& name, const std::vector<double>& d, double factor) {
    std::vector<double>& acc = delta[name];
    acc.resize(d.size(), 0.0);
    for (size_t i = 0; i < d.size(); ++i) acc[i] += d[i] * factor;
  };
  for (size_t k = 0; k < pairs.size(); ++k) {
    Pair& p = pairs[k];
    const ChannelStats& s = stats[k];
    NNA_CHECK(static_cast<int64_t>(s.min.size()) == p.channels,
              "high-bias absorption: '{}' has {} channels, its weight {}", values[k].name,
              s.min.size(), p.channels);
    std::vector<double> c(s.min.size());
    AbsorbedPair row;
    for (size_t i = 0; i < c.size(); ++i) {
      // A float bias rounds: keep c a float so b1 - c and the next layer's W2 c agree.
      c[i] = std::isfinite(s.min[i])
                 ? static_cast<double>(static_cast<float>(std::max(0.0, s.min[i])))
                 : 0.0;
      row.channels_absorbed += c[i] > 0;
      row.mean_absorbed += c[i] / static_cast<double>(c.size());
      row.max_absorbed = std::max(row.max_absorbed, c[i]);
    }
    Node& second = g.nodes[static_cast<size_t>(p.second)];
    row.first = display_name(g.nodes[static_cast<size_t>(p.first)]);
    row.second = display_name(second);
    row.channels = p.channels;
    report.pairs.push_back(row);
    if (row.channels_absorbed == 0) continue;
    const std::vector<double> d =
        weight_times(second, g.initializers.at(second.inputs[1]), c, p.group);
    if (p.second_bias.empty()) {
      // A zero bias to receive the constant, at input 2 of the Conv or Gemm.
      p.second_bias = passes_detail::unique_name(g, display_name(second) + "_bias");
      g.initializers[p.second_bias] = Tensor(DType::f32, {static_cast<int64_t>(d.size())});
      if (second.inputs.size() < 3) second.inputs.resize(3);
      second.inputs[2] = p.second_bias;
    }
    add_delta(p.first_bias, c, -1.0);
    add_delta(p.second_bias, d, p.second_bias_factor);
  }
  for (const auto& [name, d] : delta) {
    const Tensor& old = g.initializers.at(name);
    Tensor out(DType::f32, old.shape());  // new storage: model copies share the old one
    for (int64_t i = 0; i < old.numel(); ++i)
      out.data<float>()[i] = static_cast<float>(old.data<float>()[i] + d[static_cast<size_t>(i)]);
    g.initializers[name] = out;
  }
  return report;
}

}  // namespace nnaccel
