#pragma once
#include <set>
#include <string>

#include "nnaccel/graph.hpp"

namespace nnaccel {

// Checks the structure of a graph and its subgraphs: each value is produced once, every node input
// is produced by a node, an initializer, a graph input or (for subgraphs) the enclosing scopes,
// graph outputs exist, and there is no cycle. Sorts nodes topologically in place (a stable sort:
// already-ordered graphs keep their order). Throws Error naming the node and value.
void verify_graph(Graph& graph, const std::set<std::string>& outer_scope = {});

}  // namespace nnaccel
