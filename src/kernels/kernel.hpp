#pragma once
// Fast kernels: what the compiler (src/runtime/compile.cpp) asks of them.
//
// At compile time the compiler walks the optimized graph in order, knowing every value's dtype,
// shape and memory layout (ValueDesc). For each node it offers a KernelRequest to the fast
// kernels registered for the node's op (KernelRegistry, in registration order); the first factory
// that returns a kernel wins. A factory returns nullptr when it does not handle the case (dtype,
// attributes, layout, sizes): the compiler then offers the node again with every blocked input
// converted to plain layout, and falls back to the reference kernel (src/ops) when no fast kernel
// takes it. NNACCEL_VERBOSE=1 logs each choice.
//
// Layouts. A value is plain (row-major, as ONNX) or channel-blocked: axis 1 split into blocks of
// `block` channels stored innermost, [N, ceil(C/block), spatial..., block], as oneDNN's
// nChw16c/nChw8c. The padding channels of a blocked value hold zeros; a kernel that writes a
// blocked output writes zeros there. Integer (u8/i8) values between the oneDNN int8 kernels have
// block == C: one block of all channels, i.e. channels-last (NHWC), the only layout of oneDNN's
// fast int8 convs (kernels/dnnl/dnnl_int8.hpp); a kernel declines blocks it does not know. A
// factory decides the layout of its outputs by setting `request.outputs[i].block`; inputs arrive
// in whatever layout their producer chose.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "nnaccel/graph.hpp"
#include "nnaccel/session.hpp"
#include "nnaccel/tensor.hpp"

namespace nnaccel {

enum class Precision { fp32, bf16, auto_select };

struct ValueDesc {
  DType dtype = DType::undefined;
  Shape shape;        // logical (ONNX) shape; empty with known=false when not known at compile time
  bool known = true;  // false: the size is data-dependent; the kernel allocates the output
  int64_t block = 0;  // 0: plain; 8, 16 or C: channel-blocked (see above), rank >= 3 only

  bool plain() const { return block == 0; }
  // [N, ceil(C/block), spatial..., block] for blocked values, the shape itself for plain ones.
  Shape physical_shape() const;
};

struct CompileOptions {
  Precision precision = Precision::fp32;  // never auto_select here: resolved before compiling
  int threads = 0;                        // the thread count runs will use
  bool profile = false;                   // time steps (and the nodes of If/Loop bodies)
};

// Packed copies of constants, shared by the kernels of one plan: readers of one weight that pack it
// into the same format (layers sharing a weight, as PyTorch's copied TransformerEncoder layers do)
// hold one copy instead of one each.
class PackedConstants {
 public:
  // The packed form of `source` in format `format` (any bytes that identify it), made by `pack`
  // the first time it is asked for.
  Tensor get(const Tensor& source, const std::string& format, const std::function<Tensor()>& pack);
  // Bytes handed out again to a further reader: kernels count their packed bytes each, so a
  // plan's packed bytes are their sum minus this.
  uint64_t shared_bytes() const { return shared_bytes_; }

 private:
  std::map<std::tuple<const void*, size_t, std::string>, Tensor> packed_;
  uint64_t shared_bytes_ = 0;
};

// Nodes of `graph` that read `value` as an input (not counting graph outputs or subgraph reads).
std::vector<const Node*> readers_of(const Graph& graph, const std::string& value);

struct KernelRequest {
  const Node& node;
  const Graph& graph;                    // for looking at consumers (layout decisions)
  std::vector<const ValueDesc*> inputs;  // null for absent optional inputs
  // The value of input i when it is a constant (initializer): weights to pack. Null otherwise.
  std::vector<const Tensor*> constants;
  // From shape inference, all plain; the factory may set `block` on outputs it writes blocked.
  std::vector<ValueDesc> outputs;
  const CompileOptions& options;
  // Types of the graph's values for these input shapes (shape inference), when the compiler
  // gives them: layout decisions look at the shapes of the values a reader combines.
  const std::map<std::string, TypeInfo>* value_types = nullptr;
  // Where factories share packed constants (null: each packs its own).
  PackedConstants* packed = nullptr;

  // Nodes of `graph` that read output i (not counting graph outputs).
  std::vector<const Node*> consumers(int output) const;
  bool is_graph_output(int output) const;
  // Input i is there: within the node's inputs and not an omitted optional one.
  bool has_input(int i) const {
    return i >= 0 && static_cast<size_t>(i) < inputs.size() && inputs[static_cast<size_t>(i)];
  }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // inputs[i] is null for an absent optional input, else laid out as the request said. Each
  // defined outputs[i] arrives allocated with its desc's physical shape and dtype (contents
  // unspecified, possibly aliasing a dead input when inplace_input() allows it); an output whose
  // desc is not `known` arrives undefined and the kernel allocates it. Kernels do not throw on
  // data they were compiled for; checks belong in the factory.
  virtual void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) = 0;
  // Shown by NNACCEL_VERBOSE and the profile, e.g. "dnnl conv jit:avx512_core (nChw16c)".
  virtual std::string name() const = 0;
  // Bytes the kernel holds itself (packed weights), counted among the plan's weight bytes.
  virtual uint64_t packed_bytes() const { return 0; }
  // True when the kernel computes in bf16 (CompileOptions::precision bf16 on a CPU with bf16).
  virtual bool computes_in_bf16() const { return false; }
  // True when the kernel keeps its own packed copy of constant input i and never reads the
  // graph's tensor at run time: the plan then does not hold that initializer (weights held once).
  virtual bool owns_constant(int /*input*/) const { return false; }
  // The input that output `output` may overwrite (same size and layout), or -1. The compiler
  // aliases them only when that input is not read after this node and is not a constant or a
  // graph input.
  virtual int inplace_input(int /*output*/) const { return -1; }
  // Kernels that run plans of their own (If branches) add their steps' timings here, and say how
  // much of their own time those account for, so the profile counts self time.
  virtual void append_profile(std::vector<NodeTiming>& /*out*/) const {}
  virtual uint64_t profiled_ns() const { return 0; }
};

using KernelFactory = std::unique_ptr<Kernel> (*)(KernelRequest& request);

struct KernelEntry {
  std::string domain;  // "" for ai.onnx
  std::string op;
  std::string variant;  // "dnnl", "simd", ...: names the family in logs and tests
  KernelFactory make = nullptr;
};

class KernelRegistry {
 public:
  static const KernelRegistry& instance();
  void add(KernelEntry entry);
  // Entries for the op, in registration order.
  std::vector<const KernelEntry*> find(const std::string& domain, const std::string& op) const;
  const std::vector<KernelEntry>& all() const { return entries_; }

 private:
  std::vector<KernelEntry> entries_;
};

}  // namespace nnaccel
