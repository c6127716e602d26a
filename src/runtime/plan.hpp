#pragma once
// A compiled plan: the optimized graph bound to kernels for one set of input shapes.
//
// Values live in slots. A slot is a constant (an initializer, or a value folded at compile time
// for these shapes), a graph input, an arena slot (its bytes at a fixed offset of one buffer
// shared with every slot whose lifetime does not overlap) or a dynamic slot (a kernel allocates
// it at run time: reference kernels and data-dependent sizes). Running a plan does no planning:
// no shape inference, no kernel choice, no allocation for arena slots.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/kernel.hpp"
#include "nnaccel/session.hpp"

namespace nnaccel {

class Executor;

struct ValueSlot {
  enum class Kind { constant, input, arena, dynamic };
  std::string name;
  Kind kind = Kind::dynamic;
  ValueDesc desc;
  Tensor value;              // constants: the tensor; arena slots: a view into the arena
  uint64_t offset = 0;       // arena slots
  uint64_t bytes = 0;        // arena slots: physical bytes
  bool graph_output = false;  // allocated fresh each run so callers may keep it
};

struct PlanStep {
  const Node* node = nullptr;  // null for reorders the compiler inserted
  std::string op_type;         // for the profile: the node's op, or "Reorder"
  std::string name;
  std::unique_ptr<Kernel> kernel;
  bool allocates = false;    // the kernel allocates its outputs (reference kernels, If)
  std::vector<int> inputs;   // slot per kernel input, -1 when absent
  std::vector<int> outputs;  // slot per kernel output, -1 when unnamed
  std::vector<int> frees;    // dynamic slots whose last reader is this step
  // Scratch reused by every run (no allocation per step).
  std::vector<const Tensor*> in_ptrs;
  std::vector<Tensor> out_tensors;
};

struct PlanStats {
  uint64_t arena_bytes = 0;       // planned activations (shared buffer)
  uint64_t constant_bytes = 0;    // initializers and folded values the plan still reads
  uint64_t packed_bytes = 0;      // weights kernels hold in their own formats
  uint64_t naive_bytes = 0;       // sum of all arena slots: what no sharing would need
  uint64_t max_live_bytes = 0;    // most arena bytes alive at one step: the least any plan needs
  int fast_steps = 0;             // steps on a fast kernel
  int reference_steps = 0;        // steps on a reference kernel
  int reorders = 0;               // layout conversions the compiler inserted
  int inplace = 0;                // outputs written over a dying input's buffer
  int bf16_steps = 0;             // steps computing in bf16 (precision bf16 or auto)
};

class Plan {
 public:
  Plan();
  ~Plan();
  // Runs with the graph inputs in graph-input order (undefined for an input left to its
  // initializer). Fills `outputs` in graph-output order.
  void run(std::span<const Tensor> inputs, std::vector<Tensor>& outputs,
           std::vector<NodeTiming>* timings);
  const PlanStats& stats() const { return stats_; }
  // Largest bytes held by dynamic slots (and graph outputs) at once during the last run.
  uint64_t peak_dynamic_bytes() const { return peak_dynamic_bytes_; }
  const std::vector<PlanStep>& steps() const { return steps_; }
  const std::vector<ValueSlot>& slots() const { return slots_; }
  const Model& model() const { return *model_; }
  // The reference interpreter that runs If/Loop bodies (null when the graph has none).
  const Executor* subgraphs() const { return subgraphs_.get(); }

 private:
  friend class PlanBuilder;
  uint64_t subgraph_ns(const PlanStep& step) const;
  std::shared_ptr<const Model> model_;    // the optimized model the steps point into
  std::unique_ptr<Executor> subgraphs_;   // runs If/Loop bodies for reference steps
  std::vector<ValueSlot> slots_;
  std::vector<PlanStep> steps_;
  std::vector<int> input_slots_;   // per graph input; -1 when the input is unused
  std::vector<int> output_slots_;  // per graph output
  std::shared_ptr<void> arena_;
  std::vector<Tensor> values_;     // per slot, during a run
  PlanStats stats_;
  uint64_t peak_dynamic_bytes_ = 0;
};

// Compiles `model` (already optimized) for the given concrete input types, one per graph input
// in order (an initializer-backed input left unfed gets its initializer's type).
std::unique_ptr<Plan> compile_plan(std::shared_ptr<const Model> model,
                                   const std::vector<TypeInfo>& input_types,
                                   const CompileOptions& options);

// Offsets for buffers with lifetimes [first, last] (step indices, inclusive) so that buffers
// alive at the same step never overlap; each offset is a multiple of `alignment`. Returns the
// total size. Greedy by size, largest first (as TFLite's arena planner).
struct BufferLifetime {
  uint64_t bytes = 0;
  int first = 0;
  int last = 0;
  uint64_t offset = 0;  // out
};
uint64_t plan_buffer_offsets(std::vector<BufferLifetime>& buffers, uint64_t alignment = 64);

}  // namespace nnaccel
