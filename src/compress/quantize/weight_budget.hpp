#pragma once
// Mixed weight granularity under a size budget (`nnaccel quantize --weight-budget R`).
//
// Per-channel int8 weights carry an f32 scale for every output channel beside the int32 bias the
// float model already had, so a model of thin layers (depthwise convs, 9 weights per channel)
// cannot get under about 0.28x of fp32 however its weights are rounded; one scale per tensor
// removes that overhead but, on layers whose channels' ranges differ, costs accuracy. Between the
// two: the layers that lose least go per tensor, until the weights fit the budget.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "compress/quantize/quantize_qdq.hpp"

namespace nnaccel {

struct GranularityChoice {
  std::set<std::string> per_tensor;  // node names
  uint64_t saving = 0;               // bytes their scales (and zero points) shrink by
  bool enough = false;               // saving >= what was asked
};

// The per-channel layers of `layers` (quantize_to_qdq's report), other than those in `taken`,
// whose weights should take one scale so that the file's weights shrink by at least `excess` bytes:
// greedily those adding the least relative weight noise (rtn_noise_per_tensor - rtn_noise) per
// byte saved. The noise of a layer's weights is, for inputs without a preferred direction, the
// relative noise it adds to the layer's output. Layers reading copies of one weight (equal
// QuantizedLayer::weight) share its scales in the file: they move together, their bytes counted
// once and their noise summed. When every layer together saves too little, all of them (enough =
// false). The caller measures the file again after moving them (other sharing, zero points).
GranularityChoice per_tensor_layers_for(const std::vector<QuantizedLayer>& layers, uint64_t excess,
                                        const std::set<std::string>& taken = {});

}  // namespace nnaccel
