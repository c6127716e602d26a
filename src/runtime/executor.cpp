#include "runtime/executor.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/check.hpp"
#include "ir/shape_inference.hpp"
#include "ir/graph_walk.hpp"
#include "ir/verifier.hpp"

namespace nnaccel {

const Tensor* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s != nullptr; s = s->parent_) {
    auto it = s->values_.find(name);
    if (it != s->values_.end()) return &it->second;
  }
  return nullptr;
}


Executor::Executor(Model model, SessionOptions options)
    : model_(std::move(model)), options_(options) {
  verify_graph(model_.graph);
  for (const ValueInfo& v : model_.graph.inputs)
    if (!model_.graph.initializers.count(v.name)) inputs_.push_back(v);
  prepare(model_.graph);
  // Validates shapes and dtypes across the graph before the first run.
  infer_shapes(model_.graph);
}

void check_ops_registered(const Graph& g) {
  const OpRegistry& reg = OpRegistry::instance();
  for (const Node& n : g.nodes) {
    if (reg.find(n.domain, n.op_type) == nullptr) {
      if (!n.domain.empty()) fail("{}: unknown op {}::{}", n.describe(), n.domain, n.op_type);
      fail("{}: unknown op {}", n.describe(), n.op_type);
    }
    for (const Attribute& a : n.attrs) {
      if (a.g) check_ops_registered(*a.g);
      for (const auto& sg : a.graphs) check_ops_registered(*sg);
    }
  }
}

void Executor::prepare(const Graph& g) {
  PreparedGraph p;
  const OpRegistry& reg = OpRegistry::instance();
  std::map<std::string, size_t> last_use;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const OpSchema* s = reg.find(n.domain, n.op_type);
    if (s == nullptr) {
      if (!n.domain.empty())
        fail("{}: unknown op {}::{}", n.describe(), n.domain, n.op_type);
      fail("{}: unknown op {}", n.describe(), n.op_type);
    }
    p.schemas.push_back(s);
    for (const std::string& in : n.inputs)
      if (!in.empty()) last_use[in] = i;
    for (const Attribute& a : n.attrs) {
      if (a.g) prepare(*a.g);
      for (const auto& sg : a.graphs) prepare(*sg);
    }
    std::set<std::string> sub_reads;
    collect_subgraph_reads(n, sub_reads);
    for (const std::string& in : sub_reads) last_use[in] = i;
  }
  std::set<std::string> keep;
  for (const ValueInfo& v : g.outputs) keep.insert(v.name);
  std::set<std::string> produced;
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs)
      if (!o.empty()) produced.insert(o);
  p.frees.resize(g.nodes.size());
  p.frees_counted.resize(g.nodes.size());
  for (const auto& [name, i] : last_use)
    if (!keep.count(name)) {
      p.frees[i].push_back(name);
      p.frees_counted[i].push_back(produced.count(name) > 0);
    }
  prepared_[&g] = std::move(p);
}

void check_feed(const ValueInfo& info, const Tensor& t) {
  if (info.type.dtype != DType::undefined && t.dtype() != info.type.dtype)
    fail("input '{}' is {} but the model expects {}", info.name, dtype_name(t.dtype()),
         dtype_name(info.type.dtype));
  if (!info.type.has_shape) return;
  if (static_cast<size_t>(t.rank()) != info.type.dims.size())
    fail("input '{}' has rank {} but the model expects rank {}", info.name, t.rank(),
         info.type.dims.size());
  for (size_t i = 0; i < info.type.dims.size(); ++i) {
    const Dim& d = info.type.dims[i];
    if (d.known() && d.value != t.shape()[i])
      fail("input '{}' has dimension {} = {} but the model expects {}", info.name, i,
           t.shape()[i], d.value);
  }
}

void Executor::set_input(const std::string& name, Tensor value) {
  for (const ValueInfo& v : model_.graph.inputs)
    if (v.name == name) {
      check_feed(v, value);
      feeds_[name] = std::move(value);
      return;
    }
  fail("the model has no input named '{}'", name);
}

