#pragma once
// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization
// and Bias Correction", section 4.1). For two layers joined by a positively homogeneous path (f(s
// x) = s f(x) for s > 0: Relu, pooling, nothing at all), dividing output channel i of the first
// layer (weights and bias) by s_i and multiplying input channel i of the second by s_i leaves the
// model's function unchanged. s_i = sqrt(r1_i / r2_i), r = the largest |weight| of the channel,
// gives both channels the range sqrt(r1_i r2_i): per-tensor int8 grids then fit every channel about
// as well, instead of the widest channel setting a step that rounds the narrow ones to nothing
// (what folded BatchNorm does to real models).
//
// Run it on a float model whose BatchNorms are folded (optimize(model, {.fuse = false})). Pairs
// found: Conv|Gemm|MatMul -> path -> Conv|Gemm|MatMul, where the path is a chain of Relu,
// LeakyRelu, PRelu, Clip(min 0, no max), MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool,
// Flatten(axis 1) (a Conv followed by Flatten then Gemm/MatMul: every feature of a channel is
// scaled alike) and Add or Mul of a per-channel constant (an Added one is scaled with the bias),
// every intermediate value read only by the next node. A depthwise Conv is the
// second layer of one pair and the first of the next, so Conv -> DW Conv -> Conv chains (as in
// MobileNet) are equalized as triples; the pairwise rescaling is iterated over all pairs until the
// scales converge (chains then end with all three ranges at the cube root of their product).
//
// Clip(0, 6) (Relu6) is not homogeneous: Relu6(x / s) != Relu6(x) / s. By default a pair through a
// bounded Clip is skipped, so the model's outputs never change. With `CleOptions::relu6_to_relu`,
// such a Clip whose min is 0 becomes a Relu first, as the paper (for MobileNetV2) and AIMET do:
// outputs then change where activations exceeded the bound.
#include <string>
#include <vector>

#include "nnaccel/graph.hpp"

namespace nnaccel {

struct CleOptions {
  // Replace Clip(min 0, max > 0) between a candidate pair's layers by Relu so the pair can be
  // equalized (changes the model's function where the activation exceeded max).
  bool relu6_to_relu = false;
  // Stop when every scale of a sweep over the pairs is within this of 1 (|log s|), or after
  // max_sweeps sweeps.
  double tolerance = 1e-4;
  int max_sweeps = 100;
};

// One equalized pair. Range spread: the largest per-channel weight range over the smallest non-zero
// one, over the channels the pair scales (first layer: output channels; second layer: input
// channels, the features of one channel counted together after a Flatten).
struct ClePair {
  std::string first, second;  // node names (their output names when a node has no name)
  std::string path;           // op types between them: "", "Relu", "Relu>MaxPool", ...
  int64_t channels = 0;
  double first_spread_before = 0, first_spread_after = 0;
  double second_spread_before = 0, second_spread_after = 0;
};

struct CleReport {
  std::vector<ClePair> pairs;
  int sweeps = 0;  // sweeps over the pairs until convergence
  bool converged = false;
  int clips_replaced = 0;      // Clip nodes turned into Relu (relu6_to_relu)
  int pairs_skipped_clip = 0;  // candidate pairs left alone because of a bounded Clip
};

// Equalizes every pair found in the top-level graph of `model` in place (weights and biases of the
// layers are rewritten; weights or biases read by another node are left alone, so are their pairs).
// Throws Error when the graph does not verify.
CleReport cross_layer_equalize(Model& model, const CleOptions& options = {});

}  // namespace nnaccel
