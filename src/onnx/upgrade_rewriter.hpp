#pragma once
// Internal to the legacy opset upgrade (legacy_upgrade*.cpp): a graph being rewritten node by node
// into its canonical-opset form. Rules read each legacy node and emit one or more canonical nodes
// in its place; new constants become initializers named after the node they serve.
//
// The rewriter tracks what is known about each value (dtype, rank, constant contents) as nodes are
// emitted, using the registered shape functions, so rules can pick the simple static rewrite when
// ranks are known and fall back to a rank-agnostic form (Shape/Reshape subgraphs that constant
// folding later removes) when they are not.
#include <map>
#include <string>
#include <set>
#include <vector>

#include "nnaccel/graph.hpp"

namespace nnaccel::upgrade {

// Every value name used anywhere in the model (all graphs), so new names never shadow old ones.
using NameTable = std::set<std::string>;

class Rewriter {
 public:
  // parent: the rewriter of the enclosing graph (whose values a subgraph may read), or null.
  Rewriter(Graph& graph, int64_t opset, NameTable& names, const Rewriter* parent);

  int64_t opset() const { return opset_; }
  Graph& graph() { return graph_; }

  // Rewrites every node of the graph (subgraphs first) and replaces graph().nodes.
  void run();

  // A value name not used anywhere in the model, derived from base.
  std::string fresh(const std::string& base);

  // Appends a node to the output and records what is known about its outputs.
  void emit(Node n);
  // Emits a single-output node named after `base` and returns its output name.
  std::string add(const std::string& op, std::vector<std::string> inputs,
                  std::vector<Attribute> attrs, const std::string& base);
  // Emits a node with the given output names (a rule's last node keeps the original outputs).
  void add_named(const std::string& op, std::vector<std::string> inputs,
                 std::vector<std::string> outputs, std::vector<Attribute> attrs,
                 const std::string& name);

  // A new initializer holding t; returns its name.
  std::string constant(const std::string& base, Tensor t);
  std::string const_i64(const std::string& base, const std::vector<int64_t>& values);
  std::string const_i64_scalar(const std::string& base, int64_t value);
  // A constant of `ref`'s element type holding `values` with the given shape: an initializer when
  // ref's dtype is known, otherwise an f64 initializer and a CastLike to ref.
  std::string constant_like(const std::string& base, const std::vector<double>& values,
                            const Shape& shape, const std::string& ref);
  // B reshaped so that, under numpy broadcasting against a tensor of rank `target_rank`
  // (-1: the rank of `target`), its dims line up starting at axis `axis` (legacy
  // broadcast=1/axis semantics: B gets trailing 1s). Static when ranks are known, otherwise a
  // Shape/ConstantOfShape/Concat/Reshape subgraph.
  std::string align_at_axis(const std::string& b, int64_t axis, const std::string& target,
                            const std::string& base, const Node& node);

  // What is known about a value (null / -1 / undefined when unknown).
  const TypeInfo* type(const std::string& name) const;
  int64_t rank(const std::string& name) const;
  DType dtype(const std::string& name) const;
  // Contents of a value known at load time: an initializer (not a graph input) or a Constant.
  const Tensor* value(const std::string& name) const;

 private:
  void infer(const Node& n);
  void upgrade_subgraphs(Node& n);
  const TypeInfo* find_type(const std::string& name) const;  // this graph, then enclosing ones

  Graph& graph_;
  int64_t opset_;
  const Rewriter* parent_;
  NameTable& names_;
  std::map<std::string, TypeInfo> types_;
  std::map<std::string, Tensor> values_;
  std::vector<Node> out_;
};

// A rule rewrites one legacy node; it must emit the node's replacement (possibly several nodes)
// producing the node's original output names.
using Rule = void (*)(Node n, Rewriter& rw);

struct RuleEntry {
  const char* op;
  int64_t before;  // applies to models whose default opset is below this
  Rule rule;
};

// The rule tables, one per file.
const std::vector<RuleEntry>& input_rules();        // attributes that became inputs
const std::vector<RuleEntry>& semantic_rules();     // broadcast, coercion, attribute changes
const std::vector<RuleEntry>& replaced_op_rules();  // removed ops rewritten into others

// The name rules derive new value names from: the node's first output (unique in the model).
std::string base_name(const Node& n);
// Throws Error unless the node has between lo and hi inputs (empty names count).
void expect_inputs(const Node& n, size_t lo, size_t hi);

// Attribute builders.

}  // namespace nnaccel::upgrade
