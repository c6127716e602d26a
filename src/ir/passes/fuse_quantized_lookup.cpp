// DequantizeLinear -> elementwise float ops of that one value (and scalar constants) ->
// QuantizeLinear -> ai.nnaccel QLookup. An int8 input has 256 values, so the whole region is a
// table of 256 int8 results, computed here by the region's own reference kernels: the lookup gives
// exactly what the QDQ model gives when nnaccel's reference kernels run it. Activations that the
// int8 kernels cannot fuse (HardSwish, Paddle's x * clip(x + 3, 0, 6) / 6, Sigmoid, a scalar
// affine after an activation) then cost one byte-to-byte pass instead of a dequantize, a few
// float passes and a quantize.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "ir/graph_walk.hpp"
#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

// Elementwise ONNX ops whose result at an element depends on that element alone (given scalar
// other operands).
bool elementwise(const Node& n) {
  static const std::set<std::string> ops = {
      "Relu",     "Sigmoid",  "Tanh", "HardSigmoid", "HardSwish", "LeakyRelu", "Elu",  "Selu",
      "Softplus", "Softsign", "Exp",  "Log",         "Neg",       "Abs",       "Sqrt", "Reciprocal",
      "Erf",      "Floor",    "Ceil", "Round",       "Clip",      "Identity",  "Add",  "Sub",
      "Mul",      "Div",      "Pow",  "Max",         "Min"};
  return n.domain.empty() && ops.count(n.op_type) > 0 && n.outputs.size() == 1;
}

// A per-tensor (de)quantization with constant scalar scale and zero point; its integer type.
std::optional<DType> per_tensor(const GraphView& v, const Node& n, DType zp_default) {
  if (n.inputs.size() < 2) return std::nullopt;
  const Tensor* s = v.constant(n.inputs[1]);
  if (s == nullptr || s->dtype() != DType::f32 || s->numel() != 1) return std::nullopt;
  if (n.attr_int("axis", 1) != 1 && s->rank() > 0) return std::nullopt;
  if (n.inputs.size() < 3 || n.inputs[2].empty()) return zp_default;
  const Tensor* z = v.constant(n.inputs[2]);
  if (z == nullptr || z->numel() != 1) return std::nullopt;
  return z->dtype();
}

bool int8(DType t) { return t == DType::u8 || t == DType::i8; }

struct Region {
  size_t dq = 0, q = 0;
  std::vector<size_t> nodes;  // in graph order
};

// The region ending at the QuantizeLinear at `qi`, when it qualifies.
std::optional<Region> region_into(const GraphView& v, size_t qi) {
  const Graph& g = v.graph();
  const Node& q = g.nodes[qi];
  std::optional<DType> qt = per_tensor(v, q, DType::u8);
  if (!qt || !int8(*qt) || q.outputs.size() != 1) return std::nullopt;
  Region r;
  r.q = qi;
  std::string source;
  std::set<size_t> nodes;
  std::vector<std::string> pending = {q.inputs[0]};
  while (!pending.empty()) {
    const std::string name = pending.back();
    pending.pop_back();
    if (name == source) continue;
    const int p = v.producer_index(name);
    if (p < 0) return std::nullopt;  // a graph input or an initializer in a non-scalar place
    const Node& n = g.nodes[static_cast<size_t>(p)];
    if (is_op(n, "DequantizeLinear")) {
      std::optional<DType> t = per_tensor(v, n, DType::u8);
      const TypeInfo* x = v.type(n.inputs[0]);
      if (!source.empty() || !t || x == nullptr || !int8(x->dtype) || x->dtype != *t ||
          v.constant(n.inputs[0]) != nullptr)
        return std::nullopt;
      source = name;
      r.dq = static_cast<size_t>(p);
      continue;
    }
    if (!elementwise(n)) return std::nullopt;
    if (!nodes.insert(static_cast<size_t>(p)).second) continue;
    for (const std::string& in : n.inputs) {
      if (in.empty()) continue;
      if (const Tensor* c = v.constant(in)) {
        if (c->numel() != 1 || c->dtype() != DType::f32) return std::nullopt;
        continue;
      }
      pending.push_back(in);
    }
  }
  if (source.empty() || nodes.empty()) return std::nullopt;
  // Values made inside are read inside only; the last one by the QuantizeLinear alone.
  for (size_t k : nodes) {
    const std::string& out = g.nodes[k].outputs[0];
    if (out == q.inputs[0]) {
      if (v.sole_reader(out) != static_cast<int>(qi)) return std::nullopt;
      continue;
    }
    if (v.read_count(out) != static_cast<int>(v.readers(out).size())) return std::nullopt;
    for (size_t reader : v.readers(out))
      if (!nodes.count(reader)) return std::nullopt;
  }
  r.nodes.assign(nodes.begin(), nodes.end());
  return r;
}

