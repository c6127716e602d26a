#pragma once
// High-bias absorption (Nagel et al. 2019, section 4.1.2), the empirical variant. Equalization
// divides a layer's bias along with its weights, so channels scaled up can carry large biases and
// with them wide activation ranges. When channel i of a layer's pre-activation output is never
// below c_i > 0, Relu(x) = Relu(x - c_i) + c_i, and the constant c_i can move into the next layer:
// b1 -= c, b2 += W2 c. The activation's range shrinks by c, its function stays.
//
// The paper takes c = max(0, beta - 3 gamma) from the folded BatchNorm (data-free, ~99.9% of
// values); here c_i = max(0, min of channel i over calibration batches), exact on those batches.
// Inputs outside them whose pre-activation falls below c_i see a difference of at most c_i - x.
//
// Pairs: Conv|Gemm (with an f32 bias) -> Relu [-> MaxPool | GlobalAveragePool | GlobalMaxPool |
// Flatten(axis 1)] -> Conv without padding | Gemm | MatMul (whose bias is the constant of an Add
// reading it alone); a Conv or Gemm second layer without bias gets one. A second Conv with padding
// is skipped: its padded border reads 0, not c. Every intermediate value has one reader. Run it
// after cross_layer_equalize, on the float model, before calibrating.
#include <string>
#include <vector>

#include "compress/quantize/channel_statistics.hpp"
#include "nnaccel/graph.hpp"
#include "nnaccel/session.hpp"

namespace nnaccel {

struct HighBiasOptions {
  SessionOptions session;  // how the model runs to measure the minima
};

struct AbsorbedPair {
  std::string first, second;  // node names (output names when a node has none)
  int64_t channels = 0;
  int64_t channels_absorbed = 0;               // channels with c_i > 0
  double mean_absorbed = 0, max_absorbed = 0;  // c over the channels
};

struct HighBiasReport {
  std::vector<AbsorbedPair> pairs;  // every pair found, channels_absorbed 0 when nothing moved
  int64_t batches = 0;
};

// Rewrites `model` (a float model) in place; `batches` is read once.
HighBiasReport absorb_high_bias(Model& model, const ForEachBatch& batches,
                                const HighBiasOptions& options = {});

}  // namespace nnaccel
