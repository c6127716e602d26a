#include "ir/graph_walk.hpp"

namespace nnaccel {

bool has_subgraph(const Node& n) {
  for (const Attribute& a : n.attrs)
    if (a.g || !a.graphs.empty()) return true;
  return false;
}

void collect_subgraph_reads(const Node& n, std::set<std::string>& out) {
  for (const Attribute& a : n.attrs) {
    if (a.g) collect_outer_reads(*a.g, out);
    for (const auto& sg : a.graphs) collect_outer_reads(*sg, out);
  }
}

void collect_outer_reads(const Graph& g, std::set<std::string>& out) {
  std::set<std::string> local;
  for (const auto& [n, t] : g.initializers) local.insert(n);
  for (const ValueInfo& v : g.inputs) local.insert(v.name);
  for (const Node& n : g.nodes) {
    for (const std::string& i : n.inputs)
      if (!i.empty() && !local.count(i)) out.insert(i);
    // A nested body may read a value this graph defines: that is not a read from outside.
    std::set<std::string> nested;
    collect_subgraph_reads(n, nested);
    for (const std::string& s : nested)
      if (!local.count(s)) out.insert(s);
    for (const std::string& o : n.outputs) local.insert(o);
  }
  for (const ValueInfo& v : g.outputs)
    if (!local.count(v.name)) out.insert(v.name);
}

void collect_value_names(const Graph& g, std::set<std::string>& out) {
  for (const auto& [n, t] : g.initializers) out.insert(n);
  for (const auto* list : {&g.inputs, &g.outputs, &g.value_info})
    for (const ValueInfo& v : *list) out.insert(v.name);
  for (const Node& n : g.nodes) {
    for (const std::string& s : n.inputs) out.insert(s);
    for (const std::string& s : n.outputs) out.insert(s);
    for (const Attribute& a : n.attrs) {
      if (a.g) collect_value_names(*a.g, out);
      for (const auto& sg : a.graphs) collect_value_names(*sg, out);
    }
  }
}

FreshNames::FreshNames(const Graph& g) {
  collect_value_names(g, used_);
  for (const Node& n : g.nodes) used_.insert(n.name);
}

std::string FreshNames::fresh(const std::string& base) {
  std::string name = base;
  for (int i = 1; used_.count(name); ++i) name = base + "_" + std::to_string(i);
  used_.insert(name);
  return name;
}

}  // namespace nnaccel
