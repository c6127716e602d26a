// LayerNorm as exporters below opset 17 write it -> LayerNormalization (opset 17):
//   d = x - ReduceMean(x); y = d / Sqrt(ReduceMean(d^2) + eps) [* gamma] [+ beta]
// with the reductions over the trailing axes (d^2 as Pow(d, 2) or d * d).
#include <algorithm>

#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

struct Match {
  std::vector<size_t> nodes;
  std::string x, out;
  int64_t axis = 0;
  float epsilon = 0.0f;
  Tensor scale, bias;  // of the normalized shape; bias undefined when absent
};

// The axes a keepdims ReduceMean reduces over, normalized for `rank`; empty when not known. At
// opset 17 (all the importer produces: it rejects newer files) the axes are an attribute; opset
// 18's axes input arrives here only from graphs built in code, which are left alone.
std::vector<int64_t> mean_axes(const Node& n, size_t rank) {
  if (n.attr_int("keepdims", 1) != 1 || n.inputs.size() != 1) return {};
  std::vector<int64_t> axes = n.attr_ints("axes");
  const int64_t r = static_cast<int64_t>(rank);
  for (int64_t& a : axes) {
    if (a < -r || a >= r) return {};
    if (a < 0) a += r;
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

const Node* sole(const GraphView& v, const std::string& value, const char* op, Match& m) {
  const int r = v.sole_reader(value);
  if (r < 0 || !is_op(v.graph().nodes[static_cast<size_t>(r)], op)) return nullptr;
  m.nodes.push_back(static_cast<size_t>(r));
  return &v.graph().nodes[static_cast<size_t>(r)];
}

// A constant f32 `t` broadcast to `norm` (the trailing dims of a rank-`rank` value), or an
// undefined tensor when it does not broadcast to exactly that.
Tensor expand_to(const Tensor& t, const Shape& norm, size_t rank) {
  if (t.dtype() != DType::f32 || static_cast<size_t>(t.rank()) > rank) return {};
  const size_t lead = rank - norm.size();
  const size_t off = rank - static_cast<size_t>(t.rank());
  std::vector<int64_t> strides(norm.size(), 0);
  int64_t stride = 1;
  for (size_t d = rank; d-- > off;) {
    const int64_t dim = t.shape()[d - off];
    if (d < lead) {
      if (dim != 1) return {};
      continue;
    }
    if (dim != 1 && dim != norm[d - lead]) return {};
    strides[d - lead] = dim == 1 ? 0 : stride;
    stride *= dim;
  }
  Tensor out(DType::f32, norm);
  std::vector<int64_t> index(norm.size(), 0);
  for (int64_t e = 0; e < out.numel(); ++e) {
    int64_t src = 0;
    for (size_t d = 0; d < norm.size(); ++d) src += index[d] * strides[d];
    out.data<float>()[e] = t.data<float>()[src];
    for (size_t d = norm.size(); d-- > 0;)
      if (++index[d] < norm[d])
        break;
      else
        index[d] = 0;
  }
  return out;
}

std::optional<Match> match_layernorm(const GraphView& v, size_t k) {
  const Graph& g = v.graph();
  const Node& mean = g.nodes[k];
  Match m{{k}, mean.inputs[0], "", 0, 0.0f, {}, {}};
  const TypeInfo* xt = v.type(m.x);
  if (xt == nullptr || xt->dtype != DType::f32 || !xt->has_shape || xt->dims.empty())
    return std::nullopt;
  const size_t rank = xt->dims.size();
  const std::vector<int64_t> axes = mean_axes(mean, rank);
  if (axes.empty()) return std::nullopt;
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] != static_cast<int64_t>(rank - axes.size() + i)) return std::nullopt;
  m.axis = axes.front();
  Shape norm;
  for (size_t d = static_cast<size_t>(m.axis); d < rank; ++d) {
    if (!xt->dims[d].known()) return std::nullopt;
    norm.push_back(xt->dims[d].value);
  }
  const Node* sub = sole(v, mean.outputs[0], "Sub", m);
  if (sub == nullptr || sub->inputs[0] != m.x || sub->inputs[1] != mean.outputs[0])
    return std::nullopt;
  // d is read by the square and by the final Div, and by nothing else.
  const std::string d = sub->outputs[0];
  const std::vector<size_t>& readers = v.readers(d);
  if (readers.size() != 2) return std::nullopt;
  const Node* square = nullptr;
  const Node* div = nullptr;
  int reads = 0;
  for (size_t r : readers) {
    const Node& n = g.nodes[r];
    if (is_op(n, "Pow") && n.inputs.size() == 2 && n.inputs[0] == d && v.scalar(n.inputs[1]) &&
        *v.scalar(n.inputs[1]) == 2.0) {
      square = &n;
      reads += 1;
    } else if (is_op(n, "Mul") && n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] == d) {
      square = &n;
      reads += 2;
    } else if (is_op(n, "Div") && n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] != d) {
      div = &n;
      reads += 1;
    }
    m.nodes.push_back(r);
  }
  if (square == nullptr || div == nullptr || reads != v.read_count(d)) return std::nullopt;
  const Node* var = sole(v, square->outputs[0], "ReduceMean", m);
  if (var == nullptr || var->inputs[0] != square->outputs[0] || mean_axes(*var, rank) != axes)
    return std::nullopt;
  const Node* add_eps = sole(v, var->outputs[0], "Add", m);
  if (add_eps == nullptr) return std::nullopt;
  std::optional<double> eps = v.scalar(other_input(*add_eps, var->outputs[0]));
  if (!eps || *eps < 0) return std::nullopt;
  m.epsilon = static_cast<float>(*eps);
  const Node* sqrt = sole(v, add_eps->outputs[0], "Sqrt", m);
  if (sqrt == nullptr || v.sole_reader(sqrt->outputs[0]) < 0 || div->inputs[1] != sqrt->outputs[0])
    return std::nullopt;
  m.out = div->outputs[0];
  // Optional gamma, then optional beta: constants that broadcast to the normalized shape.
  if (const Node* mul = sole(v, m.out, "Mul", m)) {
    const Tensor* gamma = v.constant(other_input(*mul, m.out));
    if (gamma != nullptr) m.scale = expand_to(*gamma, norm, rank);
    if (!m.scale.defined()) {
      m.nodes.pop_back();
    } else {
      m.out = mul->outputs[0];
    }
  }
  if (const Node* add = sole(v, m.out, "Add", m)) {
    const Tensor* beta = v.constant(other_input(*add, m.out));
    if (beta != nullptr) m.bias = expand_to(*beta, norm, rank);
    if (!m.bias.defined()) {
      m.nodes.pop_back();
    } else {
      m.out = add->outputs[0];
    }
  }
  if (!m.scale.defined()) {
    m.scale = Tensor(DType::f32, norm);
    for (int64_t i = 0; i < m.scale.numel(); ++i) m.scale.data<float>()[i] = 1.0f;
  }
  return m;
}

}  // namespace

