#pragma once
// A ConvTranspose seen as the Conv it transposes: the window of a Conv whose input is the
// ConvTranspose output and whose output is the ConvTranspose input. Its forward is that Conv's
// backward-data, its input gradient that Conv's forward, its weight gradient that Conv's
// backward-weights (with the same weight layout [C, M/group, k...]).
#include "ops/nn_common.hpp"

namespace nnaccel::grad {

// For input X [N, C, in...] and weight W [C, M/group, k...]: win.in = the ConvTranspose output
// sizes, win.out = in, begin pads as the reference kernel resolves them (output_shape,
// output_padding, auto_pad). Throws Error naming the node on bad attributes.
nn::Window conv_transpose_window(const Node& node, const Shape& x, const Shape& w);

}  // namespace nnaccel::grad
