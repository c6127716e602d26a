#pragma once
// What the rewriting passes (fusions, recognizers) ask of a graph while matching: who produces
// and who reads a value, its inferred type, whether it is a constant, and the one way they
// remove matched nodes. A GraphView is a snapshot: rebuild it after changing the graph.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nnaccel/graph.hpp"

namespace nnaccel::passes_detail {

inline bool is_op(const Node& n, const char* op) { return n.domain.empty() && n.op_type == op; }

class GraphView {
 public:
  explicit GraphView(const Graph& g);

  const Graph& graph() const { return g_; }
  // The node writing `name`, or null for inputs, initializers and unknown names.
  const Node* producer(const std::string& name) const;
  int producer_index(const std::string& name) const;  // -1 when none
  // The index of the one node that reads `name`, when it is read exactly once (a node reading it
  // twice counts twice; graph outputs and subgraph reads count) ; -1 otherwise.
  int sole_reader(const std::string& name) const;
  int read_count(const std::string& name) const;
  // Top-level nodes reading `name` (each once).
  const std::vector<size_t>& readers(const std::string& name) const;
  // Inferred type, or null when shape inference did not get it (or failed on the graph).
  const TypeInfo* type(const std::string& name) const;
  bool is_f32(const std::string& name) const;
  // A non-overridable initializer, or null.
  const Tensor* constant(const std::string& name) const;
  // The value of a constant with one element, converted to double.
  std::optional<double> scalar(const std::string& name) const;

 private:
  const Graph& g_;
  std::map<std::string, size_t> producer_;
  std::map<std::string, int> reads_;
  std::map<std::string, std::vector<size_t>> readers_;
  std::map<std::string, TypeInfo> types_;
};

// Both shapes known to the same rank with equal dims (equal sizes, or the same symbolic name).
bool same_shape(const TypeInfo& a, const TypeInfo& b);
// `operand` broadcasts (numpy rules) into `target` without changing it: every dim of the operand
// is 1 or equal to the target's. Needs both shapes known (dims may be symbolic).
bool broadcasts_into(const TypeInfo& operand, const TypeInfo& target);
// The values of a constant operand of a channel-wise op on a rank-`rank` NC... tensor with
// `channels` channels, one per channel: a single value ([], [1], [1, 1, 1]...) repeated, or C
// values laid along axis 1 ([C, 1, 1], [1, C, 1, 1]). nullopt for any other shape or dtype.
std::optional<std::vector<float>> per_channel_values(const Tensor& t, int64_t channels,
                                                     size_t rank);
// Whether `v` is within a relative 1e-4 of `expected` (exporters round constants to float).
bool near(double v, double expected);
// The other input of a two-input node, given one of them; "" when `one` is not an input.
std::string other_input(const Node& n, const std::string& one);

// Removes the nodes marked dead and the value_info of values no longer produced, then restores
// topological order (fused nodes may read values produced after their position).
void erase_nodes(Graph& g, const std::vector<bool>& dead);

}  // namespace nnaccel::passes_detail