// The region's result for each of the 256 integer inputs, by the reference kernels.
std::optional<Tensor> table_of(const GraphView& v, const Region& r) {
  const Graph& g = v.graph();
  const Node& dq = g.nodes[r.dq];
  const DType in_type = v.type(dq.inputs[0])->dtype;
  Tensor codes(in_type, {256});
  for (int i = 0; i < 256; ++i) {
    if (in_type == DType::u8) codes.data<uint8_t>()[i] = static_cast<uint8_t>(i);
    if (in_type == DType::i8) codes.data<int8_t>()[i] = static_cast<int8_t>(i - 128);
  }
  std::map<std::string, Tensor> values = {{dq.inputs[0], codes}};
  std::vector<size_t> order = {r.dq};
  order.insert(order.end(), r.nodes.begin(), r.nodes.end());
  order.push_back(r.q);
  const OpRegistry& reg = OpRegistry::instance();
  try {
    for (size_t k : order) {
      const Node& n = g.nodes[k];
      const OpSchema* schema = reg.find(n.domain, n.op_type);
      if (schema == nullptr || schema->run == nullptr || !schema->deterministic)
        return std::nullopt;
      std::vector<const Tensor*> ins;
      for (const std::string& in : n.inputs) {
        if (in.empty()) {
          ins.push_back(nullptr);
        } else if (auto it = values.find(in); it != values.end()) {
          ins.push_back(&it->second);
        } else {
          ins.push_back(v.constant(in));
        }
      }
      OpContext ctx(n, ins, nullptr);
      schema->run(ctx);
      values[n.outputs[0]] = ctx.outputs[0];
    }
  } catch (const Error&) {
    return std::nullopt;  // the model is wrong there: the unfused graph reports it
  }
  Tensor t = values.at(g.nodes[r.q].outputs[0]);
  if (t.numel() != 256 || !int8(t.dtype())) return std::nullopt;
  return t;
}

}  // namespace

int fuse_quantized_lookup(Model& m) {
  Graph& g = m.graph;
  const GraphView v(g);
  FreshNames names(g);
  std::vector<bool> dead(g.nodes.size(), false);
  std::vector<std::optional<Node>> replacement(g.nodes.size());
  int count = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (!is_op(g.nodes[k], "QuantizeLinear")) continue;
    std::optional<Region> r = region_into(v, k);
    if (!r || std::any_of(r->nodes.begin(), r->nodes.end(), [&](size_t n) { return dead[n]; }))
      continue;
    std::optional<Tensor> table = table_of(v, *r);
    if (!table) continue;
    const Node& q = g.nodes[k];
    Node lookup;
    lookup.domain = "ai.nnaccel";
    lookup.op_type = "QLookup";
    lookup.name = names.fresh(q.name.empty() ? "lookup" : q.name + "_lookup");
    const std::string table_name = names.fresh(lookup.name + "_table");
    g.initializers[table_name] = *table;
    lookup.inputs = {g.nodes[r->dq].inputs[0], table_name};
    lookup.outputs = q.outputs;
    replacement[k] = std::move(lookup);
    for (size_t n : r->nodes) dead[n] = true;
    ++count;
  }
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (replacement[k]) g.nodes[k] = std::move(*replacement[k]);
  erase_nodes(g, dead);
  return count;
}

}  // namespace nnaccel
