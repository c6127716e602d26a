#include "runtime/if_kernel.hpp"

#include "core/check.hpp"
#include "ir/passes/passes.hpp"
#include "ir/verifier.hpp"
#include "runtime/executor.hpp"
#include "runtime/plan.hpp"

namespace nnaccel {

namespace {

class IfKernel final : public Kernel {
 public:
  IfKernel(std::unique_ptr<Plan> then_plan, std::unique_ptr<Plan> else_plan, bool profile)
      : then_(std::move(then_plan)), else_(std::move(else_plan)), profile_(profile) {}

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const Tensor& c = *inputs[0];
    bool cond = c.dtype() == DType::boolean ? c.data<bool>()[0] : c.at_i64(0) != 0;
    Plan& plan = cond ? *then_ : *else_;
    feeds_.clear();
    for (size_t i = 1; i < inputs.size(); ++i) feeds_.push_back(*inputs[i]);
    plan.run(feeds_, results_, profile_ ? &(cond ? then_timings_ : else_timings_) : nullptr);
    for (size_t o = 0; o < outputs.size() && o < results_.size(); ++o)
      outputs[o] = std::move(results_[o]);
  }
  std::string name() const override { return "if (compiled branches)"; }
  uint64_t packed_bytes() const override {
    return then_->stats().packed_bytes + else_->stats().packed_bytes;
  }
  void append_profile(std::vector<NodeTiming>& out) const override {
    out.insert(out.end(), then_timings_.begin(), then_timings_.end());
    out.insert(out.end(), else_timings_.begin(), else_timings_.end());
    for (const Plan* p : {then_.get(), else_.get()})
      for (const PlanStep& s : p->steps()) s.kernel->append_profile(out);
  }
  uint64_t profiled_ns() const override {
    uint64_t total = 0;
    std::vector<NodeTiming> all;
    append_profile(all);
    for (const NodeTiming& t : all) total += t.total_ns;
    return total;
  }

 private:
  std::unique_ptr<Plan> then_, else_;
  bool profile_;
  std::vector<Tensor> feeds_, results_;
  std::vector<NodeTiming> then_timings_, else_timings_;
};

std::unique_ptr<Plan> compile_branch(const Node& node, const Model& parent, const Graph& body,
                                     const std::vector<OuterValue>& outer,
                                     const CompileOptions& options) {
  auto m = std::make_shared<Model>();
  m->opsets = parent.opsets;
  m->ir_version = parent.ir_version;
  m->graph = body;
  m->graph.inputs.clear();
  std::vector<TypeInfo> types;
  for (const OuterValue& v : outer) {
    if (v.constant != nullptr) {
      m->graph.initializers[v.name] = *v.constant;
    } else {
      TypeInfo t = TypeInfo::of(v.desc.dtype, v.desc.shape);
      m->graph.inputs.push_back(ValueInfo{v.name, t, ""});
      types.push_back(t);
    }
  }
  try {
    verify_graph(m->graph);
    optimize(*m);
  } catch (const Error& e) {
    fail("{}: {}", node.describe(), e.what());
  }
  return compile_plan(m, types, options);
}

const Graph* branch(const Node& node, const char* name) {
  const Attribute* a = node.attr(name);
  return a != nullptr && a->g ? a->g.get() : nullptr;
}

}  // namespace

std::unique_ptr<Kernel> make_if_kernel(const Node& node, const Model& parent,
                                       const std::vector<OuterValue>& outer,
                                       const CompileOptions& options) {
  const Graph* then_g = branch(node, "then_branch");
  const Graph* else_g = branch(node, "else_branch");
  if (then_g == nullptr || else_g == nullptr) return nullptr;
  for (const OuterValue& v : outer)
    if (v.constant == nullptr && (!v.desc.known || v.desc.dtype == DType::undefined))
      return nullptr;
  if (then_g->outputs.size() != node.outputs.size() ||
      else_g->outputs.size() != node.outputs.size())
    return nullptr;  // the reference kernel names the mismatch
  return std::make_unique<IfKernel>(compile_branch(node, parent, *then_g, outer, options),
                                    compile_branch(node, parent, *else_g, outer, options),
                                    options.profile);
}

}  // namespace nnaccel
