// Runs of float elementwise ops -> one ai.nnaccel ElementwiseChain (elementwise_chain.hpp), so
// the intermediate tensors never reach memory.
#include <limits>

#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"
#include "ops/elementwise_chain.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

constexpr const char* kDomain = "ai.nnaccel";

// One matched op: its step, the operand a binary step reads, and the node.
struct Link {
  size_t node;
  ChainStep step;
  std::string operand;
};

bool is_unary_step_op(const std::string& op) {
  for (const char* u : {"Relu", "Sigmoid", "Tanh", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal",
                        "Erf", "HardSwish", "Softplus"})
    if (op == u) return true;
  return false;
}

// How node `n` continues a chain whose running value is `x` (with type `xt`); nullopt when it
// cannot (wrong op, operand that would change the running shape, non-constant Clip bounds...).
std::optional<Link> as_step(const GraphView& v, size_t k, const std::string& x,
                            const TypeInfo& xt) {
  const Node& n = v.graph().nodes[k];
  if (n.outputs.size() != 1 || n.inputs.empty() || !v.is_f32(n.outputs[0])) return std::nullopt;
  Link l{k, {}, ""};
  if (n.domain == kDomain && n.op_type == "Gelu") {
    if (n.inputs.size() != 1 || n.inputs[0] != x) return std::nullopt;
    const std::string approx = n.attr_string("approximate", "none");
    if (approx != "none" && approx != "tanh") return std::nullopt;
    l.step.op = approx == "none" ? ChainOp::gelu : ChainOp::gelu_tanh;
    return l;
  }
  if (!n.domain.empty()) return std::nullopt;
  const std::string& op = n.op_type;
  if (is_unary_step_op(op) || op == "LeakyRelu" || op == "HardSigmoid" || op == "Elu" ||
      op == "Clip") {
    if (n.inputs[0] != x) return std::nullopt;
    chain_op_from_name(op, l.step.op);
    if (op == "LeakyRelu") l.step.p0 = n.attr_float("alpha", 0.01f);
    if (op == "Elu") l.step.p0 = n.attr_float("alpha", 1.0f);
    if (op == "HardSigmoid") {
      l.step.p0 = n.attr_float("alpha", 0.2f);
      l.step.p1 = n.attr_float("beta", 0.5f);
    }
    if (op == "Clip") {
      l.step.p0 = -std::numeric_limits<float>::infinity();
      l.step.p1 = std::numeric_limits<float>::infinity();
      for (size_t i = 1; i < n.inputs.size() && i < 3; ++i) {
        if (n.inputs[i].empty()) continue;
        std::optional<double> b = v.scalar(n.inputs[i]);
        if (!b) return std::nullopt;
        (i == 1 ? l.step.p0 : l.step.p1) = static_cast<float>(*b);
      }
    } else if (n.inputs.size() != 1) {
      return std::nullopt;
    }
    return l;
  }
  static const struct {
    const char* name;
    ChainOp forward, reversed;
  } kBinary[] = {{"Add", ChainOp::add, ChainOp::add},  {"Sub", ChainOp::sub, ChainOp::rsub},
                 {"Mul", ChainOp::mul, ChainOp::mul},  {"Div", ChainOp::div, ChainOp::rdiv},
                 {"Pow", ChainOp::pow, ChainOp::rpow}, {"Max", ChainOp::max, ChainOp::max},
                 {"Min", ChainOp::min, ChainOp::min}};
  for (const auto& b : kBinary) {
    if (op != b.name) continue;
    if (n.inputs.size() != 2 || n.inputs[0] == n.inputs[1]) return std::nullopt;
    const bool forward = n.inputs[0] == x;
    if (!forward && n.inputs[1] != x) return std::nullopt;
    l.operand = n.inputs[forward ? 1 : 0];
    const TypeInfo* ot = v.type(l.operand);
    if (ot == nullptr || ot->dtype != DType::f32 || !broadcasts_into(*ot, xt)) return std::nullopt;
    l.step.op = forward ? b.forward : b.reversed;
    return l;
  }
  return std::nullopt;
}

Node chain_node(const Graph& g, const std::string& x, const std::vector<Link>& links) {
  Node n;
  n.op_type = "ElementwiseChain";
  n.domain = kDomain;
  n.name = g.nodes[links.front().node].name + "_chain";
  n.inputs = {x};
  std::vector<std::string> steps;
  std::vector<float> params;
  for (const Link& l : links) {
    steps.push_back(chain_op_name(l.step.op));
    const int np = chain_op_param_count(l.step.op);
    if (np > 0) params.push_back(l.step.p0);
    if (np > 1) params.push_back(l.step.p1);
    if (chain_op_is_binary(l.step.op)) n.inputs.push_back(l.operand);
  }
  n.outputs = {g.nodes[links.back().node].outputs[0]};
  n.attrs = {Attribute::of_strings("steps", steps), Attribute::of_floats("params", params)};
  return n;
}

}  // namespace

void fuse_elementwise_chain(Model& m) {
  Graph& g = m.graph;
  std::vector<std::pair<size_t, Node>> chains;
  std::vector<bool> dead(g.nodes.size(), false);
  {
    GraphView v(g);
    std::vector<bool> claimed(g.nodes.size(), false);
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      if (claimed[k]) continue;
      const Node& first = g.nodes[k];
      // The running value enters through input 0 or, for a binary op, either input whose shape
      // is the result's.
      for (size_t xi = 0; xi < std::min<size_t>(first.inputs.size(), 2); ++xi) {
        const std::string x = first.inputs[xi];
        const TypeInfo* xt = v.type(x);
        if (x.empty() || xt == nullptr || xt->dtype != DType::f32 || !xt->has_shape) continue;
        std::optional<Link> l = as_step(v, k, x, *xt);
        if (!l) continue;
        std::vector<Link> links{*l};
        std::string cur = first.outputs[0];
        for (;;) {
          const int r = v.sole_reader(cur);
          if (r < 0 || claimed[static_cast<size_t>(r)]) break;
          std::optional<Link> next = as_step(v, static_cast<size_t>(r), cur, *xt);
          if (!next) break;
          links.push_back(*next);
          cur = g.nodes[static_cast<size_t>(r)].outputs[0];
        }
        if (links.size() < 2) break;
        for (const Link& c : links) claimed[c.node] = dead[c.node] = true;
        chains.emplace_back(k, chain_node(g, x, links));
        break;
      }
    }
  }
  if (chains.empty()) return;
  for (auto& [at, node] : chains) {
    g.nodes[at] = std::move(node);
    dead[at] = false;
  }
  m.opsets[kDomain] = 1;
  erase_nodes(g, dead);
}

}  // namespace nnaccel
