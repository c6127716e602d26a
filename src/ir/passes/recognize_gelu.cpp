// GELU as exporters write it -> one ai.nnaccel Gelu:
//   exact  x * 0.5 * (1 + erf(x / 1.41421))    (or x * 0.70711; the 0.5 anywhere in the product)
//   tanh   x * 0.5 * (1 + tanh(0.79788 * (x + 0.044715 * x^3)))   (x^3 as Pow(x, 3) or x*x*x)
#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

constexpr const char* kDomain = "ai.nnaccel";

struct Match {
  std::vector<size_t> nodes;  // every node of the pattern
  std::string x, out;
  bool tanh = false;
};

// The node that alone reads `value` when it is the `op` (a default-domain op).
const Node* sole(const GraphView& v, const std::string& value, const char* op, Match& m) {
  const int r = v.sole_reader(value);
  if (r < 0 || !is_op(v.graph().nodes[static_cast<size_t>(r)], op)) return nullptr;
  m.nodes.push_back(static_cast<size_t>(r));
  return &v.graph().nodes[static_cast<size_t>(r)];
}

// The producer of `value`, when `value` is read only by the pattern and made by `op`.
const Node* made_by(const GraphView& v, const std::string& value, const char* op, Match& m) {
  const int p = v.producer_index(value);
  if (p < 0 || v.sole_reader(value) < 0 || !is_op(v.graph().nodes[static_cast<size_t>(p)], op))
    return nullptr;
  m.nodes.push_back(static_cast<size_t>(p));
  return &v.graph().nodes[static_cast<size_t>(p)];
}

// `n` is a two-input op of `x` and a constant near `c`.
bool with_constant(const GraphView& v, const Node& n, const std::string& x, double c) {
  std::optional<double> s = v.scalar(other_input(n, x));
  return s && near(*s, c);
}

// From `a` = 1 + f(x), the Muls that multiply it by x and by 0.5 (in any order, or by a
// separately computed x * 0.5). Sets m.out to the final product.
bool match_product(const GraphView& v, const std::string& a, Match& m) {
  bool have_x = false, have_half = false;
  std::string cur = a;
  while (!(have_x && have_half)) {
    const Node* mul = sole(v, cur, "Mul", m);
    if (mul == nullptr) return false;
    const std::string o = other_input(*mul, cur);
    if (o == m.x && !have_x) {
      have_x = true;
    } else if (!have_half && v.scalar(o) && near(*v.scalar(o), 0.5)) {
      have_half = true;
    } else if (!have_x && !have_half) {
      const Node* half = made_by(v, o, "Mul", m);
      if (half == nullptr || !with_constant(v, *half, m.x, 0.5)) return false;
      have_x = have_half = true;
    } else {
      return false;
    }
    cur = mul->outputs[0];
  }
  m.out = cur;
  return true;
}

// 1 + t, read only by the product.
const Node* plus_one(const GraphView& v, const std::string& t, Match& m) {
  const Node* add = sole(v, t, "Add", m);
  return add != nullptr && with_constant(v, *add, t, 1.0) ? add : nullptr;
}

std::optional<Match> match_erf(const GraphView& v, size_t k) {
  const Node& erf = v.graph().nodes[k];
  Match m{{k}, "", "", false};
  const Node* scale = made_by(v, erf.inputs[0], "Div", m);
  if (scale != nullptr) {
    if (!v.scalar(scale->inputs[1]) || !near(*v.scalar(scale->inputs[1]), 1.4142135623730951))
      return std::nullopt;
    m.x = scale->inputs[0];
  } else {
    m.nodes = {k};
    scale = made_by(v, erf.inputs[0], "Mul", m);
    if (scale == nullptr) return std::nullopt;
    for (const std::string& x : scale->inputs)
      if (with_constant(v, *scale, x, 0.7071067811865476)) m.x = x;
    if (m.x.empty()) return std::nullopt;
  }
  const Node* add = plus_one(v, erf.outputs[0], m);
  if (add == nullptr || !match_product(v, add->outputs[0], m)) return std::nullopt;
  return m;
}

