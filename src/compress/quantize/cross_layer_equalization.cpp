#include "compress/quantize/cross_layer_equalization.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "core/check.hpp"
#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"
#include "ir/verifier.hpp"

namespace nnaccel {

namespace {

using passes_detail::GraphView;
using passes_detail::is_op;

// A layer's weight seen as [out, in] channels. Scales are kept aside in double and applied once at
// the end, so every weight is rounded to float once however many sweeps run.
struct LayerState {
  int node = -1;
  std::string weight;
  // rows_first: W is [O, in_per_group, spatial] (Conv, Gemm with transB); else [I, O] (Gemm,
  // MatMul).
  bool rows_first = true;
  int64_t outs = 0, in_per_group = 0, spatial = 1, groups = 1, ins = 0;
  std::vector<double> out_div, in_mul;

  int64_t in_channel(int64_t m, int64_t i) const {
    return (m / (outs / groups)) * in_per_group + i;
  }

  // visit(m, c, w) over every element: output channel m, input channel c, weight w.
  template <typename F>
  void for_each(const Tensor& t, F visit) const {
    const float* w = t.data<float>();
    if (rows_first) {
      for (int64_t m = 0; m < outs; ++m)
        for (int64_t i = 0; i < in_per_group; ++i) {
          const int64_t c = in_channel(m, i);
          const float* p = w + (m * in_per_group + i) * spatial;
          for (int64_t k = 0; k < spatial; ++k) visit(m, c, p[k]);
        }
    } else {
      for (int64_t c = 0; c < ins; ++c)
        for (int64_t m = 0; m < outs; ++m) visit(m, c, w[c * outs + m]);
    }
  }

  std::vector<double> out_ranges(const Tensor& t) const {
    std::vector<double> r(static_cast<size_t>(outs), 0.0);
    for_each(t, [&](int64_t m, int64_t c, float w) {
      const double v = std::fabs(w * in_mul[static_cast<size_t>(c)]);
      r[static_cast<size_t>(m)] = std::max(r[static_cast<size_t>(m)], v);
    });
    for (int64_t m = 0; m < outs; ++m) r[static_cast<size_t>(m)] /= out_div[static_cast<size_t>(m)];
    return r;
  }

  std::vector<double> in_ranges(const Tensor& t) const {
    std::vector<double> r(static_cast<size_t>(ins), 0.0);
    for_each(t, [&](int64_t m, int64_t c, float w) {
      const double v = std::fabs(w / out_div[static_cast<size_t>(m)]);
      r[static_cast<size_t>(c)] = std::max(r[static_cast<size_t>(c)], v);
    });
    for (int64_t c = 0; c < ins; ++c) r[static_cast<size_t>(c)] *= in_mul[static_cast<size_t>(c)];
    return r;
  }

