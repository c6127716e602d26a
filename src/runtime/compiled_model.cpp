#include "runtime/compiled_model.hpp"

#include "core/check.hpp"
#include "core/parallel.hpp"
#include "ir/passes/passes.hpp"
#include "ir/shape_inference.hpp"
#include "ir/verifier.hpp"
#include "runtime/executor.hpp"

namespace nnaccel {

namespace {
constexpr size_t kMaxCachedPlans = 16;
}

CompiledModel::CompiledModel(Model model, SessionOptions options) : options_(options) {
  verify_graph(model.graph);
  check_ops_registered(model.graph);
  infer_shapes(model.graph);  // shape and dtype errors surface here, before the first run
  optimize(model);
  for (const ValueInfo& v : model.graph.inputs)
    if (!model.graph.initializers.count(v.name)) inputs_.push_back(v);
  model_ = std::make_shared<const Model>(std::move(model));
  compile_options_.threads = options.threads > 0 ? options.threads : available_cores();
  compile_options_.profile = options.profile;
  compile_options_.precision =
      options.precision == PrecisionMode::bf16 ? Precision::bf16 : Precision::fp32;
}

CompiledModel::~CompiledModel() = default;

void CompiledModel::set_input(const std::string& name, Tensor value) {
  for (const ValueInfo& v : model_->graph.inputs)
    if (v.name == name) {
      check_feed(v, value);
      feeds_[name] = std::move(value);
      return;
    }
  fail("the model has no input named '{}'", name);
}

void CompiledModel::run() {
  const Graph& g = model_->graph;
  std::vector<Tensor> inputs;
  ShapeKey key;
  for (const ValueInfo& v : g.inputs) {
    auto it = feeds_.find(v.name);
    if (it != feeds_.end()) {
      inputs.push_back(it->second);
      key.emplace_back(it->second.dtype(), it->second.shape());
    } else if (auto init = g.initializers.find(v.name); init != g.initializers.end()) {
      inputs.push_back(Tensor{});
      key.emplace_back(init->second.dtype(), init->second.shape());
    } else {
      fail("input '{}' is missing", v.name);
    }
  }
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    if (plans_.size() >= kMaxCachedPlans) {
      timings_.erase(plans_.begin()->second.get());
      plans_.erase(plans_.begin());
    }
    std::vector<TypeInfo> types;
    for (const auto& [dtype, shape] : key) types.push_back(TypeInfo::of(dtype, shape));
    it = plans_.emplace(key, compile_plan(model_, types, compile_options_)).first;
    ++plans_compiled_;
  }
  last_ = it->second.get();
  set_thread_count(compile_options_.threads);
  last_->run(inputs, results_, options_.profile ? &timings_[last_] : nullptr);
}

const Tensor& CompiledModel::output(size_t index) const {
  if (index >= results_.size()) fail("output {} is not available (run first)", index);
  return results_[index];
}

std::vector<NodeTiming> CompiledModel::profile() const {
  std::vector<NodeTiming> all;
  for (const auto& [plan, t] : timings_) {
    all.insert(all.end(), t.begin(), t.end());
    if (plan->subgraphs() != nullptr) {
      std::vector<NodeTiming> inner = plan->subgraphs()->profile();
      all.insert(all.end(), inner.begin(), inner.end());
    }
  }
  return all;
}

uint64_t CompiledModel::peak_activation_bytes() const {
  uint64_t peak = 0;
  for (const auto& [key, plan] : plans_)
    peak = std::max(peak, plan->stats().arena_bytes + plan->peak_dynamic_bytes());
  return peak;
}

uint64_t CompiledModel::weight_bytes() const {
  // What the session holds: the optimized model's initializers, plus the weights kernels packed
  // into their own formats (per plan).
  uint64_t total = 0;
  for (const auto& [name, t] : model_->graph.initializers) total += t.nbytes();
  for (const auto& [key, plan] : plans_) total += plan->stats().packed_bytes;
  return total;
}

}  // namespace nnaccel
