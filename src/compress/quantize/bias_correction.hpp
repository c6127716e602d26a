#pragma once
// Empirical bias correction (Nagel et al. 2019, section 4.2): quantizing a layer's weights (and its
// input) shifts the mean of its output, E[y_q] != E[y], an error that does not average out
// downstream (Relu turns it into a changed activation level). For each quantized Conv, Gemm and
// MatMul of a QDQ model this measures, per output channel, the mean of the layer's pre-activation
// output in the quantized model and in the float model over calibration batches, and subtracts the
// difference from the layer's bias: E[y_q] then equals E[y] on those batches.
//
// The QDQ form is what quantize_to_qdq writes: a quantized layer reads its weight through
// DequantizeLinear of a constant; its bias is an int32 constant through DequantizeLinear (updated
// at its own scale, so the integer kernels see the corrected bias), or a float constant (updated in
// float). A Conv or Gemm without a bias gets an int32 one at scale x_scale * w_scale (input and
// weight DequantizeLinear scales) in the same form; a MatMul's bias is the constant [N] of an Add
// reading it alone, else the MatMul is skipped (reported).
//
// Layers are corrected in graph order and, by default, each is measured in the quantized model with
// every earlier correction in place (one pass over the batches per layer; the float means take one
// pass for all layers). Memory: per-channel sums, whatever the number of batches.
#include <map>
#include <string>
#include <vector>

#include "compress/quantize/channel_statistics.hpp"
#include "nnaccel/graph.hpp"
#include "nnaccel/session.hpp"

namespace nnaccel {

struct BiasCorrectionOptions {
  SessionOptions session;  // how both models run to measure the means
  // true: layers measured in graph order, layers_per_pass at a time, each group with the earlier
  // groups corrected (one pass over the batches per group, each pass running only what computes
  // the group). false: one pass for all layers. Within a pass a layer's correction also takes in
  // the mean error that the corrections of earlier layers in the same pass remove, so larger
  // groups over-correct deep chains: they trade accuracy for passes.
  bool sequential = true;
  int layers_per_pass = 1;
};

struct CorrectedLayer {
  std::string node, op_type;
  std::string output;  // the pre-activation value compared
  int64_t channels = 0;
  std::string bias;  // "int32", "float", "int32 added"
  // Over channels, of the per-channel mean error E[y_q - y] before this layer's correction.
  double mean_abs_error = 0, max_abs_error = 0;
  double output_mean_abs = 0;  // mean over channels of |E[y]|, to put the error in proportion
};

struct BiasCorrectionReport {
  std::vector<CorrectedLayer> layers;
  std::vector<std::string> skipped;  // "<node>: <reason>"
  int64_t batches = 0;
};

// Corrects `quantized` in place. `batches` is read once for the float model and once per corrected
// group of layers_per_pass layers (once in all when not sequential). `float_model` is the model
// `quantized` was made from: layers are matched by node name (by output name when names are empty
// or repeated) and must compute the same output shape. Throws Error when a batch is rejected by
// either model or there are no batches.
BiasCorrectionReport correct_bias(Model& quantized, const Model& float_model,
                                  const ForEachBatch& batches,
                                  const BiasCorrectionOptions& options = {});
BiasCorrectionReport correct_bias(Model& quantized, const Model& float_model,
                                  const std::vector<std::map<std::string, Tensor>>& batches,
                                  const BiasCorrectionOptions& options = {});

}  // namespace nnaccel
