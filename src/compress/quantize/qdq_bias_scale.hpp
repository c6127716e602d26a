#pragma once
// The scale of a quantized bias in the QDQ form, x_scale * w_scale
// (INT8_CONTRACT.md), as a Mul node over the two scale initializers the input's
// and the weight's DequantizeLinear read, instead of a third per-channel f32
// array stored in the file (a Mul of two f32 values is the correctly rounded
// product: the same bits as the array). nnaccel's fold_constants and ONNX
// Runtime's constant folding (level 1, before its QDQ fusions) turn it into a
// constant again.
#include <optional>
#include <string>
#include <vector>

#include "ir/graph_walk.hpp"
#include "ir/passes/pattern.hpp"
#include "nnaccel/graph.hpp"

namespace nnaccel {

// Appends Mul(x_scale, w_scale) -> `base`_scale (a fresh name, returned) to
// `added`.
std::string bias_scale_product(const std::string& x_scale, const std::string& w_scale,
                               const std::string& base, FreshNames& names,
                               std::vector<Node>& added);

// The value of `name` when it is a constant initializer, or the output of a Mul
// of two constant initializers (the form above, before folding); nullopt
// otherwise.
std::optional<Tensor> constant_or_product(const passes_detail::GraphView& view,
                                          const std::string& name);

}  // namespace nnaccel
