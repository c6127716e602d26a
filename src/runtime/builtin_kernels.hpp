#pragma once
// Kernels the compiler itself provides: the reference kernel of any op (the fallback when no
// fast kernel takes a node), and layout conversions between plain and channel-blocked values.
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

class Executor;

// Runs the node's registered reference kernel; allocates its outputs. Nodes with subgraphs read
// the outer-scope values `outer_names` as extra kernel inputs after the node's own, and run
// their bodies on `subgraphs` (the reference interpreter).
std::unique_ptr<Kernel> make_reference_kernel(const Node& node, const OpSchema& schema,
                                              std::vector<std::string> outer_names,
                                              Executor* subgraphs);

// Converts between a blocked value and its plain form (same logical shape and dtype).
std::unique_ptr<Kernel> make_reorder_kernel(const ValueDesc& src, const ValueDesc& dst);

}  // namespace nnaccel
