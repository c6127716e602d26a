#pragma once
// The activation that follows a value, as the graph optimizer fuses it into FusedConv/FusedGemm/
// FusedMatMul and as the int8 quantizer puts it inside a quantized op's unit (so both agree on
// what belongs to the op): one activation node, HardSwish written as x * HardSigmoid(x) or as
// x * Clip(x + 3, 0, 6) / 6, or a ReLU followed by a Clip that makes it redundant.
#include <optional>
#include <string>
#include <vector>

#include "ir/passes/pattern.hpp"
#include "ops/fused_activation.hpp"

namespace nnaccel::passes_detail {

// The activation node `n` applies to its input 0, if it is one the fused ops take.
std::optional<FusedActivation> activation_of(const GraphView& v, const Node& n);

// Follows `value` into the activation that alone reads it; on success appends the nodes it
// covers to `absorbed` and sets `out` to the activation's output.
std::optional<FusedActivation> follow_activation(const GraphView& v, const std::string& value,
                                                 std::vector<size_t>& absorbed, std::string& out);

}  // namespace nnaccel::passes_detail
