#include "onnx/legacy_upgrade.hpp"

namespace nnaccel {

void upgrade_to_canonical_opset(Model& model, int64_t from_opset) {
  (void)from_opset;
  model.opsets[""] = kCanonicalOpset;
}

}  // namespace nnaccel
