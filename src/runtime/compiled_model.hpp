#pragma once
// The fast path of a Session: the graph optimized once, then compiled into a Plan per set of
// input shapes. A plan is cached by shapes, so a second run with shapes seen before does no
// planning at all.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nnaccel/session.hpp"
#include "runtime/plan.hpp"

namespace nnaccel {

class CompiledModel {
 public:
  CompiledModel(Model model, SessionOptions options);
  ~CompiledModel();
  // The model being run (optimized). Initializers that every kernel reading them packed into a
  // format of its own are released after compiling when the model can be read again from
  // `source_path` (weights held once); a later new input shape re-reads them.
  const Model& model() const { return *model_; }
  void set_source_path(std::string path) { source_path_ = std::move(path); }
  const std::vector<ValueInfo>& inputs() const { return inputs_; }
  const std::vector<ValueInfo>& outputs() const { return model_->graph.outputs; }

  void set_input(const std::string& name, Tensor value);
  void run();
  const Tensor& output(size_t index) const;

  std::vector<NodeTiming> profile() const;
  uint64_t peak_activation_bytes() const;
  uint64_t weight_bytes() const;
  // Plans compiled so far (one per distinct set of input shapes).
  int plans_compiled() const { return plans_compiled_; }
  const Plan* last_plan() const { return last_; }

 private:
  using ShapeKey = std::vector<std::pair<DType, Shape>>;
  std::shared_ptr<Model> load_optimized(Model model) const;
  std::unique_ptr<Plan> compile_for(const std::vector<TypeInfo>& types,
                                    const std::vector<Tensor>& inputs);
  void release_packed_initializers(const Plan& plan);

  std::shared_ptr<Model> model_;
  std::string source_path_;
  bool released_ = false;  // model_ lacks initializers that kernels packed
  SessionOptions options_;
  CompileOptions compile_options_;
  std::vector<ValueInfo> inputs_;
  std::map<std::string, Tensor> feeds_;
  std::vector<Tensor> results_;
  std::map<ShapeKey, std::unique_ptr<Plan>> plans_;
  std::map<const Plan*, std::vector<NodeTiming>> timings_;
  Plan* last_ = nullptr;
  int plans_compiled_ = 0;
};

}  // namespace nnaccel
