#pragma once
// What subgraphs (If/Loop bodies) read from the scopes around them. The verifier orders nodes by
// it, the executor frees values after it, and the passes keep such values alive.
#include <set>
#include <string>

#include "nnaccel/graph.hpp"

namespace nnaccel {

bool has_subgraph(const Node& n);
// Adds every name `g` (and its nested subgraphs) reads but does not define itself.
void collect_outer_reads(const Graph& g, std::set<std::string>& out);
// Adds every name the subgraphs of `n` read from outside them.
void collect_subgraph_reads(const Node& n, std::set<std::string>& out);

}  // namespace nnaccel
