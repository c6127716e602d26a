// See follow_activation.hpp.
#include "ir/passes/follow_activation.hpp"

#include <cmath>

#include "ir/passes/passes.hpp"

namespace nnaccel::passes_detail {
namespace {

constexpr const char* kDomain = "ai.nnaccel";
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

}  // namespace

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

}  // namespace nnaccel::passes_detail
