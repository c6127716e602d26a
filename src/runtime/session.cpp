#include "nnaccel/session.hpp"

#include "core/check.hpp"
#include "nnaccel/onnx_io.hpp"
#include "runtime/compiled_model.hpp"
#include "runtime/executor.hpp"

namespace nnaccel {

// One of the two engines: the compiled fast path, or the reference interpreter.
struct Session::Impl {
  std::unique_ptr<CompiledModel> fast;
  std::unique_ptr<Executor> ref;
};

Session::Session(Model model, SessionOptions options) : impl_(std::make_unique<Impl>()) {
  uint64_t cap = options.max_memory_bytes ? options.max_memory_bytes : physical_memory_bytes();
  if (max_allocation_bytes() == 0 || cap < max_allocation_bytes()) set_max_allocation_bytes(cap);
  if (options.fast) impl_->fast = std::make_unique<CompiledModel>(std::move(model), options);
  else impl_->ref = std::make_unique<Executor>(std::move(model), options);
}

Session Session::load(const std::string& path, SessionOptions options) {
  Model model = load_onnx(path);  // its errors name the file already
  Session s = [&] {
    try {
      return Session(std::move(model), options);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", path, e.what()));
    }
  }();
  if (s.impl_->fast) s.impl_->fast->set_source_path(path);
  return s;
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

#define NNACCEL_DISPATCH(call) (impl_->fast ? impl_->fast->call : impl_->ref->call)

const Model& Session::model() const { return NNACCEL_DISPATCH(model()); }
const std::vector<ValueInfo>& Session::inputs() const { return NNACCEL_DISPATCH(inputs()); }
const std::vector<ValueInfo>& Session::outputs() const { return NNACCEL_DISPATCH(outputs()); }
void Session::set_input(const std::string& name, Tensor value) {
  NNACCEL_DISPATCH(set_input(name, std::move(value)));
}
void Session::run() { NNACCEL_DISPATCH(run()); }
const Tensor& Session::output(const std::string& name) const {
  const std::vector<ValueInfo>& outs = outputs();
  for (size_t i = 0; i < outs.size(); ++i)
    if (outs[i].name == name) return output(i);
  fail("the model has no output named '{}'", name);
}
const Tensor& Session::output(size_t index) const { return NNACCEL_DISPATCH(output(index)); }

std::vector<NodeTiming> Session::profile() const { return NNACCEL_DISPATCH(profile()); }
uint64_t Session::peak_activation_bytes() const {
  return NNACCEL_DISPATCH(peak_activation_bytes());
}
uint64_t Session::weight_bytes() const { return NNACCEL_DISPATCH(weight_bytes()); }
uint64_t Session::peak_memory_bytes() const { return weight_bytes() + peak_activation_bytes(); }
int Session::plans_compiled() const { return impl_->fast ? impl_->fast->plans_compiled() : 0; }

#undef NNACCEL_DISPATCH

std::vector<Tensor> Session::run(const std::map<std::string, Tensor>& feeds) {
  for (const auto& [name, t] : feeds) set_input(name, t);
  run();
  std::vector<Tensor> out;
  for (size_t i = 0; i < outputs().size(); ++i) out.push_back(output(i));
  return out;
}

}  // namespace nnaccel
