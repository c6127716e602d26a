#include "compress/quantize/weight_budget.hpp"

#include <algorithm>

namespace nnaccel {

GranularityChoice per_tensor_layers_for(const std::vector<QuantizedLayer>& layers,
                                        uint64_t excess) {
  struct Candidate {
    double cost_per_byte;
    const QuantizedLayer* layer;
  };
  std::vector<Candidate> candidates;
  for (const QuantizedLayer& l : layers)
    if (l.weight_scales > 1 && l.per_tensor_saving > 0)
      candidates.push_back({std::max(0.0, l.rtn_noise_per_tensor - l.rtn_noise) /
                                static_cast<double>(l.per_tensor_saving),
                            &l});
  // Ties (layers of equal cost) in report order, so the choice does not depend on sort internals.
  std::stable_sort(
      candidates.begin(), candidates.end(),
      [](const Candidate& a, const Candidate& b) { return a.cost_per_byte < b.cost_per_byte; });
  GranularityChoice c;
  for (const Candidate& k : candidates) {
    if (c.saving >= excess) break;
    c.per_tensor.insert(k.layer->node);
    c.saving += k.layer->per_tensor_saving;
  }
  c.enough = c.saving >= excess;
  return c;
}

}  // namespace nnaccel
