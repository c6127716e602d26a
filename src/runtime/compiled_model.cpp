#include "runtime/compiled_model.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/check.hpp"
#include "core/parallel.hpp"
#include "core/verbose.hpp"
#include "nnaccel/onnx_io.hpp"
#include "ir/passes/passes.hpp"
#include "ir/shape_inference.hpp"
#include "ir/verifier.hpp"
#include "kernels/dnnl/dnnl_common.hpp"
#include "kernels/dnnl/dnnl_precision.hpp"
#include "runtime/executor.hpp"

namespace nnaccel {

namespace {
constexpr size_t kMaxCachedPlans = 16;
}  // namespace

std::shared_ptr<Model> CompiledModel::load_optimized(Model model) const {
  verify_graph(model.graph);
  check_ops_registered(model.graph);
  infer_shapes(model.graph);  // shape and dtype errors surface here, before the first run
  optimize(model);
  return std::make_shared<Model>(std::move(model));
}

void CompiledModel::release_packed_initializers(const Plan& plan) {
  if (source_path_.empty()) return;
  Graph& g = model_->graph;
  for (const ValueSlot& slot : plan.slots()) {
    if (slot.kind != ValueSlot::Kind::constant || slot.value.defined()) continue;
    auto it = g.initializers.find(slot.name);
    if (it == g.initializers.end()) continue;
    g.initializers.erase(it);
    released_ = true;
  }
}

CompiledModel::CompiledModel(Model model, SessionOptions options) : options_(options) {
  model_ = load_optimized(std::move(model));
  for (const ValueInfo& v : model_->graph.inputs)
    if (!model_->graph.initializers.count(v.name)) inputs_.push_back(v);
  compile_options_.threads = options.threads > 0 ? options.threads : available_cores();
  compile_options_.profile = options.profile;
  if (options.precision == PrecisionMode::bf16) warn_if_bf16_is_slow();
  compile_options_.precision =
      options.precision == PrecisionMode::bf16 ? Precision::bf16 : Precision::fp32;
}

CompiledModel::~CompiledModel() = default;

// bf16 as asked, but said once when this CPU runs it slower than fp32 (or not natively).
void CompiledModel::warn_if_bf16_is_slow() const {
  static bool said = false;
  if (said) return;
  said = true;
  if (!dnnl_kernels::cpu_has_bf16()) {
    fmt::print(stderr, "nnaccel: this CPU has no native bf16: conv and matmul run in fp32\n");
  } else if (!dnnl_kernels::bf16_is_faster()) {
    fmt::print(stderr,
               "nnaccel: bf16 is slower than fp32 on this CPU ({}); running bf16 as asked "
               "(--precision auto would pick fp32)\n",
               dnnl_kernels::cpu_model_name());
  }
}

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
    // Plans compiled earlier keep the model they point into; a new one reads the weights again.
    if (released_) {
      model_ = load_optimized(load_onnx(source_path_));
      released_ = false;
    }
    set_thread_count(compile_options_.threads);
    it = plans_.emplace(key, compile_for(types, inputs)).first;
    ++plans_compiled_;
    release_packed_initializers(*it->second);
  }
  last_ = it->second.get();
  set_thread_count(compile_options_.threads);
  last_->run(inputs, results_, options_.profile ? &timings_[last_] : nullptr);
}

std::unique_ptr<Plan> CompiledModel::compile_for(const std::vector<TypeInfo>& types,
                                                 const std::vector<Tensor>& inputs) {
  if (options_.precision != PrecisionMode::auto_select)
    return compile_plan(model_, types, compile_options_);
  // auto: bf16 only where it is faster, which depends on the CPU and on the model (small convs
  // gain nothing and pay for conversions). Both plans are compiled and timed on the real inputs,
  // alternating, once per set of shapes; bf16 must win by 5% to be kept.
  CompileOptions bf16 = compile_options_;
  bf16.precision = Precision::bf16;
  std::unique_ptr<Plan> a = compile_plan(model_, types, compile_options_);
  std::unique_ptr<Plan> b = compile_plan(model_, types, bf16);
  if (b->stats().bf16_steps == 0) return a;
  std::vector<Tensor> scratch;
  auto time_once = [&](Plan& p) {
    auto start = std::chrono::steady_clock::now();
    p.run(inputs, scratch, nullptr);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  time_once(*a);
  time_once(*b);
  std::vector<double> ta, tb;
  for (int i = 0; i < 5; ++i) {
    ta.push_back(time_once(*a));
    tb.push_back(time_once(*b));
  }
  std::sort(ta.begin(), ta.end());
  std::sort(tb.begin(), tb.end());
  const double fp32_s = ta[ta.size() / 2], bf16_s = tb[tb.size() / 2];
  if (verbose_enabled())
    fmt::print(stderr, "nnaccel: precision auto: fp32 {:.3f} ms, bf16 {:.3f} ms -> {}\n",
               fp32_s * 1e3, bf16_s * 1e3, bf16_s < 0.95 * fp32_s ? "bf16" : "fp32");
  return bf16_s < 0.95 * fp32_s ? std::move(b) : std::move(a);
}

const Tensor& CompiledModel::output(size_t index) const {
  if (index >= results_.size()) fail("output {} is not available (run first)", index);
  return results_[index];
}

std::vector<NodeTiming> CompiledModel::profile() const {
  std::vector<NodeTiming> all;
  for (const auto& [plan, t] : timings_) {
    all.insert(all.end(), t.begin(), t.end());
    for (const PlanStep& step : plan->steps()) step.kernel->append_profile(all);
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
  // What the session holds: the initializers of the models its plans point into (counted once
  // per buffer), plus the weights kernels packed into their own formats (per plan).
  std::set<const void*> seen;
  uint64_t total = 0;
  auto count = [&](const Model& m) {
    for (const auto& [name, t] : m.graph.initializers)
      if (seen.insert(t.raw()).second) total += t.nbytes();
  };
  count(*model_);
  for (const auto& [key, plan] : plans_) {
    count(plan->model());
    total += plan->stats().packed_bytes;
  }
  return total;
}

}  // namespace nnaccel
