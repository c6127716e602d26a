#include "ir/passes/pattern.hpp"

#include <cmath>

#include "ir/passes/passes.hpp"
#include "ir/shape_inference.hpp"
#include "ir/verifier.hpp"
#include "nnaccel/error.hpp"

namespace nnaccel::passes_detail {

GraphView::GraphView(const Graph& g) : g_(g), reads_(read_counts(g)) {
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& n = g.nodes[k];
    for (const std::string& o : n.outputs)
      if (!o.empty()) producer_[o] = k;
    std::set<std::string> seen;
    for (const std::string& i : n.inputs)
      if (!i.empty() && seen.insert(i).second) readers_[i].push_back(k);
  }
  // Without types the passes only skip rewrites: a graph shape inference rejects is left as is.
  try {
    types_ = infer_shapes(g).types;
  } catch (const Error&) {
    types_.clear();
  }
}

const Node* GraphView::producer(const std::string& name) const {
  auto it = producer_.find(name);
  return it == producer_.end() ? nullptr : &g_.nodes[it->second];
}

int GraphView::producer_index(const std::string& name) const {
  auto it = producer_.find(name);
  return it == producer_.end() ? -1 : static_cast<int>(it->second);
}

int GraphView::read_count(const std::string& name) const {
  auto it = reads_.find(name);
  return it == reads_.end() ? 0 : it->second;
}

int GraphView::sole_reader(const std::string& name) const {
  if (read_count(name) != 1) return -1;
  auto it = readers_.find(name);
  // The one read may come from a subgraph or the graph outputs: no top-level reader then.
  if (it == readers_.end() || it->second.size() != 1) return -1;
  return static_cast<int>(it->second[0]);
}

const std::vector<size_t>& GraphView::readers(const std::string& name) const {
  static const std::vector<size_t> none;
  auto it = readers_.find(name);
  return it == readers_.end() ? none : it->second;
}

const TypeInfo* GraphView::type(const std::string& name) const {
  auto it = types_.find(name);
  if (it != types_.end()) return &it->second;
  return nullptr;
}

bool GraphView::is_f32(const std::string& name) const {
  const TypeInfo* t = type(name);
  return t != nullptr && t->dtype == DType::f32;
}

const Tensor* GraphView::constant(const std::string& name) const {
  if (!is_constant_initializer(g_, name)) return nullptr;
  return &g_.initializers.at(name);
}

std::optional<double> GraphView::scalar(const std::string& name) const {
  const Tensor* t = constant(name);
  if (t == nullptr || t->numel() != 1) return std::nullopt;
  return t->at_f64(0);
}

bool same_shape(const TypeInfo& a, const TypeInfo& b) {
  if (!a.has_shape || !b.has_shape || a.dims.size() != b.dims.size()) return false;
  for (size_t i = 0; i < a.dims.size(); ++i) {
    const Dim &x = a.dims[i], &y = b.dims[i];
    if (x.known() ? x.value != y.value : (x.param.empty() || x.param != y.param)) return false;
  }
  return true;
}

bool broadcasts_into(const TypeInfo& operand, const TypeInfo& target) {
  if (!operand.has_shape || !target.has_shape || operand.dims.size() > target.dims.size())
    return false;
  const size_t off = target.dims.size() - operand.dims.size();
  for (size_t i = 0; i < operand.dims.size(); ++i) {
    const Dim &o = operand.dims[i], &t = target.dims[off + i];
    if (o.known() && o.value == 1) continue;
    if (o.known() ? o.value != t.value : (o.param.empty() || o.param != t.param)) return false;
  }
  return true;
}

std::optional<std::vector<float>> per_channel_values(const Tensor& t, int64_t channels,
                                                     size_t rank) {
  const size_t r = static_cast<size_t>(t.rank());
  if (t.dtype() != DType::f32 || r > rank) return std::nullopt;
  std::vector<float> v(static_cast<size_t>(channels));
  if (t.numel() == 1) {
    std::fill(v.begin(), v.end(), t.data<float>()[0]);
    return v;
  }
  if (t.numel() != channels || r + 1 < rank) return std::nullopt;
  for (size_t d = 0; d < rank; ++d) {
    const int64_t dim = d + r < rank ? 1 : t.shape()[d + r - rank];
    if (dim != (d == 1 ? channels : 1)) return std::nullopt;
  }
  std::copy(t.data<float>(), t.data<float>() + channels, v.begin());
  return v;
}

bool near(double v, double expected) {
  return std::fabs(v - expected) <= 1e-4 * std::fabs(expected);
}

std::string other_input(const Node& n, const std::string& one) {
  if (n.inputs.size() != 2) return "";
  if (n.inputs[0] == one) return n.inputs[1];
  if (n.inputs[1] == one) return n.inputs[0];
  return "";
}

void erase_nodes(Graph& g, const std::vector<bool>& dead) {
  std::vector<Node> kept;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (!dead[k]) kept.push_back(std::move(g.nodes[k]));
  g.nodes = std::move(kept);
  std::set<std::string> produced;
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs) produced.insert(o);
  for (const ValueInfo& v : g.inputs) produced.insert(v.name);
  std::erase_if(g.value_info, [&](const ValueInfo& v) { return !produced.count(v.name); });
  verify_graph(g);
}

}  // namespace nnaccel::passes_detail
