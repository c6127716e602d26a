// Legacy opset upgrade: the driver. Walks every graph of the model in topological order and hands
// each default-domain node to the rule for its op (see legacy_rules_*.cpp), tracking value types
// with the registered shape functions so rules can choose static rewrites.
#include "onnx/legacy_upgrade.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <set>

#include "core/cast.hpp"
#include "core/check.hpp"
#include "ir/verifier.hpp"
#include "onnx/upgrade_rewriter.hpp"
#include "ir/graph_walk.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

namespace upgrade {

std::string base_name(const Node& n) {
  for (const std::string& o : n.outputs)
    if (!o.empty()) return o;
  return n.name.empty() ? n.op_type : n.name;
}

void expect_inputs(const Node& n, size_t lo, size_t hi) {
  if (n.inputs.size() < lo || n.inputs.size() > hi) {
    if (lo == hi) fail("{}: expects {} inputs, has {}", n.describe(), lo, n.inputs.size());
    fail("{}: expects {} to {} inputs, has {}", n.describe(), lo, hi, n.inputs.size());
  }
  for (size_t i = 0; i < lo; ++i)
    if (n.inputs[i].empty()) fail("{}: input {} is required", n.describe(), i);
}

namespace {

const std::map<std::string, RuleEntry>& rule_table() {
  static const std::map<std::string, RuleEntry> table = [] {
    std::map<std::string, RuleEntry> t;
    for (const auto* list : {&input_rules(), &semantic_rules(), &replaced_op_rules()})
      for (const RuleEntry& e : *list) {
        bool fresh = t.emplace(e.op, e).second;
        assert(fresh && "one rule per op: the rule handles every older version of that op");
        (void)fresh;
      }
    return t;
  }();
  return table;
}

}  // namespace

Rewriter::Rewriter(Graph& graph, int64_t opset, NameTable& names, const Rewriter* parent)
    : graph_(graph), opset_(opset), parent_(parent), names_(names) {
  // Declared types first, so that inputs and initializers (the facts) override them.
  for (const auto* list : {&graph.value_info, &graph.outputs})
    for (const ValueInfo& v : *list)
      if (v.type.dtype != DType::undefined) types_[v.name] = v.type;
  std::set<std::string> input_names;
  for (const ValueInfo& v : graph.inputs) {
    types_[v.name] = v.type;  // (a subgraph input shadows an outer value of the same name)
    input_names.insert(v.name);
  }
  for (const auto& [name, t] : graph.initializers) {
    if (!input_names.count(name)) {
      types_[name] = TypeInfo::of(t.dtype(), t.shape());
      values_[name] = t;
    } else if (types_[name].dtype == DType::undefined) {
      types_[name] = TypeInfo::of(t.dtype(), t.shape());
    }
  }
}

std::string Rewriter::fresh(const std::string& base) {
  std::string b = base.empty() ? std::string("nnaccel") : base;
  std::string name = b;
  for (int k = 1; names_.count(name); ++k) name = fmt::format("{}_{}", b, k);
  names_.insert(name);
  return name;
}

const TypeInfo* Rewriter::find_type(const std::string& name) const {
  for (const Rewriter* r = this; r != nullptr; r = r->parent_) {
    auto it = r->types_.find(name);
    if (it != r->types_.end()) return &it->second;
  }
  return nullptr;
}

const TypeInfo* Rewriter::type(const std::string& name) const {
  const TypeInfo* t = find_type(name);
  return t == nullptr || t->dtype == DType::undefined ? nullptr : t;
}

int64_t Rewriter::rank(const std::string& name) const {
  const TypeInfo* t = find_type(name);
  return t == nullptr || !t->has_shape ? -1 : static_cast<int64_t>(t->dims.size());
}

DType Rewriter::dtype(const std::string& name) const {
  const TypeInfo* t = find_type(name);
  return t == nullptr ? DType::undefined : t->dtype;
}

const Tensor* Rewriter::value(const std::string& name) const {
  for (const Rewriter* r = this; r != nullptr; r = r->parent_) {
    auto it = r->values_.find(name);
    if (it != r->values_.end()) return &it->second;
    if (r->types_.count(name)) return nullptr;  // defined here, not as a constant
  }
  return nullptr;
}

void Rewriter::infer(const Node& n) {
  if (n.domain.empty() && n.op_type == "Constant" && n.outputs.size() == 1) {
    const Attribute* v = n.attr("value");
    if (v != nullptr && v->kind == Attribute::Kind::t && v->t.defined()) {
      values_[n.outputs[0]] = v->t;
      types_[n.outputs[0]] = TypeInfo::of(v->t.dtype(), v->t.shape());
      return;
    }
  }
  const OpSchema* s = OpRegistry::instance().find(n.domain, n.op_type);
  if (s == nullptr || s->infer == nullptr) return;
  for (const Attribute& a : n.attrs)
    if (a.g || !a.graphs.empty()) return;  // subgraph ops: left to full shape inference
  std::vector<const TypeInfo*> types;
  std::vector<const Tensor*> values;
  for (const std::string& in : n.inputs) {
    if (in.empty()) {
      types.push_back(nullptr);
      values.push_back(nullptr);
      continue;
    }
    const TypeInfo* t = type(in);
    if (t == nullptr) return;
    types.push_back(t);
    values.push_back(value(in));
  }
  InferContext ctx(n, types, values);
  try {
    s->infer(ctx);
  } catch (const std::exception&) {
    // Inconsistent shapes are reported by shape inference at session creation; here a value
    // whose type cannot be inferred is simply unknown (and rules take their dynamic form).
    return;
  }
  for (size_t i = 0; i < n.outputs.size() && i < ctx.outputs.size(); ++i)
    if (!n.outputs[i].empty() && ctx.outputs[i].dtype != DType::undefined)
      types_[n.outputs[i]] = ctx.outputs[i];
}

void Rewriter::emit(Node n) {
  infer(n);
  out_.push_back(std::move(n));
}

std::string Rewriter::add(const std::string& op, std::vector<std::string> inputs,
                          std::vector<Attribute> attrs, const std::string& base) {
  Node n;
  n.op_type = op;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  std::string out = fresh(base);
  n.name = out;
  n.outputs = {out};
  emit(std::move(n));
  return out;
}

void Rewriter::add_named(const std::string& op, std::vector<std::string> inputs,
                         std::vector<std::string> outputs, std::vector<Attribute> attrs,
                         const std::string& name) {
  Node n;
  n.op_type = op;
  n.name = name;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attrs = std::move(attrs);
  emit(std::move(n));
}

std::string Rewriter::constant(const std::string& base, Tensor t) {
  std::string name = fresh(base);
  types_[name] = TypeInfo::of(t.dtype(), t.shape());
  values_[name] = t;
  graph_.initializers[name] = std::move(t);
  return name;
}

std::string Rewriter::const_i64(const std::string& base, const std::vector<int64_t>& values) {
  // (Not Tensor::from_i64: values may be empty, and memcpy from an empty vector's null data is UB.)
  Tensor t(DType::i64, {static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return constant(base, t);
}

std::string Rewriter::const_i64_scalar(const std::string& base, int64_t value) {
  return constant(base, Tensor::scalar_i64(value));
}

std::string Rewriter::constant_like(const std::string& base, const std::vector<double>& values,
                                    const Shape& shape, const std::string& ref) {
  Tensor t(DType::f64, shape);
  if (static_cast<size_t>(t.numel()) != values.size())
    fail("internal: constant '{}' has {} values for shape {}", base, values.size(),
         shape_str(shape));
  std::copy(values.begin(), values.end(), t.data<double>());
  DType dt = dtype(ref);
  if (dt != DType::undefined && dt != DType::string) return constant(base, cast_tensor(t, dt));
  std::string c = constant(base + "_f64", t);
  return add("CastLike", {c, ref}, {}, base);
}

std::string Rewriter::align_at_axis(const std::string& b, int64_t axis, const std::string& target,
                                    const std::string& base, const Node& node) {
  int64_t rb = rank(b);
  int64_t rt = rank(target);
  // Ranks are small; this bound keeps the arithmetic below far from overflow.
  constexpr int64_t kMaxAxis = int64_t{1} << 20;
  if (axis < -kMaxAxis || axis > kMaxAxis)
    fail("{}: broadcast axis {} is out of range", node.describe(), axis);
  if (rb >= 0 && rt >= 0) {
    int64_t ax = axis < 0 ? axis + rt : axis;
    int64_t trailing = rt - ax - rb;
    if (ax < 0 || trailing < 0)
      fail("{}: broadcast axis {} does not fit a rank-{} input beside a rank-{} input",
           node.describe(), axis, rb, rt);
    if (trailing == 0) return b;
    const Tensor* c = value(b);
    Shape shape;
    if (c != nullptr) shape = c->shape();
    std::vector<int64_t> axes;
    for (int64_t i = 0; i < trailing; ++i) {
      axes.push_back(rb + i);
      shape.push_back(1);
    }
    if (c != nullptr) return constant(base, c->reshaped(shape));
    return add("Unsqueeze", {b, const_i64(base + "_axes", axes)}, {}, base);
  }
  // Unknown ranks: new_shape = concat(shape(b), ones(rank(target) - axis - rank(b))).
  // With a negative axis the count is -axis - rank(b), independent of the target.
  std::string shape_b = add("Shape", {b}, {}, base + "_shape");
  std::string count;
  if (axis < 0) {
    std::string rank_b = add("Shape", {shape_b}, {}, base + "_rank");
    count = add("Sub", {const_i64(base + "_neg_axis", {-axis}), rank_b}, {}, base + "_count");
  } else {
    std::string shape_t = add("Shape", {target}, {}, base + "_target_shape");
    std::string rank_t = add("Shape", {shape_t}, {}, base + "_target_rank");
    std::string lead;
    if (rb >= 0) {
      lead = const_i64(base + "_lead", {axis + rb});
    } else {
      std::string rank_b = add("Shape", {shape_b}, {}, base + "_rank");
      lead = add("Add", {rank_b, const_i64(base + "_axis", {axis})}, {}, base + "_lead");
    }
    count = add("Sub", {rank_t, lead}, {}, base + "_count");
  }
  Attribute one;
  one.name = "value";
  one.kind = Attribute::Kind::t;
  one.t = Tensor::from_i64({1}, {1});
  std::string ones = add("ConstantOfShape", {count}, {one}, base + "_ones");
  std::string new_shape =
      add("Concat", {shape_b, ones}, {Attribute::of_int("axis", 0)}, base + "_new_shape");
  return add("Reshape", {b, new_shape}, {}, base);
}

void Rewriter::upgrade_subgraphs(Node& n) {
  for (Attribute& a : n.attrs) {
    if (a.g) {
      Rewriter sub(*a.g, opset_, names_, this);
      sub.run();
    }
    for (auto& g : a.graphs) {
      Rewriter sub(*g, opset_, names_, this);
      sub.run();
    }
  }
}

void Rewriter::run() {
  const auto& table = rule_table();
  std::vector<Node> nodes = std::move(graph_.nodes);
  graph_.nodes.clear();
  for (Node& n : nodes) {
    upgrade_subgraphs(n);
    if (n.domain.empty()) {
      // An optimization hint of opset 1 that no later op has; some exporters kept writing it.
      n.erase_attr("consumed_inputs");
      auto it = table.find(n.op_type);
      if (it != table.end() && opset_ < it->second.before) {
        it->second.rule(std::move(n), *this);
        continue;
      }
    }
    emit(std::move(n));
  }
  graph_.nodes = std::move(out_);
  out_.clear();
}

}  // namespace upgrade

void upgrade_to_canonical_opset(Model& model, int64_t from_opset) {
  if (from_opset < kCanonicalOpset) {
    upgrade::NameTable names;
    collect_value_names(model.graph, names);
    upgrade::Rewriter rw(model.graph, from_opset, names, nullptr);
    rw.run();
  }
  model.opsets[""] = kCanonicalOpset;
}

}  // namespace nnaccel
