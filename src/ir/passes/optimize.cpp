#include "ir/passes/passes.hpp"

namespace nnaccel {

void optimize(Model& m) {
  // Folding first exposes constant weights (e.g. Constant nodes feeding Conv) to the rewrites;
  // dead nodes go last, taking the weights the BatchNorm fold replaced with them.
  pin_legacy_initializers(m);
  fold_constants(m);
  remove_identity_and_redundant_reshapes(m);
  fold_batchnorm(m);
  remove_identity_and_redundant_reshapes(m);
  remove_dead_nodes(m);
}

}  // namespace nnaccel