void recognize_layernorm(Model& m) {
  Graph& g = m.graph;
  std::vector<Match> matches;
  {
    GraphView v(g);
    std::vector<bool> claimed(g.nodes.size(), false);
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      if (!is_op(g.nodes[k], "ReduceMean") || g.nodes[k].outputs.size() != 1) continue;
      std::optional<Match> match = match_layernorm(v, k);
      if (!match) continue;
      bool free = true;
      for (size_t i : match->nodes) free = free && !claimed[i];
      if (!free) continue;
      for (size_t i : match->nodes) claimed[i] = true;
      matches.push_back(std::move(*match));
    }
  }
  if (matches.empty()) return;
  std::vector<bool> dead(g.nodes.size(), false);
  for (Match& match : matches) {
    for (size_t i : match.nodes) dead[i] = true;
    const size_t at = match.nodes.front();
    Node ln;
    ln.op_type = "LayerNormalization";
    ln.name = g.nodes[at].name + "_layernorm";
    const std::string scale = unique_name(g, match.out + "_scale");
    g.initializers[scale] = match.scale;
    ln.inputs = {match.x, scale};
    if (match.bias.defined()) {
      const std::string bias = unique_name(g, match.out + "_bias");
      g.initializers[bias] = match.bias;
      ln.inputs.push_back(bias);
    }
    ln.outputs = {match.out};
    ln.attrs = {Attribute::of_int("axis", match.axis),
                Attribute::of_float("epsilon", match.epsilon)};
    g.nodes[at] = std::move(ln);
    dead[at] = false;
  }
  erase_nodes(g, dead);
}

}  // namespace nnaccel
