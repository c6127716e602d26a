#pragma once
// Running a model: load, set inputs, run, read outputs.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nnaccel/graph.hpp"

namespace nnaccel {

struct SessionOptions {
  uint64_t max_memory_bytes = 0;  // 0: the machine's physical memory
};

class Executor;

class Session {
 public:
  explicit Session(Model model, SessionOptions options = {});
  static Session load(const std::string& path, SessionOptions options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

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

 private:
  std::unique_ptr<Executor> impl_;
};

}  // namespace nnaccel
