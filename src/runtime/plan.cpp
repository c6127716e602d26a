#include <chrono>

#include "core/check.hpp"
#include "runtime/executor.hpp"
#include "runtime/plan.hpp"

namespace nnaccel {

Plan::Plan() = default;
Plan::~Plan() = default;

// Time already recorded for the nodes of subgraphs (the If kernel's branch plans, the reference
// interpreter's bodies).
uint64_t Plan::subgraph_ns(const PlanStep& step) const {
  uint64_t total = step.kernel->profiled_ns();
  if (step.allocates && subgraphs_)
    for (const NodeTiming& t : subgraphs_->profile()) total += t.total_ns;
  return total;
}

void Plan::run(std::span<const Tensor> inputs, std::vector<Tensor>& outputs,
               std::vector<NodeTiming>* timings) {
  const Graph& g = model_->graph;
  for (size_t i = 0; i < input_slots_.size(); ++i) {
    int s = input_slots_[i];
    if (s < 0) continue;
    if (i < inputs.size() && inputs[i].defined()) {
      values_[static_cast<size_t>(s)] = inputs[i];
    } else {
      auto it = g.initializers.find(g.inputs[i].name);
      if (it == g.initializers.end()) fail("input '{}' is missing", g.inputs[i].name);
      values_[static_cast<size_t>(s)] = it->second;
    }
  }
  if (timings != nullptr && timings->size() != steps_.size()) {
    timings->clear();
    for (const PlanStep& step : steps_)
      timings->push_back(NodeTiming{step.op_type, step.name, step.kernel->name(), 0, 0});
  }
  uint64_t live = 0;
  for (size_t i = 0; i < steps_.size(); ++i) {
    PlanStep& step = steps_[i];
    for (size_t k = 0; k < step.inputs.size(); ++k)
      step.in_ptrs[k] = step.inputs[k] >= 0 ? &values_[static_cast<size_t>(step.inputs[k])] : nullptr;
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      int s = step.outputs[o];
      Tensor& out = step.out_tensors[o];
      if (s < 0 || step.allocates) {
        out = Tensor{};
        continue;
      }
      const ValueSlot& slot = slots_[static_cast<size_t>(s)];
      if (slot.kind == ValueSlot::Kind::arena) out = slot.value;
      else if (slot.desc.known) out = Tensor(slot.desc.dtype, slot.desc.physical_shape());
      else out = Tensor{};
    }
    if (timings != nullptr) {
      // Self time: subgraph nodes have records of their own (in the subgraph interpreter).
      uint64_t inner_before = subgraph_ns(step);
      auto start = std::chrono::steady_clock::now();
      step.kernel->run(step.in_ptrs, step.out_tensors);
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now() - start).count();
      uint64_t elapsed = static_cast<uint64_t>(ns > 0 ? ns : 0);
      uint64_t inner = subgraph_ns(step) - inner_before;
      (*timings)[i].total_ns += elapsed > inner ? elapsed - inner : 0;
      (*timings)[i].calls += 1;
    } else {
      step.kernel->run(step.in_ptrs, step.out_tensors);
    }
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      int s = step.outputs[o];
      if (s < 0) continue;
      const ValueSlot& slot = slots_[static_cast<size_t>(s)];
      if (slot.kind == ValueSlot::Kind::arena) continue;
      Tensor& out = step.out_tensors[o];
      if (!out.defined())
        fail("{} '{}': output '{}' was not produced", step.op_type, step.name, slot.name);
      live += out.nbytes();
      values_[static_cast<size_t>(s)] = std::move(out);
    }
    peak_dynamic_bytes_ = std::max(peak_dynamic_bytes_, live);
    for (int s : step.frees) {
      live -= values_[static_cast<size_t>(s)].nbytes();
      values_[static_cast<size_t>(s)] = Tensor{};
    }
  }
  outputs.resize(output_slots_.size());
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    outputs[i] = values_[static_cast<size_t>(output_slots_[i])];
    const ValueSlot& slot = slots_[static_cast<size_t>(output_slots_[i])];
    if (slot.kind == ValueSlot::Kind::dynamic) values_[static_cast<size_t>(output_slots_[i])] = Tensor{};
  }
  for (int s : input_slots_)
    if (s >= 0) values_[static_cast<size_t>(s)] = Tensor{};
}

}  // namespace nnaccel
