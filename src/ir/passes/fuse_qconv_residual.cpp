// QConv -> QAdd (a residual Add unit) -> one QConv that adds the residual as its z, keeping the
// pair's numerics: the QDQ model rounds the conv's result to its own grid (Q -> DQ) before the
// Add, and the fused QConv does the same through its mid_scale / mid_zero_point inputs
// (INT8_CONTRACT.md). The Add then costs nothing: oneDNN adds z in the convolution's output stage
// instead of a pass over memory that writes and reads the int8 tensor once more.
#include <optional>

#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"
#include "ops/fused_activation.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

constexpr const char* kDomain = "ai.nnaccel";

bool is_ai(const Node& n, const char* op) { return n.domain == kDomain && n.op_type == op; }

// Two qparam inputs naming the same value: the same name, or constants of one dtype and value.
bool same_param(const GraphView& v, const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return false;
  if (a == b) return true;
  const Tensor* ta = v.constant(a);
  const Tensor* tb = v.constant(b);
  if (ta == nullptr || tb == nullptr || ta->dtype() != tb->dtype()) return false;
  std::optional<double> va = v.scalar(a), vb = v.scalar(b);
  return va && vb && *va == *vb;
}

// The QAdd with `conv_out` as its operand `side` (0: a, 1: b) fused into the QConv at `conv_at`,
// or nothing when the pair does not qualify.
std::optional<Node> fused(const GraphView& v, const Node& add, size_t add_at, size_t conv_at,
                          int side) {
  const Node& conv = v.graph().nodes[conv_at];
  const size_t s = static_cast<size_t>(side) * 3, o = static_cast<size_t>(1 - side) * 3;
  // A quantized output read by this Add alone, no residual of its own, no activation before
  // the Add (the fused activation runs after the sum).
  if (conv.inputs.size() < 8 || conv.inputs[6].empty() || conv.inputs[7].empty()) return {};
  if (conv.inputs.size() > 9 && !conv.inputs[9].empty()) return {};
  if (fused_activation_of(conv).kind != ActivationKind::none) return {};
  if (v.sole_reader(conv.outputs[0]) != static_cast<int>(add_at)) return {};
  if (!same_param(v, conv.inputs[6], add.inputs[s + 1]) ||
      !same_param(v, conv.inputs[7], add.inputs[s + 2]))
    return {};
  // The residual must have the output's shape: the output stage adds it element by element.
  const TypeInfo* z = v.type(add.inputs[o]);
  const TypeInfo* y = v.type(add.outputs[0]);
  if (z == nullptr || y == nullptr || !same_shape(*z, *y)) return {};
  Node f = conv;
  f.inputs.resize(14);
  f.inputs[6] = add.inputs[6];
  f.inputs[7] = add.inputs[7];
  f.inputs[9] = add.inputs[o];
  f.inputs[10] = add.inputs[o + 1];
  f.inputs[11] = add.inputs[o + 2];
  f.inputs[12] = conv.inputs[6];
  f.inputs[13] = conv.inputs[7];
  f.outputs = add.outputs;
  for (const Attribute& a : add.attrs) f.set_attr(a);  // the Add's activation
  return f;
}

}  // namespace

int fuse_qconv_residual(Model& m) {
  Graph& g = m.graph;
  const GraphView v(g);
  std::vector<bool> dead(g.nodes.size(), false);
  std::vector<std::optional<Node>> replacement(g.nodes.size());
  int count = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& add = g.nodes[k];
    if (!is_ai(add, "QAdd") || add.inputs.size() != 8 || add.outputs.size() != 1) continue;
    for (int side : {0, 1}) {
      const int p = v.producer_index(add.inputs[static_cast<size_t>(side) * 3]);
      if (p < 0 || dead[static_cast<size_t>(p)] || replacement[static_cast<size_t>(p)]) continue;
      if (!is_ai(g.nodes[static_cast<size_t>(p)], "QConv")) continue;
      std::optional<Node> f = fused(v, add, k, static_cast<size_t>(p), side);
      if (!f) continue;
      // In the Add's place: everything the conv and the residual read is computed by then.
      replacement[k] = std::move(f);
      dead[static_cast<size_t>(p)] = true;
      ++count;
      break;
    }
  }
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (replacement[k]) g.nodes[k] = std::move(*replacement[k]);
  erase_nodes(g, dead);
  return count;
}

}  // namespace nnaccel
