#include "nnaccel/session.hpp"

#include "nnaccel/onnx_io.hpp"
#include "runtime/executor.hpp"

namespace nnaccel {

Session::Session(Model model, SessionOptions options) {
  uint64_t cap = options.max_memory_bytes ? options.max_memory_bytes : physical_memory_bytes();
  if (max_allocation_bytes() == 0 || cap < max_allocation_bytes()) set_max_allocation_bytes(cap);
  impl_ = std::make_unique<Executor>(std::move(model), options);
}

Session Session::load(const std::string& path, SessionOptions options) {
  return Session(load_onnx(path), options);
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const Model& Session::model() const { return impl_->model(); }
const std::vector<ValueInfo>& Session::inputs() const { return impl_->inputs(); }
const std::vector<ValueInfo>& Session::outputs() const { return impl_->outputs(); }
void Session::set_input(const std::string& name, Tensor value) {
  impl_->set_input(name, std::move(value));
}
void Session::run() { impl_->run(); }
const Tensor& Session::output(const std::string& name) const { return impl_->output(name); }
const Tensor& Session::output(size_t index) const { return impl_->output(index); }

std::vector<NodeTiming> Session::profile() const { return impl_->profile(); }
uint64_t Session::peak_activation_bytes() const { return impl_->peak_activation_bytes(); }
uint64_t Session::weight_bytes() const { return impl_->weight_bytes(); }

std::vector<Tensor> Session::run(const std::map<std::string, Tensor>& feeds) {
  for (const auto& [name, t] : feeds) set_input(name, t);
  run();
  std::vector<Tensor> out;
  for (size_t i = 0; i < outputs().size(); ++i) out.push_back(output(i));
  return out;
}

}  // namespace nnaccel
