#include "compress/quantize/weight_budget.hpp"

#include <algorithm>
#include <map>

namespace nnaccel {

GranularityChoice per_tensor_layers_for(const std::vector<QuantizedLayer>& layers, uint64_t excess,
                                        const std::set<std::string>& taken) {
  // Layers reading one weight share its scales in the file: they move together, their bytes
  // counted once and their noise summed.
  struct Group {
    std::vector<const QuantizedLayer*> layers;
    double noise = 0;
    uint64_t saving = 0;
  };
  std::vector<Group> groups;
  std::map<std::string, size_t> group_of;  // QuantizedLayer::weight -> index in groups
  for (const QuantizedLayer& l : layers) {
    if (l.weight_scales <= 1 || l.per_tensor_saving == 0 || taken.count(l.node)) continue;
    auto [it, fresh] =
        group_of.try_emplace(l.weight.empty() ? "\n" + l.node : l.weight, groups.size());
    if (fresh) groups.push_back({{}, 0, l.per_tensor_saving});
    Group& g = groups[it->second];
    g.layers.push_back(&l);
    g.noise += std::max(0.0, l.rtn_noise_per_tensor - l.rtn_noise);
  }
  std::vector<const Group*> order;
  for (const Group& g : groups) order.push_back(&g);
  // Ties (groups of equal cost) in report order, so the choice does not depend on sort internals.
  std::stable_sort(order.begin(), order.end(), [](const Group* a, const Group* b) {
    return a->noise / static_cast<double>(a->saving) < b->noise / static_cast<double>(b->saving);
  });
  GranularityChoice c;
  for (const Group* g : order) {
    if (c.saving >= excess) break;
    for (const QuantizedLayer* l : g->layers) c.per_tensor.insert(l->node);
    c.saving += g->saving;
  }
  c.enough = c.saving >= excess;
  return c;
}

}  // namespace nnaccel
