#include <set>

#include "ir/passes/passes.hpp"
#include "ir/verifier.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

bool is_op(const Node& n, const char* op) { return n.domain.empty() && n.op_type == op; }

// Names read from inside the subgraphs of any node of g.
std::set<std::string> subgraph_reads(const Graph& g) {
  std::set<std::string> r;
  for (const Node& n : g.nodes) collect_subgraph_reads(n, r);
  return r;
}

bool is_graph_output(const Graph& g, const std::string& name) {
  for (const ValueInfo& v : g.outputs)
    if (v.name == name) return true;
  return false;
}

void rename_reads(Graph& g, const std::string& from, const std::string& to) {
  for (Node& n : g.nodes)
    for (std::string& i : n.inputs)
      if (i == from) i = to;
}

// One rewrite at a time; returns whether the graph changed.
bool rewrite_once(Graph& g) {
  std::map<std::string, size_t> producer;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    for (const std::string& o : g.nodes[k].outputs)
      if (!o.empty()) producer[o] = k;
  const std::set<std::string> sub = subgraph_reads(g);
  std::map<std::string, int> reads = read_counts(g);
  auto erase_node = [&](size_t k) { g.nodes.erase(g.nodes.begin() + static_cast<long>(k)); };
  // Removes the node producing `name` when nothing reads it any more.
  auto erase_if_unread = [&](const std::string& name) {
    if (is_graph_output(g, name) || sub.count(name)) return;
    for (const Node& n : g.nodes)
      for (const std::string& i : n.inputs)
        if (i == name) return;
    auto p = producer.find(name);
    if (p != producer.end() && g.nodes[p->second].outputs.size() == 1) erase_node(p->second);
  };

  for (size_t k = 0; k < g.nodes.size(); ++k) {
    Node& n = g.nodes[k];
    if (n.inputs.empty() || n.outputs.size() != 1 || n.inputs[0].empty()) continue;
    const std::string x = n.inputs[0];
    const std::string y = n.outputs[0];
    if (is_op(n, "Transpose")) {
      const Attribute* pa = n.attr("perm");
      if (pa == nullptr) continue;
      std::vector<int64_t> perm = pa->ints;
      bool ident = true;
      for (size_t i = 0; i < perm.size(); ++i) ident = ident && perm[i] == static_cast<int64_t>(i);
      if (ident) {
        n.op_type = "Identity";
        n.erase_attr("perm");
        return true;
      }
      auto p = producer.find(x);
      if (p == producer.end()) continue;
      const Node& prev = g.nodes[p->second];
      const Attribute* pp = prev.attr("perm");
      if (!is_op(prev, "Transpose") || pp == nullptr || pp->ints.size() != perm.size()) continue;
      std::vector<int64_t> q(perm.size());
      for (size_t j = 0; j < perm.size(); ++j) {
        if (perm[j] < 0 || perm[j] >= static_cast<int64_t>(perm.size())) return false;
        q[j] = pp->ints[static_cast<size_t>(perm[j])];
      }
      n.inputs[0] = prev.inputs[0];
      Attribute a = *pa;
      a.ints = q;
      n.set_attr(a);
      erase_if_unread(x);
      return true;
    }
    if (is_op(n, "Reshape")) {
      auto p = producer.find(x);
      if (p == producer.end() || !is_op(g.nodes[p->second], "Reshape")) continue;
      if (n.inputs.size() < 2 || !is_constant_initializer(g, n.inputs[1])) continue;
      // A 0 in the target shape copies a dimension of the input (unless allowzero): it would
      // then refer to the other input.
      if (n.attr_int("allowzero", 0) == 0) {
        bool has_zero = false;
        for (int64_t d : g.initializers.at(n.inputs[1]).to_i64_vector()) has_zero |= d == 0;
        if (has_zero) continue;
      }
      n.inputs[0] = g.nodes[p->second].inputs[0];
      erase_if_unread(x);
      return true;
    }
    if (is_op(n, "Identity")) {
      if (sub.count(y)) continue;
      if (!is_graph_output(g, y)) {
        rename_reads(g, y, x);
        erase_node(k);
        return true;
      }
      // y is a graph output: let x's producer write y directly.
      auto p = producer.find(x);
      if (p == producer.end() || is_graph_output(g, x) || sub.count(x)) continue;
      for (std::string& o : g.nodes[p->second].outputs)
        if (o == x) o = y;
      erase_node(k);
      rename_reads(g, x, y);
      return true;
    }
  }
  (void)reads;
  return false;
}

}  // namespace

void remove_identity_and_redundant_reshapes(Model& m) {
  verify_graph(m.graph);
  while (rewrite_once(m.graph)) {
  }
  verify_graph(m.graph);  // restores topological order after renames
}

}  // namespace nnaccel
