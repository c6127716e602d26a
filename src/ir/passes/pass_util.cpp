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

std::string unique_name(const Graph& g, const std::string& base) {
  std::set<std::string> names;
  collect_value_names(g, names);
  if (!names.count(base)) return base;
  for (int i = 1;; ++i) {
    std::string n = base + "_" + std::to_string(i);
    if (!names.count(n)) return n;
  }
}

}  // namespace nnaccel::passes_detail
