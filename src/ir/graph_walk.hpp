#pragma once
// Walks over a graph and its subgraphs (If/Loop bodies): what a body reads from the scopes around
// it (the verifier orders nodes by it, the executor frees values after it, the passes keep such
// values alive), and every value name in use (for making fresh ones).
#include <set>
#include <string>

#include "nnaccel/graph.hpp"

namespace nnaccel {

bool has_subgraph(const Node& n);
// Adds every name `g` (and its nested subgraphs) reads but does not define itself.
void collect_outer_reads(const Graph& g, std::set<std::string>& out);
// Adds every name the subgraphs of `n` read from outside them.
void collect_subgraph_reads(const Node& n, std::set<std::string>& out);
// Adds every value name `g` and its subgraphs mention: initializers, inputs, outputs, value_info
// and node inputs and outputs.
void collect_value_names(const Graph& g, std::set<std::string>& out);

// Names for values and nodes a rewrite adds: unique against every value and node name of the
// graph (subgraphs included) and against each other.
class FreshNames {
 public:
  explicit FreshNames(const Graph& g);
  // `base`, or `base_1`, `base_2`, ... when taken.
  std::string fresh(const std::string& base);

 private:
  std::set<std::string> used_;
};

}  // namespace nnaccel
