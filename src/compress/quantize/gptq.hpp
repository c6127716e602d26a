#pragma once
// GPTQ weight rounding (Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative
// Pre-trained Transformers", 2022, after Optimal Brain Quantization): each output channel's
// weights are rounded one input at a time, and the error each rounding makes is spread over the
// inputs not rounded yet so that the layer's output on the calibration inputs moves least.
// With H = sum x x^T over the layer's input vectors, the output error of a row w is
// (w - q)^T H (w - q); rounding to nearest ignores H, which loses most where inputs are large or
// correlated and weights cancel (an edge-detecting depthwise kernel summing to ~0 over an input
// with a large local mean: PP-OCRv4 rec's first depthwise conv loses 24 dB at its output from
// round-to-nearest weights that are 47 dB exact).
//
// The grids (per-channel scales and zero points) are chosen beforehand as for rounding to nearest;
// GPTQ picks only the integers, so the file and the integer kernels are unchanged. Inputs are taken
// in order of decreasing H diagonal ("act order"), H is dampened by 1% of its mean diagonal, and
// inputs that never carry a value get weight 0.
//
// The statistics: for a Conv, H over its im2col patches (one matrix per group, C_in/group*kh*kw
// square), for a MatMul with a constant 2-D B or a Gemm (transA 0), over the rows of A. They are
// streamed over the calibration batches in float-model runs, as many layers per run as fit the
// memory budget, so memory is bounded by the budget and the largest layer's matrix, not by the
// calibration set.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "compress/quantize/channel_statistics.hpp"
#include "compress/quantize/qparams.hpp"
#include "nnaccel/graph.hpp"
#include "nnaccel/session.hpp"

namespace nnaccel {

struct WeightHessian {
  int64_t groups = 1;     // a Conv's groups, each with its own matrix; else 1
  int64_t dim = 0;        // inputs per output channel and group
  std::vector<double> h;  // groups x dim x dim: the sum of x x^T
  int64_t count = 0;      // input vectors summed (per group)
};

// Whether GPTQ can round node `n`: a Conv with a 4-D constant weight, a MatMul with a constant
// 2-D B or a Gemm (transA 0), with at most 4608 inputs per output channel and group.
bool gptq_supports(const Graph& g, const Node& n);

// H of each node named in `nodes` that gptq_supports, keyed by node name, from runs of `model`
// (float) over `batches`. Runs hold the matrices of as many layers as fit `budget_bytes` (at least
// one layer per run). Throws Error when there are no batches.
std::map<std::string, WeightHessian> collect_weight_hessians(const Model& model,
                                                             const std::set<std::string>& nodes,
                                                             const ForEachBatch& batches,
                                                             const SessionOptions& options,
                                                             uint64_t budget_bytes = 256u << 20);

// A weight matrix view: element (row r, input c) at data[r * row_stride + c * col_stride]; rows
// are output channels, grouped consecutively (rows / groups per group, each with its own H).
struct WeightRows {
  const float* data = nullptr;
  int64_t rows = 0, cols = 0, row_stride = 0, col_stride = 0;
};

// The integers GPTQ rounds `w` to on grid q[r] (or q[0] for every row when q has one entry),
// written at the same offsets as the weights in `out`.
void gptq_round(const WeightRows& w, const WeightHessian& h, const std::vector<AffineQuant>& q,
                int32_t* out);

}  // namespace nnaccel
