// Conv followed by a Mul and/or Add of per-channel (or scalar) constants -> one Conv with scaled
// weights and shifted bias. Paddle's exports write BatchNorm-like "learnable affine blocks" this
// way (PP-OCRv4's PPLCNetV3), and folding them leaves the Conv next to its activation.
#include <algorithm>

#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"
#include "ir/verifier.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

// Folds the Mul or Add that alone reads the output of the Conv at `k`; false when there is none.
bool fold_one(Graph& g, size_t k) {
  Node& conv = g.nodes[k];
  if (conv.inputs.size() < 2 || conv.outputs.size() != 1) return false;
  if (!is_constant_initializer(g, conv.inputs[1])) return false;
  const Tensor& w = g.initializers.at(conv.inputs[1]);
  if (w.dtype() != DType::f32 || w.rank() < 3) return false;
  const bool has_bias = conv.inputs.size() > 2 && !conv.inputs[2].empty();
  if (has_bias && (!is_constant_initializer(g, conv.inputs[2]) ||
                   g.initializers.at(conv.inputs[2]).dtype() != DType::f32 ||
                   g.initializers.at(conv.inputs[2]).numel() != w.dim(0)))
    return false;
  const std::map<std::string, int> reads = read_counts(g);
  const std::string y = conv.outputs[0];
  if (reads.at(y) != 1) return false;
  size_t r = 0;
  while (r < g.nodes.size() && std::find(g.nodes[r].inputs.begin(), g.nodes[r].inputs.end(), y) ==
                                   g.nodes[r].inputs.end())
    ++r;
  if (r == g.nodes.size()) return false;  // read by a subgraph or a graph output
  const Node& op = g.nodes[r];
  const bool mul = is_op(op, "Mul"), add = is_op(op, "Add");
  if (!(mul || add) || op.outputs.size() != 1) return false;
  const std::string other = other_input(op, y);
  if (other.empty() || other == y || !is_constant_initializer(g, other)) return false;
  const int64_t channels = w.dim(0);
  std::optional<std::vector<float>> values =
      per_channel_values(g.initializers.at(other), channels, static_cast<size_t>(w.rank()));
  if (!values) return false;
  Tensor nb(DType::f32, {channels});
  for (int64_t c = 0; c < channels; ++c)
    nb.data<float>()[c] = has_bias ? g.initializers.at(conv.inputs[2]).data<float>()[c] : 0.0f;
  if (mul) {
    Tensor nw = w.clone();
    const int64_t per_channel = w.numel() / std::max<int64_t>(channels, 1);
    for (int64_t c = 0; c < channels; ++c) {
      const float s = (*values)[static_cast<size_t>(c)];
      for (int64_t i = 0; i < per_channel; ++i) nw.data<float>()[c * per_channel + i] *= s;
      nb.data<float>()[c] *= s;
    }
    const std::string wn = unique_name(g, conv.inputs[1] + "_scaled");
    g.initializers[wn] = nw;
    conv.inputs[1] = wn;
  } else {
    for (int64_t c = 0; c < channels; ++c) nb.data<float>()[c] += (*values)[static_cast<size_t>(c)];
  }
  if (mul && !has_bias) {
    // A zero bias scaled stays zero: no bias input needed.
  } else {
    const std::string bn = unique_name(g, conv.inputs[1] + "_bias");
    g.initializers[bn] = nb;
    conv.inputs.resize(3);
    conv.inputs[2] = bn;
  }
  conv.outputs[0] = op.outputs[0];
  g.nodes.erase(g.nodes.begin() + static_cast<std::ptrdiff_t>(r));
  return true;
}

}  // namespace

void fold_conv_affine(Model& m) {
  Graph& g = m.graph;
  verify_graph(g);  // topological order: a Conv's readers come after it
  bool changed = false;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (!is_op(g.nodes[k], "Conv")) continue;
    while (fold_one(g, k)) {
      changed = true;
      // The erased reader came after the Conv (topological order), so k still names it.
    }
  }
  if (changed) verify_graph(g);
}

}  // namespace nnaccel
