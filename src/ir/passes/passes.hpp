#pragma once
// Graph optimization passes. Each rewrites the model's top-level graph in place and preserves the
// values of every graph output (for every input the original model accepts). Passes do not fuse
// activations (that belongs with the fast kernels) and never change the inputs a caller must feed
// or the outputs.
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
// results above `max_elements` elements are left alone.
void fold_constants(Model& m, int64_t max_elements = int64_t{1} << 24);

// Removes nodes whose outputs reach no graph output (recursively inside live subgraphs) and
// initializers nothing reads (an initializer that is also a graph input is kept).
void remove_dead_nodes(Model& m);

// Folds an inference-mode BatchNormalization into the Conv (ConvTranspose, Gemm) that feeds it when the
// Conv's output has no other reader and all weights are initializers.
void fold_batchnorm(Model& m);

// Removes Identity nodes, collapses Reshape->Reshape, composes Transpose->Transpose and drops
// identity Transposes.
void remove_identity_and_redundant_reshapes(Model& m);

// Runs the passes above in a sensible order.
void optimize(Model& m);

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