void Executor::run() {
  std::vector<Tensor> inputs;
  for (const ValueInfo& v : model_.graph.inputs) {
    auto it = feeds_.find(v.name);
    if (it != feeds_.end()) {
      inputs.push_back(it->second);
    } else if (model_.graph.initializers.count(v.name)) {
      inputs.push_back(Tensor{});  // optional input defaulting to its initializer
    } else {
      fail("input '{}' is missing", v.name);
    }
  }
  live_bytes_ = 0;
  results_ = run_graph(model_.graph, inputs, nullptr);
}

uint64_t Executor::weight_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, t] : model_.graph.initializers) total += t.nbytes();
  return total;
}

std::vector<Tensor> Executor::run_graph(const Graph& g, const std::vector<Tensor>& inputs,
                                        const Scope* parent) {
  Scope scope(parent);
  for (const auto& [name, t] : g.initializers) scope.set(name, t);
  if (inputs.size() > g.inputs.size())
    fail("graph '{}' takes {} inputs, given {}", g.name, g.inputs.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined()) scope.set(g.inputs[i].name, inputs[i]);

  auto it = prepared_.find(&g);
  if (it == prepared_.end()) {
    prepare(g);
    it = prepared_.find(&g);
  }
  const PreparedGraph& p = it->second;
  SubgraphRunner runner = [&](const Graph& body, const std::vector<Tensor>& in) {
    return run_graph(body, in, &scope);
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    std::vector<const Tensor*> ins;
    ins.reserve(node.inputs.size());
    for (const std::string& name : node.inputs) {
      if (name.empty()) {
        ins.push_back(nullptr);
        continue;
      }
      const Tensor* t = scope.find(name);
      if (t == nullptr) fail("{}: input '{}' has no value", node.describe(), name);
      ins.push_back(t);
    }
    OpContext ctx(node, std::move(ins), &runner);
    if (options_.profile) {
      // Self time: the nodes of this node's subgraphs record their own time, which is taken out
      // of this node's so the records add up to the run.
      uint64_t inner_ns = 0;
      uint64_t* outer = inner_ns_;
      inner_ns_ = &inner_ns;
      auto start = std::chrono::steady_clock::now();
      try {
        p.schemas[i]->run(ctx);
      } catch (...) {
        inner_ns_ = outer;
        throw;
      }
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
      inner_ns_ = outer;
      uint64_t elapsed = static_cast<uint64_t>(ns > 0 ? ns : 0);
      if (outer != nullptr) *outer += elapsed;
      auto [slot, inserted] = timing_index_.try_emplace(&node, timings_.size());
      if (inserted) timings_.push_back(NodeTiming{node.op_type, node.name, "reference", 0, 0});
      NodeTiming& t = timings_[slot->second];
      t.total_ns += elapsed > inner_ns ? elapsed - inner_ns : 0;
      t.calls += 1;
    } else {
      p.schemas[i]->run(ctx);
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      if (!ctx.outputs[o].defined())
        fail("{}: output '{}' was not produced", node.describe(), node.outputs[o]);
      live_bytes_ += ctx.outputs[o].nbytes();
      scope.set(node.outputs[o], std::move(ctx.outputs[o]));
    }
    peak_bytes_ = std::max(peak_bytes_, live_bytes_);
    for (size_t k = 0; k < p.frees[i].size(); ++k) {
      const std::string& name = p.frees[i][k];
      if (p.frees_counted[i][k])
        if (const Tensor* t = scope.find_local(name)) live_bytes_ -= t->nbytes();
      scope.erase(name);
    }
  }
  // A subgraph's own intermediates (its outputs included) die with its scope; the caller counts
  // the node outputs made from them.
  for (const Node& node : g.nodes)
    for (const std::string& o : node.outputs)
      if (!o.empty())
        if (const Tensor* t = scope.find_local(o)) live_bytes_ -= t->nbytes();
  std::vector<Tensor> out;
  for (const ValueInfo& v : g.outputs) {
    const Tensor* t = scope.find(v.name);
    if (t == nullptr) fail("graph output '{}' has no value", v.name);
    out.push_back(*t);
  }
  return out;
}

const Tensor& Executor::output(const std::string& name) const {
  for (size_t i = 0; i < model_.graph.outputs.size(); ++i)
    if (model_.graph.outputs[i].name == name) return output(i);
  fail("the model has no output named '{}'", name);
}

const Tensor& Executor::output(size_t index) const {
  if (index >= results_.size()) fail("output {} is not available (run first)", index);
  return results_[index];
}

}  // namespace nnaccel
