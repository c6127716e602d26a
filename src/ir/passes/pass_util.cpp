#include <set>

#include "ir/passes/passes.hpp"

namespace nnaccel::passes_detail {

std::map<std::string, int> read_counts(const Graph& g) {
  std::map<std::string, int> r;
  for (const Node& n : g.nodes) {
    for (const std::string& i : n.inputs)
      if (!i.empty()) ++r[i];
    std::set<std::string> sub;
    collect_subgraph_reads(n, sub);
    for (const std::string& s : sub) ++r[s];
  }
  for (const ValueInfo& v : g.outputs) ++r[v.name];
  return r;
}

bool is_constant_initializer(const Graph& g, const std::string& name) {
  if (!g.initializers.count(name)) return false;
  for (const ValueInfo& v : g.inputs)
    if (v.name == name) return false;
  return true;
}

namespace {
void collect_names(const Graph& g, std::set<std::string>& names) {
  for (const auto& [n, t] : g.initializers) names.insert(n);
  for (const ValueInfo& v : g.inputs) names.insert(v.name);
  for (const ValueInfo& v : g.outputs) names.insert(v.name);
  for (const Node& n : g.nodes) {
    for (const std::string& s : n.inputs) names.insert(s);
    for (const std::string& s : n.outputs) names.insert(s);
    for (const Attribute& a : n.attrs) {
      if (a.g) collect_names(*a.g, names);
      for (const auto& sg : a.graphs) collect_names(*sg, names);
    }
  }
}
}  // namespace

std::string unique_name(const Graph& g, const std::string& base) {
  std::set<std::string> names;
  collect_names(g, names);
  if (!names.count(base)) return base;
  for (int i = 1;; ++i) {
    std::string n = base + "_" + std::to_string(i);
    if (!names.count(n)) return n;
  }
}

}  // namespace nnaccel::passes_detail
