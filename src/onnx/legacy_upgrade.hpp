#pragma once
#include "nnaccel/graph.hpp"

namespace nnaccel {

// Rewrites every node of the default domain written for `from_opset` into its kCanonicalOpset
// form (attributes that became inputs, legacy broadcast, Upsample -> Resize, ...), in subgraphs
// too, and sets the model's default opset to kCanonicalOpset. Throws Error for forms it cannot
// express.
void upgrade_to_canonical_opset(Model& model, int64_t from_opset);

}  // namespace nnaccel
