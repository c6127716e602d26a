#include "ir/passes/passes.hpp"

namespace nnaccel {

void optimize(Model& m, const OptimizeOptions& options) {
  // Folding first exposes constant weights (e.g. Constant nodes feeding Conv) to the rewrites;
  // dead nodes go last, taking the weights the BatchNorm fold replaced with them.
  pin_legacy_initializers(m);
  fold_constants(m);
  remove_identity_and_redundant_reshapes(m);
  fold_batchnorm(m);
  fold_conv_affine(m);
  remove_redundant_transpose(m);
  recognize_layernorm(m);
  if (options.fuse) {
    // Gelu first so it can go into a FusedMatMul/FusedGemm, activations into convs before the
    // elementwise chains take what is left.
    recognize_gelu(m);
    fuse_conv_activation(m);
    // After the conv fusions (their activations and residuals go into QConv) and before the
    // elementwise chains, which would otherwise take a quantized Add's Relu.
    fuse_qdq(m);
    remove_dead_nodes(m);  // the DequantizeLinear nodes fuse_qdq left would count as readers
    fuse_qconv_residual(m);
    fuse_quantized_lookup(m);  // before the elementwise chains take its float ops
    fuse_elementwise_chain(m);
  }
  remove_dead_nodes(m);
}

void optimize(Model& m) { optimize(m, OptimizeOptions{}); }

}  // namespace nnaccel