// x^3 as Pow(x, 3), x * (x * x) or (x * x) * x.
bool is_cube(const GraphView& v, const std::string& value, const std::string& x, Match& m) {
  const int p = v.producer_index(value);
  if (p < 0 || v.sole_reader(value) < 0) return false;
  const Node& n = v.graph().nodes[static_cast<size_t>(p)];
  if (is_op(n, "Pow") && n.inputs.size() == 2 && n.inputs[0] == x && v.scalar(n.inputs[1]) &&
      *v.scalar(n.inputs[1]) == 3.0) {
    m.nodes.push_back(static_cast<size_t>(p));
    return true;
  }
  if (!is_op(n, "Mul") || n.inputs.size() != 2) return false;
  const std::string sq = other_input(n, x);
  if (sq.empty()) return false;
  m.nodes.push_back(static_cast<size_t>(p));
  const Node* square = made_by(v, sq, "Mul", m);
  return square != nullptr && square->inputs[0] == x && square->inputs[1] == x;
}

std::optional<Match> match_tanh(const GraphView& v, size_t k) {
  const Node& tanh = v.graph().nodes[k];
  Match m{{k}, "", "", true};
  const Node* scale = made_by(v, tanh.inputs[0], "Mul", m);
  if (scale == nullptr) return std::nullopt;
  std::string inner;
  for (const std::string& i : scale->inputs)
    if (with_constant(v, *scale, i, 0.7978845608028654)) inner = i;
  const Node* sum = inner.empty() ? nullptr : made_by(v, inner, "Add", m);
  if (sum == nullptr || sum->inputs.size() != 2) return std::nullopt;
  // One addend is x, the other 0.044715 * x^3.
  for (int pick = 0; pick < 2 && m.x.empty(); ++pick) {
    const std::string x = sum->inputs[static_cast<size_t>(pick)];
    const std::string w = sum->inputs[static_cast<size_t>(1 - pick)];
    Match trial = m;
    const Node* cubic = made_by(v, w, "Mul", trial);
    if (cubic == nullptr) continue;
    for (const std::string& c : cubic->inputs) {
      if (!with_constant(v, *cubic, c, 0.044715)) continue;
      Match inner_trial = trial;
      if (is_cube(v, c, x, inner_trial)) {
        m = inner_trial;
        m.x = x;
        break;
      }
    }
  }
  if (m.x.empty()) return std::nullopt;
  const Node* add = plus_one(v, tanh.outputs[0], m);
  if (add == nullptr || !match_product(v, add->outputs[0], m)) return std::nullopt;
  return m;
}

}  // namespace

void recognize_gelu(Model& m) {
  Graph& g = m.graph;
  std::vector<Match> matches;
  {
    GraphView v(g);
    std::vector<bool> claimed(g.nodes.size(), false);
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      const Node& n = g.nodes[k];
      if (n.inputs.size() != 1 || n.outputs.size() != 1) continue;
      std::optional<Match> match;
      if (is_op(n, "Erf"))
        match = match_erf(v, k);
      else if (is_op(n, "Tanh"))
        match = match_tanh(v, k);
      if (!match || !v.is_f32(match->x) || !v.is_f32(match->out)) continue;
      bool free = true;
      for (size_t i : match->nodes) free = free && !claimed[i];
      if (!free) continue;
      for (size_t i : match->nodes) claimed[i] = true;
      matches.push_back(std::move(*match));
    }
  }
  if (matches.empty()) return;
  std::vector<bool> dead(g.nodes.size(), false);
  for (const Match& match : matches) {
    for (size_t i : match.nodes) dead[i] = true;
    const size_t at = match.nodes.front();
    Node gelu;
    gelu.op_type = "Gelu";
    gelu.domain = kDomain;
    gelu.name = g.nodes[at].name + "_gelu";
    gelu.inputs = {match.x};
    gelu.outputs = {match.out};
    gelu.attrs = {Attribute::of_string("approximate", match.tanh ? "tanh" : "none")};
    g.nodes[at] = std::move(gelu);
    dead[at] = false;
  }
  m.opsets[kDomain] = 1;
  erase_nodes(g, dead);
}

}  // namespace nnaccel
