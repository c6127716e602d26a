#pragma once
// Static int8 post-training quantization into the standard ONNX QDQ form: every activation that
// a quantized node reads passes through QuantizeLinear -> DequantizeLinear with its calibrated
// scale and zero point; every weight is stored as int8 (per output channel by default) and read
// through DequantizeLinear; Conv and Gemm biases as int32 at scale x_scale * w_scale. The result
// is a plain ONNX model any runtime can run, and nnaccel's runtime turns each
// DequantizeLinear -> op -> QuantizeLinear unit into an integer kernel.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "compress/quantize/qparams.hpp"
#include "nnaccel/graph.hpp"

namespace nnaccel {

struct QdqConfig {
  std::set<std::string> op_types = {"Conv", "MatMul", "Gemm"};
  std::set<std::string> exclude;  // node names kept in float
  DType activation_type = DType::u8;
  bool activation_symmetric = false;
  DType weight_type = DType::i8;
  bool weight_symmetric = true;
  bool per_channel = true;
};

// One row of the per-layer table.
struct QuantizedLayer {
  std::string node, op_type;
  std::string input;          // the activation quantized
  QuantRange input_range;
  AffineQuant input_quant;
  float weight_min = 0, weight_max = 0;
  float weight_scale_min = 0, weight_scale_max = 0;  // over channels
  double weight_sqnr_db = 0;  // 10 log10(sum w^2 / sum (w - dq(q(w)))^2)
};

// The activations quantize_to_qdq needs calibrated ranges for, in graph order.
std::vector<std::string> qdq_activations(const Model& model, const QdqConfig& config);

// Rewrites `model` in place; `ranges` must hold every name qdq_activations returned. Nodes
// whose weight is not a constant float initializer are left in float (and not reported).
std::vector<QuantizedLayer> quantize_to_qdq(Model& model,
                                            const std::map<std::string, QuantRange>& ranges,
                                            const QdqConfig& config);

}  // namespace nnaccel
