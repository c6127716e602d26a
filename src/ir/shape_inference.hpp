#pragma once
#include <map>
#include <string>

#include "nnaccel/graph.hpp"

namespace nnaccel {

struct ShapeInferenceResult {
  std::map<std::string, TypeInfo> types;   // every value whose type is known
  std::map<std::string, Tensor> constants;  // values known at compile time (folded)
};

// Infers the type of every value in the graph from its inputs (`input_types` overrides the
// declared graph input types, e.g. a concrete batch size). Values computed only from
// initializers and known shapes are folded with the reference kernels, so shape subgraphs
// (Shape -> Gather -> Concat -> Reshape) give exact shapes. Throws Error naming the node on
// inconsistent shapes. Nodes whose op is unknown get unknown output types.
// An If whose condition is known (folded) takes the types, and constants, of the branch it
// will run, so shapes stay known past the If (Silero VAD picks a branch by the input's rank).
ShapeInferenceResult infer_shapes(const Graph& graph,
                                  const std::map<std::string, TypeInfo>& input_types = {},
                                  const std::map<std::string, TypeInfo>& outer_types = {},
                                  const std::map<std::string, Tensor>& outer_constants = {});

}  // namespace nnaccel
