#pragma once
// Dynamic int8 quantization into standard ONNX (what ONNX Runtime's quantize_dynamic writes and
// runs): weights are stored as int8, symmetric (zero point 0), per output channel by default;
// activations are quantized at run time, per tensor, to u8 by DynamicQuantizeLinear. No
// calibration. Each quantized node becomes
//
//   x -> DynamicQuantizeLinear -> (x_q, x_scale, x_zero_point)
//   MatMulInteger(x_q, W_q, x_zero_point, 0) | ConvInteger(...)   int32
//     -> Cast(float) -> Mul(x_scale * W_scale) [-> Add(bias)] -> the node's output
//
// MatMul with a constant float B of rank 2 (per column) or more (per tensor); Gemm with
// transA = 0 (transB folded into the stored weight, alpha into the scale, beta * C into the bias
// when C is constant); Conv (per output channel; bias added in float).
#include <set>
#include <string>
#include <vector>

#include "compress/quantize/quantize_qdq.hpp"
#include "nnaccel/graph.hpp"

namespace nnaccel {

struct DynamicQuantConfig {
  std::set<std::string> op_types = {"MatMul", "Gemm", "Conv"};
  std::set<std::string> exclude;  // node names kept in float
  bool per_channel = true;
};

// Rewrites `model` in place and returns one row per quantized node (input range and input quant
// are left empty: they are chosen at run time). Nodes whose weight is not a constant float
// initializer, or whose form is not supported, stay in float.
std::vector<QuantizedLayer> quantize_dynamic(Model& model, const DynamicQuantConfig& config);

// Symmetric int8 quantization of a float weight, per slice along `axis` (-1: per tensor):
// scale = max|w| / 127 (1 for an all-zero slice). Also reports the SQNR of the round trip.
struct Int8Weight {
  Tensor values;              // i8, the shape of the weight
  std::vector<float> scales;  // one per slice along axis (one when per tensor)
  double sqnr_db = 0;         // 10 log10(sum w^2 / sum (w - dq(q(w)))^2); inf when exact
};
Int8Weight quantize_weight_int8(const Tensor& weight, int64_t axis);

}  // namespace nnaccel