  Tensor scaled(const Tensor& t) const {
    Tensor out(DType::f32, t.shape());
    float* dst = out.data<float>();
    int64_t k = 0;
    if (rows_first) {
      for_each(t, [&](int64_t m, int64_t c, float w) {
        dst[k++] = static_cast<float>(w * in_mul[static_cast<size_t>(c)] /
                                      out_div[static_cast<size_t>(m)]);
      });
    } else {
      for_each(t, [&](int64_t m, int64_t c, float w) {
        dst[c * outs + m] = static_cast<float>(w * in_mul[static_cast<size_t>(c)] /
                                               out_div[static_cast<size_t>(m)]);
      });
    }
    return out;
  }
};

// A constant f32 initializer read by this one node only (so rewriting it changes nothing else).
const Tensor* own_constant(const GraphView& view, const std::string& name) {
  if (name.empty()) return nullptr;
  const Tensor* t = view.constant(name);
  if (t == nullptr || t->dtype() != DType::f32 || view.read_count(name) != 1) return nullptr;
  return t;
}

// The weight layout of a Conv/Gemm/MatMul with an own constant weight; nullopt otherwise.
std::optional<LayerState> layer_of(const GraphView& view, int index) {
  const Node& n = view.graph().nodes[static_cast<size_t>(index)];
  if (n.inputs.size() < 2) return std::nullopt;
  const Tensor* w = own_constant(view, n.inputs[1]);
  if (w == nullptr || view.constant(n.inputs[0]) != nullptr) return std::nullopt;
  LayerState s;
  s.node = index;
  s.weight = n.inputs[1];
  if (is_op(n, "Conv")) {
    if (w->rank() < 3) return std::nullopt;
    s.rows_first = true;
    s.outs = w->dim(0);
    s.in_per_group = w->dim(1);
    s.groups = n.attr_int("group", 1);
    for (int d = 2; d < w->rank(); ++d) s.spatial *= w->dim(d);
    if (s.groups < 1 || s.outs % s.groups != 0) return std::nullopt;
  } else if (is_op(n, "Gemm")) {
    if (w->rank() != 2 || n.attr_int("transA", 0) != 0) return std::nullopt;
    s.rows_first = n.attr_int("transB", 0) != 0;
    s.outs = w->dim(s.rows_first ? 0 : 1);
    s.in_per_group = w->dim(s.rows_first ? 1 : 0);
  } else if (is_op(n, "MatMul")) {
    if (w->rank() != 2) return std::nullopt;
    s.rows_first = false;
    s.outs = w->dim(1);
    s.in_per_group = w->dim(0);
  } else {
    return std::nullopt;
  }
  s.ins = s.in_per_group * s.groups;
  if (s.outs <= 0 || s.ins <= 0) return std::nullopt;
  s.out_div.assign(static_cast<size_t>(s.outs), 1.0);
  s.in_mul.assign(static_cast<size_t>(s.ins), 1.0);
  return s;
}

struct Pair {
  int first = -1, second = -1;  // node indices
  int64_t channels = 0,
          group = 1;  // group: second-layer input features per channel
  std::string path;
  // Per-output-channel constants divided by the scales along with the first layer's weight: its
  // bias, and constants Added on the path.
  std::vector<std::string> constants;
  std::vector<int> clips;  // Clip nodes to become Relu
  ClePair row;
};

// Whether the constant `t` holds one value per channel of a value whose channels lie on axis 1
// (conv mode, rank `rank`) or on the last axis (features mode).
bool per_channel_shape(const Tensor& t, int64_t channels, bool conv_mode, int64_t rank) {
  if (t.numel() != channels) return false;
  const Shape& s = t.shape();
  if (!conv_mode) return !s.empty() && s.back() == channels;
  // [C, 1, ...] aligned to axis 1 of a rank-`rank` value: rank(t) == rank - 1, or a leading 1.
  const int64_t r = static_cast<int64_t>(s.size());
  if (r == rank - 1) return s[0] == channels;
  if (r == rank) return s[0] == 1 && s[1] == channels;
  return false;
}

double spread(const std::vector<double>& r) {
  double lo = INFINITY, hi = 0;
  for (double v : r) {
    if (v <= 0) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return hi > 0 ? hi / lo : 1.0;
}

// Second-layer input ranges gathered per first-layer channel (a Flatten's features together).
std::vector<double> grouped(const std::vector<double>& r, int64_t group) {
  std::vector<double> out(r.size() / static_cast<size_t>(group), 0.0);
  for (size_t j = 0; j < r.size(); ++j)
    out[j / static_cast<size_t>(group)] = std::max(out[j / static_cast<size_t>(group)], r[j]);
  return out;
}

std::string display_name(const Node& n) { return n.name.empty() ? n.outputs[0] : n.name; }

// Follows the output of layer `first` to the next layer; fills `pair` and returns true when the
// path between them is positively homogeneous channel by channel.
bool find_pair(const GraphView& view, int first, const LayerState& a, const CleOptions& options,
               Pair& pair, int& skipped_clip) {
  const Graph& g = view.graph();
  const Node& head = g.nodes[static_cast<size_t>(first)];
  if (head.outputs.size() != 1) return false;
  // Bias of the first layer: must be our own constant with one value per output channel.
  const size_t bias_slot = 2;
  if (head.inputs.size() > bias_slot && !head.inputs[bias_slot].empty()) {
    const Tensor* b = own_constant(view, head.inputs[bias_slot]);
    if (b == nullptr || b->numel() != a.outs || b->rank() < 1 || b->shape().back() != a.outs)
      return false;
    pair.constants.push_back(head.inputs[bias_slot]);
  }
  const bool conv_first = is_op(head, "Conv");
  bool conv_mode = conv_first, flattened = false;
  // A Conv's output has the rank of its weight.
  const int64_t rank = g.initializers.at(a.weight).rank();
  std::string v = head.outputs[0];
  std::vector<std::string> ops;
  for (;;) {
    const int r = view.sole_reader(v);
    if (r < 0) return false;
    const Node& n = g.nodes[static_cast<size_t>(r)];
    if (n.inputs.empty() || n.inputs[0] != v) {
      // Only Add/Mul may read the value as their second operand.
      if (!(is_op(n, "Add") || is_op(n, "Mul")) || n.inputs.size() != 2 || n.inputs[1] != v)
        return false;
    }
    if (is_op(n, "Conv") || is_op(n, "Gemm") || is_op(n, "MatMul")) {
      if (n.inputs[0] != v) return false;
      std::optional<LayerState> b = layer_of(view, r);
      if (!b) return false;
      if (is_op(n, "Conv")) {
        if (!conv_mode || b->ins != a.outs) return false;
      } else {
        if (conv_mode) return false;  // a Conv's NC... output needs a Flatten first
        if (b->ins % a.outs != 0 || (!flattened && b->ins != a.outs)) return false;
        pair.group = b->ins / a.outs;
      }
      pair.first = first;
      pair.second = r;
      pair.channels = a.outs;
      for (size_t k = 0; k < ops.size(); ++k) pair.path += (k ? ">" : "") + ops[k];
      return true;
    }
    if (n.outputs.empty() || n.outputs[0].empty()) return false;
    for (size_t k = 1; k < n.outputs.size(); ++k)
      if (!n.outputs[k].empty()) return false;  // MaxPool's Indices: not homogeneous
    if (is_op(n, "Relu") || is_op(n, "LeakyRelu") ||
        (is_op(n, "PRelu") && n.inputs.size() == 2 && n.inputs[1] != v)) {
    } else if (is_op(n, "Clip")) {
      const std::optional<double> lo =
          n.inputs.size() > 1 && !n.inputs[1].empty() ? view.scalar(n.inputs[1]) : std::nullopt;
      const bool bounded = n.inputs.size() > 2 && !n.inputs[2].empty();
      if (!lo || *lo != 0.0) return false;
      if (bounded) {
        const std::optional<double> hi = view.scalar(n.inputs[2]);
        if (!options.relu6_to_relu || !hi || *hi <= 0) {
          ++skipped_clip;
          return false;
        }
        pair.clips.push_back(r);
      }
    } else if (conv_mode && (is_op(n, "MaxPool") || is_op(n, "AveragePool") ||
                             is_op(n, "GlobalAveragePool") || is_op(n, "GlobalMaxPool"))) {
    } else if (conv_mode && is_op(n, "Flatten")) {
      if (n.attr_int("axis", 1) != 1) return false;
      conv_mode = false;
      flattened = true;
    } else if ((is_op(n, "Add") || is_op(n, "Mul")) && n.inputs.size() == 2 && !flattened) {
      const std::string other = n.inputs[0] == v ? n.inputs[1] : n.inputs[0];
      const Tensor* c = own_constant(view, other);
      if (c == nullptr) return false;
      if (is_op(n, "Mul")) {
        // Linear either way: a per-channel or single factor needs no rescaling.
        if (c->numel() != 1 && !per_channel_shape(*c, a.outs, conv_mode, rank)) return false;
      } else {
        if (!per_channel_shape(*c, a.outs, conv_mode, rank)) return false;
        pair.constants.push_back(other);
      }
    } else {
      return false;
    }
    ops.push_back(n.op_type);
    v = n.outputs[0];
  }
}

}  // namespace

CleReport cross_layer_equalize(Model& model, const CleOptions& options) {
  CleReport report;
  Graph& g = model.graph;
  verify_graph(g);
  std::vector<Pair> pairs;
  std::map<int, LayerState> layers;
  {
    GraphView view(g);
    for (int k = 0; k < static_cast<int>(g.nodes.size()); ++k) {
      std::optional<LayerState> a = layer_of(view, k);
      if (!a) continue;
      Pair p;
      if (!find_pair(view, k, *a, options, p, report.pairs_skipped_clip)) continue;
      if (!layers.count(p.first)) layers[p.first] = *a;
      if (!layers.count(p.second)) layers[p.second] = *layer_of(view, p.second);
      pairs.push_back(std::move(p));
    }
  }
  if (pairs.empty()) return report;

  auto weight = [&](int node) -> const Tensor& {
    return g.initializers.at(layers.at(node).weight);
  };
  auto pair_ranges = [&](const Pair& p, std::vector<double>& r1, std::vector<double>& r2) {
    r1 = layers.at(p.first).out_ranges(weight(p.first));
    r2 = grouped(layers.at(p.second).in_ranges(weight(p.second)), p.group);
  };
  for (Pair& p : pairs) {
    std::vector<double> r1, r2;
    pair_ranges(p, r1, r2);
    p.row.first_spread_before = spread(r1);
    p.row.second_spread_before = spread(r2);
  }
  for (report.sweeps = 1; report.sweeps <= options.max_sweeps; ++report.sweeps) {
    double largest = 0;
    for (const Pair& p : pairs) {
      std::vector<double> r1, r2;
      pair_ranges(p, r1, r2);
      LayerState& a = layers.at(p.first);
      LayerState& b = layers.at(p.second);
      for (int64_t i = 0; i < p.channels; ++i) {
        const double x = r1[static_cast<size_t>(i)], y = r2[static_cast<size_t>(i)];
        if (!(x > 0) || !(y > 0)) continue;  // a dead channel: nothing to balance
        const double s = std::sqrt(x / y);
        if (!std::isfinite(s)) continue;
        a.out_div[static_cast<size_t>(i)] *= s;
        for (int64_t j = 0; j < p.group; ++j) b.in_mul[static_cast<size_t>(i * p.group + j)] *= s;
        largest = std::max(largest, std::fabs(std::log(s)));
      }
    }
    if (largest <= options.tolerance) {
      report.converged = true;
      break;
    }
  }
  report.sweeps = std::min(report.sweeps, options.max_sweeps);

  for (Pair& p : pairs) {
    std::vector<double> r1, r2;
    pair_ranges(p, r1, r2);
    p.row.first_spread_after = spread(r1);
    p.row.second_spread_after = spread(r2);
  }
  // Rewrite: new tensors (a Model copy shares its initializers' storage with the original).
  for (const Pair& p : pairs) {
    const LayerState& a = layers.at(p.first);
    for (const std::string& name : p.constants) {
      const Tensor& c = g.initializers.at(name);
      Tensor out(DType::f32, c.shape());
      for (int64_t i = 0; i < c.numel(); ++i)
        out.data<float>()[i] =
            static_cast<float>(c.data<float>()[i] / a.out_div[static_cast<size_t>(i)]);
      g.initializers[name] = out;
    }
    for (int clip : p.clips) {
      Node& n = g.nodes[static_cast<size_t>(clip)];
      n.op_type = "Relu";
      n.inputs.resize(1);
      n.attrs.clear();
      ++report.clips_replaced;
    }
  }
  for (const auto& [node, state] : layers)
    g.initializers[state.weight] = state.scaled(weight(node));
  for (Pair& p : pairs) {
    p.row.first = display_name(g.nodes[static_cast<size_t>(p.first)]);
    p.row.second = display_name(g.nodes[static_cast<size_t>(p.second)]);
    p.row.path = p.path;
    p.row.channels = p.channels;
    report.pairs.push_back(p.row);
  }
  if (report.clips_replaced > 0) remove_dead_nodes(model);  // bounds no Clip reads any more
  return report;
}

}  // namespace nnaccel
