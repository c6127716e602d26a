#include <cstring>
#include <set>
#include <unordered_map>

#include "ir/graph_walk.hpp"
#include "ir/passes/passes.hpp"

namespace nnaccel {

size_t share_identical_initializers(Model& m) {
  Graph& g = m.graph;
  // Names that must keep their own initializer: graph inputs (overridable), graph outputs, and
  // what subgraphs read from outside (renaming inside bodies is not worth it).
  std::set<std::string> pinned;
  for (const ValueInfo& v : g.inputs) pinned.insert(v.name);
  for (const ValueInfo& v : g.outputs) pinned.insert(v.name);
  for (const Node& n : g.nodes) collect_subgraph_reads(n, pinned);
  // Keyed by the bytes' hash; the first of equal tensors (in name order) is kept.
  std::unordered_map<size_t, std::vector<std::string>> seen;
  std::map<std::string, std::string> rename;
  for (const auto& [name, t] : g.initializers) {
    if (pinned.count(name) || t.nbytes() == 0) continue;
    std::vector<std::string>& same_hash = seen[t.bytes_hash()];
    bool found = false;
    for (const std::string& kept : same_hash) {
      const Tensor& k = g.initializers.at(kept);
      if (k.dtype() == t.dtype() && k.shape() == t.shape() &&
          std::memcmp(k.raw(), t.raw(), t.nbytes()) == 0) {
        rename[name] = kept;
        found = true;
        break;
      }
    }
    if (!found) same_hash.push_back(name);
  }
  if (rename.empty()) return 0;
  for (Node& n : g.nodes)
    for (std::string& i : n.inputs) {
      auto it = rename.find(i);
      if (it != rename.end()) i = it->second;
    }
  for (const auto& [name, kept] : rename) g.initializers.erase(name);
  std::vector<ValueInfo> vi;
  for (ValueInfo& v : g.value_info)
    if (!rename.count(v.name)) vi.push_back(std::move(v));
  g.value_info = std::move(vi);
  return rename.size();
}

}  // namespace nnaccel
