#pragma once
// Graph optimization passes. Each rewrites the model's top-level graph in place and preserves the
// values of every graph output (for every input the original model accepts), up to float
// rounding, and never changes the inputs a caller must feed or the outputs. The fusions write ops
// of the ai.nnaccel domain (src/ops/fused.cpp) that only nnaccel runs; the other passes keep the
// model standard ONNX.
#include <map>
#include <set>
#include <string>

#include "ir/graph_walk.hpp"
#include "nnaccel/graph.hpp"

namespace nnaccel {

// Models of IR version < 4 list every initializer among the graph inputs, yet (as in ONNX Runtime)
// those cannot be overridden: drops them from the inputs so the other passes see them as
// constants. The inputs a caller must feed do not change. No-op for IR version >= 4.
void pin_legacy_initializers(Model& m);

// Evaluates nodes whose inputs are all constants (non-overridable initializers, or values folded
// earlier) with the reference kernels, and replaces them by initializers. Shape/Size of fully
// known shapes are folded too (from infer_shapes). Nondeterministic ops, nodes with subgraphs and
// results above `max_elements` elements are left alone, and so is DequantizeLinear (quantized
// weights stay integers for fuse_qdq and the integer kernels).
void fold_constants(Model& m, int64_t max_elements = int64_t{1} << 24);

// Initializers with the same type, shape and bytes become one (the first by name); readers are
// renamed. Graph inputs, graph outputs and what subgraphs read keep their own. Returns how many
// were dropped. A model whose layers shared a weight through Identity nodes (as PyTorch exports
// copied layers) gets one quantized copy again, not one per reader.
size_t share_identical_initializers(Model& m);

// Removes nodes whose outputs reach no graph output (recursively inside live subgraphs) and
// initializers nothing reads (an initializer that is also a graph input is kept).
void remove_dead_nodes(Model& m);

// Folds an inference-mode BatchNormalization into the Conv (ConvTranspose, Gemm) that feeds it when
// the Conv's output has no other reader and all weights are initializers.
void fold_batchnorm(Model& m);

// Folds a Mul and/or Add of per-channel or scalar constants that alone read an f32 Conv's output
// into the Conv's weights and bias (constant ones).
void fold_conv_affine(Model& m);

// Removes Identity nodes, collapses Reshape->Reshape, composes Transpose->Transpose and drops
// identity Transposes.
void remove_identity_and_redundant_reshapes(Model& m);

// Transposes that only move dims of size 1 become Reshapes (then merged with neighbouring
// Reshapes), on top of what remove_identity_and_redundant_reshapes does (identity perms,
// composing Transpose pairs, so pairs that cancel vanish).
void remove_redundant_transpose(Model& m);

// The decomposed LayerNorm of exports below opset 17 (ReduceMean, Sub, Pow, ReduceMean, Add,
// Sqrt, Div, optional Mul by gamma and Add of beta) over trailing axes -> LayerNormalization.
void recognize_layernorm(Model& m);

// GELU written with Erf or Tanh (torch's exports and their variants) -> ai.nnaccel Gelu.
void recognize_gelu(Model& m);

// f32 Conv [+ Add of a per-channel constant when it has no bias] [+ residual Add of a value of
// the output's shape] [+ activation] -> ai.nnaccel FusedConv; Gemm + activation -> FusedGemm;
// MatMul by a constant 2-D B [+ Add of a constant [N] bias] [+ activation] -> FusedMatMul.
// Intermediate values must have the fused node as only reader and not be graph outputs.
void fuse_conv_activation(Model& m);

// Runs of >= 2 f32 elementwise ops (each intermediate read once, operands broadcasting into the
// running value's shape) -> ai.nnaccel ElementwiseChain. Runs after fuse_conv_activation so
// activations go into the convs first.
void fuse_elementwise_chain(Model& m);

// QDQ units -> ai.nnaccel integer ops (INT8_CONTRACT.md): DequantizeLinear(inputs) -> Conv /
// FusedConv [-> Relu/Clip] -> QuantizeLinear becomes QConv; MatMul / FusedMatMul / Gemm /
// FusedGemm with a constant int8 weight becomes QMatMul; Add [-> Relu] becomes QAdd; a
// transparent op (MaxPool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Identity, Concat)
// between a DequantizeLinear and a QuantizeLinear with equal qparams runs on the integers. A
// Conv/MatMul unit whose output is not read by one QuantizeLinear gets a float output. Units it
// cannot prove equivalent stay (NNACCEL_VERBOSE says why); the DequantizeLinear of constants
// that only their float ops read as weights are then folded, so float fast kernels take them.
// Returns the number of units fused.
int fuse_qdq(Model& m);

// QConv -> QAdd (the conv's quantized output read by the Add alone, no activation of its own,
// the other operand of the output's shape) -> one QConv with that operand as its residual z and
// the conv's output qparams as mid_scale / mid_zero_point, so the result is the pair's. Returns
// the number of pairs fused.
int fuse_qconv_residual(Model& m);

// DequantizeLinear (per tensor) -> elementwise float ops of that one value and scalar constants
// -> QuantizeLinear (per tensor) -> ai.nnaccel QLookup with the region's 256 results as its table,
// computed by the reference kernels. Intermediate values must be read inside the region only.
// Returns the number of regions replaced.
int fuse_quantized_lookup(Model& m);

struct OptimizeOptions {
  // false: standard ONNX only (the result can be exported and run anywhere); true: also the
  // ai.nnaccel fusions, for nnaccel's own runtime.
  bool fuse = true;
};

// Runs the passes above in a sensible order.
void optimize(Model& m, const OptimizeOptions& options);
void optimize(Model& m);  // default options

namespace passes_detail {
// How often each value is read: node inputs, reads from inside subgraphs (counted once per
// reading node), and graph outputs.
std::map<std::string, int> read_counts(const Graph& g);
// Initializers that are not graph inputs (a caller cannot override them).
bool is_constant_initializer(const Graph& g, const std::string& name);
// A value name not used in the graph yet, based on `base`.
std::string unique_name(const Graph& g, const std::string& base);
}  // namespace passes_detail

}  // namespace nnaccel
