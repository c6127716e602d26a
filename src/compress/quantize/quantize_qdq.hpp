#pragma once
// Static int8 post-training quantization into the standard ONNX QDQ form, with ONNX Runtime's
// placement (INT8_CONTRACT.md, pipeline step 1):
//   - every activation input of a quantized op passes through QuantizeLinear -> DequantizeLinear
//     with its calibrated scale and zero point, and so does the op's output, so consecutive
//     quantized ops exchange an int8 tensor;
//   - a Relu/Clip that alone reads a quantized Conv/Gemm/MatMul (or Add) belongs to its unit:
//     no Q/DQ between them, the Q/DQ goes after the activation;
//   - int8-transparent ops (MaxPool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Identity,
//     Concat) whose inputs are quantized get output qparams equal to their input's (Concat: all
//     its inputs share the output's), so they can run on the integers unchanged;
//   - weights are int8 (per output channel by default) read through DequantizeLinear, Conv and
//     Gemm biases int32 at scale x_scale * w_scale. For size, a Conv's symmetric weights have no
//     zero point (ONNX's default 0), and a bias's scale is a Mul of the two scale initializers
//     (qdq_bias_scale.hpp), not an array of its own.
// The result is a plain ONNX model any runtime can run; nnaccel's optimizer (fuse_qdq) turns
// each DequantizeLinear -> op -> QuantizeLinear unit into an integer op.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "compress/quantize/gptq.hpp"
#include "compress/quantize/qparams.hpp"
#include "nnaccel/graph.hpp"

namespace nnaccel {

struct QdqConfig {
  // The op types quantized (restrict to keep others in float). Transparent ops are quantized
  // only where their inputs already are.
  std::set<std::string> op_types = {"Conv",    "Gemm",      "MatMul",   "Add",
                                    "MaxPool", "Reshape",   "Flatten",  "Transpose",
                                    "Squeeze", "Unsqueeze", "Identity", "Concat"};
  std::set<std::string> exclude;  // node names kept in float
  DType activation_type = DType::u8;
  bool activation_symmetric = false;
  DType weight_type = DType::i8;
  bool weight_symmetric = true;
  bool per_channel = true;
  std::set<std::string> per_tensor;  // node names whose weights take one scale even so
  // Node name -> its input statistics: those layers' weights are rounded by GPTQ (gptq.hpp) on
  // the same grids; the others to nearest. Not owned.
  const std::map<std::string, WeightHessian>* hessians = nullptr;
};

// One row of the per-layer table (the quantized ops with weights).
struct QuantizedLayer {
  std::string node, op_type;
  std::string input;  // the activation quantized
  // The float weight's shape and a hash of its bytes: layers reading copies of one weight (which
  // the file stores once) have equal ones.
  std::string weight;
  QuantRange input_range;
  AffineQuant input_quant;
  float weight_min = 0, weight_max = 0;
  float weight_scale_min = 0, weight_scale_max = 0;  // over channels
  double weight_sqnr_db = 0;                         // 10 log10(sum w^2 / sum (w - dq(q(w)))^2)
  bool gptq = false;                                 // weights rounded by GPTQ
  int64_t weight_scales = 1;                         // one per output channel, or one
  // What one scale for the whole weight would cost and save (weight_budget.hpp): the relative
  // weight noise, sum (w - dq(q(w)))^2 / sum w^2, of round-to-nearest on this layer's grids and
  // on one per-tensor grid, and the bytes of scales (and zero points) it would drop. Per-channel
  // layers only (0 for a layer with one scale).
  double rtn_noise = 0, rtn_noise_per_tensor = 0;
  uint64_t per_tensor_saving = 0;
};

// The activations quantize_to_qdq needs calibrated ranges for, in graph order: the inputs and
// unit outputs of the quantized ops, except outputs of transparent ops (they share a range).
std::vector<std::string> qdq_activations(const Model& model, const QdqConfig& config);

// Rewrites `model` in place; `ranges` must hold every name qdq_activations returned (Error
// otherwise). Conv/Gemm/MatMul whose weight is not a constant float initializer, and Adds
// without two float activation inputs, are left in float. Returns one row per quantized op
// with weights.
std::vector<QuantizedLayer> quantize_to_qdq(Model& model,
                                            const std::map<std::string, QuantRange>& ranges,
                                            const QdqConfig& config);

}  // namespace nnaccel
