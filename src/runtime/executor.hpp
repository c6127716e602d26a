#pragma once
// The reference interpreter: runs a graph node by node with the registered reference kernels.
// Values live in a scope; subgraphs (If/Loop bodies) get a child scope that reads the parent's.
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "nnaccel/graph.hpp"
#include "nnaccel/session.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

class Scope {
 public:
  explicit Scope(const Scope* parent = nullptr) : parent_(parent) {}
  const Tensor* find(const std::string& name) const;
  void set(const std::string& name, Tensor t) { values_[name] = std::move(t); }
  void erase(const std::string& name) { values_.erase(name); }
  // The local value (not a parent's), or nullptr.
  const Tensor* find_local(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : &it->second;
  }

 private:
  const Scope* parent_;
  std::unordered_map<std::string, Tensor> values_;
};

// A graph prepared for running: each node's schema looked up once, and for each value the index
// of the last node that reads it, so intermediate tensors are freed as soon as possible.
struct PreparedGraph {
  std::vector<const OpSchema*> schemas;
  std::vector<std::vector<std::string>> frees;  // names to drop after node i
  std::vector<std::vector<bool>> frees_counted;  // frees[i][k] is a node output of this graph
};

// Checks a fed tensor against the graph input's declared dtype and shape; throws Error naming it.
void check_feed(const ValueInfo& info, const Tensor& t);
// Throws Error naming the first node (in the graph or its subgraphs) whose op is not registered.
void check_ops_registered(const Graph& g);

class Executor {
 public:
  Executor(Model model, SessionOptions options);
  const Model& model() const { return model_; }
  const std::vector<ValueInfo>& inputs() const { return inputs_; }
  const std::vector<ValueInfo>& outputs() const { return model_.graph.outputs; }

  void set_input(const std::string& name, Tensor value);
  void run();
  const Tensor& output(const std::string& name) const;
  const Tensor& output(size_t index) const;

  // Runs `graph` in a child scope of `parent`, binding its inputs positionally.
  std::vector<Tensor> run_graph(const Graph& graph, const std::vector<Tensor>& inputs,
                                const Scope* parent);

  std::vector<NodeTiming> profile() const { return timings_; }
  uint64_t peak_activation_bytes() const { return peak_bytes_; }
  uint64_t weight_bytes() const;

 private:
  void prepare(const Graph& g);

  Model model_;
  SessionOptions options_;
  std::vector<ValueInfo> inputs_;
  std::map<std::string, Tensor> feeds_;
  std::vector<Tensor> results_;
  std::map<const Graph*, PreparedGraph> prepared_;
  // Profiling (options_.profile): one record per node, found by the node's address.
  std::vector<NodeTiming> timings_;
  std::unordered_map<const Node*, size_t> timing_index_;
  uint64_t* inner_ns_ = nullptr;  // time of nodes run inside the node being timed
  uint64_t live_bytes_ = 0;  // intermediate tensors alive now (within run())
  uint64_t peak_bytes_ = 0;
};

}  // namespace nnaccel
