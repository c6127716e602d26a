#include "ir/verifier.hpp"

#include <map>
#include <queue>

#include "core/check.hpp"
#include "ir/graph_walk.hpp"

namespace nnaccel {

namespace {

std::vector<std::string> node_reads(const Node& n) {
  std::vector<std::string> r;
  for (const std::string& i : n.inputs)
    if (!i.empty()) r.push_back(i);
  // Free variables of its subgraphs too, so a node with a body runs after what the body reads.
  std::set<std::string> reads;
  collect_subgraph_reads(n, reads);
  r.insert(r.end(), reads.begin(), reads.end());
  return r;
}

// Default-domain ops that take subgraphs, and the attributes that hold them.
bool takes_subgraph(const Node& n, const std::string& attr) {
  if (!n.domain.empty()) return true;  // other domains: their own rules
  if (n.op_type == "If") return attr == "then_branch" || attr == "else_branch";
  if (n.op_type == "Loop" || n.op_type == "Scan" || n.op_type == "SequenceMap")
    return attr == "body";
  return false;
}

}  // namespace

void verify_graph(Graph& g, const std::set<std::string>& outer) {
  std::set<std::string> available = outer;
  std::map<std::string, size_t> producer;
  for (const auto& [name, t] : g.initializers) available.insert(name);
  std::set<std::string> input_names;
  for (const ValueInfo& v : g.inputs) {
    if (v.name.empty()) fail("a graph input has no name");
    if (!input_names.insert(v.name).second) fail("graph input '{}' is listed twice", v.name);
    available.insert(v.name);
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op_type.empty()) fail("node {} has no op type", i);
    // Every ONNX op has at least one output; kernels and shape functions may rely on slot 0.
    if (n.outputs.empty()) fail("{}: the node has no outputs", n.describe());
    for (const Attribute& a : n.attrs)
      if ((a.g || !a.graphs.empty()) && !takes_subgraph(n, a.name))
        fail("{}: attribute '{}' holds a graph, which {} does not take", n.describe(), a.name,
             n.op_type);
    for (const std::string& o : n.outputs) {
      if (o.empty()) continue;
      if (producer.count(o))
        fail("{}: output '{}' is also produced by {}", n.describe(), o,
             g.nodes[producer[o]].describe());
      if (g.initializers.count(o) || (available.count(o) && !outer.count(o)))
        fail("{}: output '{}' overwrites a graph input or initializer", n.describe(), o);
      producer[o] = i;
    }
  }
  // Kahn's algorithm, taking the lowest original index first to keep the file's order.
  std::vector<std::vector<size_t>> users(g.nodes.size());
  std::vector<int> pending(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const std::string& in : node_reads(g.nodes[i])) {
      auto it = producer.find(in);
      if (it != producer.end()) {
        users[it->second].push_back(i);
        ++pending[i];
      } else if (!available.count(in)) {
        fail("{}: input '{}' is not produced by any node, initializer or graph input",
             g.nodes[i].describe(), in);
      }
    }
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<size_t> order;
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (size_t u : users[i])
      if (--pending[u] == 0) ready.push(u);
  }
  if (order.size() != g.nodes.size()) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (pending[i] > 0) fail("the graph has a cycle through {}", g.nodes[i].describe());
  }
  std::vector<Node> sorted;
  sorted.reserve(g.nodes.size());
  for (size_t i : order) sorted.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(sorted);

  for (const ValueInfo& v : g.outputs)
    if (!producer.count(v.name) && !available.count(v.name))
      fail("graph output '{}' is not produced by any node", v.name);

  // Subgraphs see everything defined in this graph (and the outer scopes).
  std::set<std::string> scope = available;
  for (const auto& [name, i] : producer) scope.insert(name);
  for (Node& n : g.nodes)
    for (Attribute& a : n.attrs) {
      if (a.g) verify_graph(*a.g, scope);
      for (auto& sg : a.graphs) verify_graph(*sg, scope);
    }
}

}  // namespace nnaccel
