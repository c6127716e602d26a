#include <set>

#include "ir/passes/passes.hpp"
#include "ir/verifier.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

// Keeps the nodes of `g` that contribute to its outputs; recurses into the subgraphs of the
// nodes kept. `g` is sorted topologically on entry.
void prune(Graph& g) {
  std::set<std::string> live;
  for (const ValueInfo& v : g.outputs) live.insert(v.name);
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t k = g.nodes.size(); k-- > 0;) {
    Node& n = g.nodes[k];
    bool needed = false;
    for (const std::string& o : n.outputs) needed = needed || (!o.empty() && live.count(o));
    if (!needed) continue;
    keep[k] = true;
    for (const std::string& i : n.inputs)
      if (!i.empty()) live.insert(i);
    for (Attribute& a : n.attrs) {
      // Subgraphs are shared between copies of a Model: copy before rewriting.
      if (a.g) {
        a.g = std::make_shared<Graph>(*a.g);
        prune(*a.g);
        collect_outer_reads(*a.g, live);
      }
      for (auto& sg : a.graphs) {
        sg = std::make_shared<Graph>(*sg);
        prune(*sg);
        collect_outer_reads(*sg, live);
      }
    }
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (keep[k]) kept.push_back(std::move(g.nodes[k]));
  g.nodes = std::move(kept);

  std::set<std::string> inputs;
  for (const ValueInfo& v : g.inputs) inputs.insert(v.name);
  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    if (!live.count(it->first) && !inputs.count(it->first))
      it = g.initializers.erase(it);
    else
      ++it;
  }
  // Type annotations of values that no longer exist.
  std::set<std::string> exists = inputs;
  for (const auto& [n, t] : g.initializers) exists.insert(n);
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs) exists.insert(o);
  std::vector<ValueInfo> vi;
  for (ValueInfo& v : g.value_info)
    if (exists.count(v.name)) vi.push_back(std::move(v));
  g.value_info = std::move(vi);
}

}  // namespace

void remove_dead_nodes(Model& m) {
  verify_graph(m.graph);  // topological order, also inside subgraphs
  prune(m.graph);
}

}  // namespace nnaccel
