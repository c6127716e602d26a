#pragma once
// How an op is defined: a shape function and a reference kernel, registered by name.
//
// Every op family file (src/ops/<family>.cpp) defines `void register_<family>_ops(OpRegistry&)`
// which adds one OpSchema per op; src/ops/ops.def lists every op with its family, and the
// registry test checks that the two agree. Kernels see canonical-opset semantics only (the
// importer rewrites legacy forms), so one kernel per op.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/check.hpp"
#include "nnaccel/graph.hpp"
#include "nnaccel/tensor.hpp"

namespace nnaccel {

// Runs a subgraph (If/Loop/Scan bodies) with the given inputs, in the scope of the calling node
// (so it can read outer-scope values). Returns the subgraph's outputs in order.
using SubgraphRunner =
    std::function<std::vector<Tensor>(const Graph& body, const std::vector<Tensor>& inputs)>;

class OpContext {
 public:
  OpContext(const Node& node, std::vector<const Tensor*> inputs, SubgraphRunner* runner)
      : node(node), inputs_(std::move(inputs)), runner_(runner) {
    outputs.resize(node.outputs.size());
  }

  const Node& node;
  // Outputs to fill; size is the node's output count. An output the node does not name ("")
  // may be left undefined.
  std::vector<Tensor> outputs;

  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  bool has_input(int i) const {
    return i < num_inputs() && inputs_[static_cast<size_t>(i)] != nullptr;
  }
  // Throws Error naming the node when the input is missing.
  const Tensor& input(int i) const;
  bool has_output(int i) const {
    return i < static_cast<int>(node.outputs.size()) && !node.outputs[static_cast<size_t>(i)].empty();
  }
  int num_outputs() const { return static_cast<int>(node.outputs.size()); }

  int64_t attr_int(const std::string& n, int64_t def) const { return node.attr_int(n, def); }
  float attr_float(const std::string& n, float def) const { return node.attr_float(n, def); }
  std::string attr_string(const std::string& n, const std::string& def) const {
    return node.attr_string(n, def);
  }
  std::vector<int64_t> attr_ints(const std::string& n, std::vector<int64_t> def = {}) const {
    return node.attr_ints(n, std::move(def));
  }
  std::vector<float> attr_floats(const std::string& n, std::vector<float> def = {}) const {
    return node.attr_floats(n, std::move(def));
  }
  const Attribute* attr(const std::string& n) const { return node.attr(n); }

  std::vector<Tensor> run_subgraph(const Graph& body, const std::vector<Tensor>& inputs) const;

  // Throws Error prefixed with the node ("Gather 'g1': index 7 out of range [0, 5)").
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error(node.describe() + ": " + fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  std::vector<const Tensor*> inputs_;
  SubgraphRunner* runner_;
};

// Shape inference context. `values[i]` is set when input i is a known constant (an initializer
// or the result of constant folding), which lets Reshape, Expand, Slice... infer exact shapes.
class InferContext {
 public:
  InferContext(const Node& node, std::vector<const TypeInfo*> types,
               std::vector<const Tensor*> values)
      : node(node), types_(std::move(types)), values_(std::move(values)) {
    outputs.resize(node.outputs.size());
  }
  const Node& node;
  std::vector<TypeInfo> outputs;

  int num_inputs() const { return static_cast<int>(types_.size()); }
  bool has_input(int i) const {
    return i < num_inputs() && types_[static_cast<size_t>(i)] != nullptr;
  }
  const TypeInfo& type(int i) const;   // throws Error naming the node when missing
  const Tensor* value(int i) const {   // null when not a known constant
    return i < num_inputs() ? values_[static_cast<size_t>(i)] : nullptr;
  }
  int num_outputs() const { return static_cast<int>(node.outputs.size()); }

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error(node.describe() + ": " + fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  std::vector<const TypeInfo*> types_;
  std::vector<const Tensor*> values_;
};

using InferFn = void (*)(InferContext&);
using RunFn = void (*)(OpContext&);

struct OpSchema {
  std::string name;
  std::string domain;  // "" for ai.onnx
  InferFn infer = nullptr;
  RunFn run = nullptr;
  // False for ops whose output is not a pure function of the inputs (random ops): never folded.
  bool deterministic = true;
};

class OpRegistry {
 public:
  static const OpRegistry& instance();
  void add(OpSchema schema);
  const OpSchema* find(const std::string& domain, const std::string& name) const;
  std::vector<const OpSchema*> all() const;

 private:
  std::map<std::pair<std::string, std::string>, OpSchema> ops_;
};

// Common shape functions, shared by many ops.
void infer_same_as_input0(InferContext& ctx);       // output 0 = type of input 0
void infer_broadcast_same_dtype(InferContext& ctx);  // numpy broadcast of all inputs
void infer_broadcast_bool(InferContext& ctx);        // comparisons: broadcast shape, bool
// Numpy-style broadcast of known shapes; throws Error (via ctx) on mismatch.
std::vector<Dim> broadcast_dims(const InferContext& ctx, const std::vector<const TypeInfo*>& in);
Shape broadcast_shapes(const Shape& a, const Shape& b);  // throws Error on mismatch

}  // namespace nnaccel
