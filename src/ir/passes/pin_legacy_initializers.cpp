#include "ir/passes/passes.hpp"

namespace nnaccel {

void pin_legacy_initializers(Model& m) {
  if (m.ir_version >= 4) return;
  Graph& g = m.graph;
  std::vector<ValueInfo> inputs;
  for (ValueInfo& v : g.inputs)
    if (!g.initializers.count(v.name)) inputs.push_back(std::move(v));
  g.inputs = std::move(inputs);
}

}  // namespace nnaccel
