#pragma once
// Running a model: load, set inputs, run, read outputs.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nnaccel/graph.hpp"

namespace nnaccel {

// Numerics of conv/matmul on the fast path. bf16: bf16 inputs and weights with fp32
// accumulation; auto: bf16 only where it is faster than fp32 on this CPU.
enum class PrecisionMode { fp32, bf16, auto_select };

struct SessionOptions {
  uint64_t max_memory_bytes = 0;  // 0: the machine's physical memory
  // The compiled fast path (graph optimizer, fast kernels, memory plan). false: the reference
  // interpreter, node by node with the reference kernels (the oracle of the tests).
  bool fast = true;
  int threads = 0;  // 0: the cores this process may use
  PrecisionMode precision = PrecisionMode::fp32;
  // Time every node (including nodes of If/Loop bodies); off costs nothing (no clock calls).
  bool profile = false;
};

// Time spent in one node, accumulated over the runs since the session was made. Self time: for a
// node with subgraphs (If/Loop) the time of the body's nodes, which have records of their own, is
// left out, so the records add up to the time of the runs.
struct NodeTiming {
  std::string op_type;
  std::string name;      // the node's name (may be empty in the model)
  std::string kernel;    // the kernel that ran it ("reference", "dnnl conv ...")
  uint64_t total_ns = 0;
  uint64_t calls = 0;    // how many times the node ran (more than runs inside a Loop body)
};

class Session {
 public:
  explicit Session(Model model, SessionOptions options = {});
  static Session load(const std::string& path, SessionOptions options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // The model being run: on the fast path, after the graph optimizer.
  const Model& model() const;
  const std::vector<ValueInfo>& inputs() const;   // graph inputs that are not initializers
  const std::vector<ValueInfo>& outputs() const;

  void set_input(const std::string& name, Tensor value);
  // Runs with the inputs set so far; throws Error naming a missing or ill-typed input.
  void run();
  const Tensor& output(const std::string& name) const;
  const Tensor& output(size_t index) const;

  // One call: feeds by name, outputs in graph order.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& feeds);

  // Per-node timings in first-run order; empty unless SessionOptions::profile is set.
  std::vector<NodeTiming> profile() const;
  // The largest total size of intermediate tensors (node outputs, graph outputs included) alive
  // at once during any run so far; initializers and fed inputs are not counted.
  uint64_t peak_activation_bytes() const;
  // Bytes of weights the session holds: the initializers of the graph it runs, plus (fast path)
  // the copies kernels packed into their own formats.
  uint64_t weight_bytes() const;
  // weight_bytes() + peak_activation_bytes(): what running the model costs in memory.
  uint64_t peak_memory_bytes() const;
  // Fast path: how many plans were compiled, one per distinct set of input shapes (a run with
  // shapes seen before compiles nothing). 0 on the reference path.
  int plans_compiled() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nnaccel
