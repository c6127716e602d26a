#include "ir/shape_inference.hpp"

#include "core/check.hpp"
#include "ir/graph_walk.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

namespace {

constexpr int64_t kMaxFoldElements = 1 << 16;

// Declared and inferred types must agree on every dimension both know.
void check_consistent(const std::string& name, const TypeInfo& declared, const TypeInfo& inferred,
                      const Node& node) {
  if (declared.dtype != DType::undefined && inferred.dtype != DType::undefined &&
      declared.dtype != inferred.dtype)
    fail("{}: output '{}' is {} but is declared {}", node.describe(), name,
         dtype_name(inferred.dtype), dtype_name(declared.dtype));
  if (!declared.has_shape || !inferred.has_shape) return;
  if (declared.dims.size() != inferred.dims.size())
    fail("{}: output '{}' has rank {} but is declared with rank {}", node.describe(), name,
         inferred.dims.size(), declared.dims.size());
  for (size_t i = 0; i < declared.dims.size(); ++i)
    if (declared.dims[i].known() && inferred.dims[i].known() &&
        declared.dims[i].value != inferred.dims[i].value)
      fail("{}: output '{}' has dimension {} = {} but is declared {}", node.describe(), name, i,
           inferred.dims[i].value, declared.dims[i].value);
}

// Keeps what is known from both: inferred dims, filling unknown ones from the declaration.
TypeInfo merge(const TypeInfo& declared, const TypeInfo& inferred) {
  TypeInfo t = inferred;
  if (t.dtype == DType::undefined) t.dtype = declared.dtype;
  if (!t.has_shape) {
    t.has_shape = declared.has_shape;
    t.dims = declared.dims;
  } else if (declared.has_shape && declared.dims.size() == t.dims.size()) {
    for (size_t i = 0; i < t.dims.size(); ++i)
      if (!t.dims[i].known() && (declared.dims[i].known() || t.dims[i].param.empty()))
        t.dims[i] = declared.dims[i];
  }
  return t;
}

}  // namespace

ShapeInferenceResult infer_shapes(const Graph& g, const std::map<std::string, TypeInfo>& input_types,
                                  const std::map<std::string, TypeInfo>& outer_types) {
  ShapeInferenceResult r;
  r.types = outer_types;
  for (const ValueInfo& v : g.inputs) {
    auto it = input_types.find(v.name);
    r.types[v.name] = it != input_types.end() ? it->second : v.type;
  }
  for (const auto& [name, t] : g.initializers) {
    r.types[name] = TypeInfo::of(t.dtype(), t.shape());
    // An initializer that is also a graph input may be overridden by the caller.
    bool overridable = false;
    for (const ValueInfo& v : g.inputs) overridable = overridable || v.name == name;
    if (!overridable) r.constants[name] = t;
  }
  std::map<std::string, const TypeInfo*> declared;
  for (const ValueInfo& v : g.value_info) declared[v.name] = &v.type;
  for (const ValueInfo& v : g.outputs) declared[v.name] = &v.type;

  const OpRegistry& reg = OpRegistry::instance();
  for (const Node& node : g.nodes) {
    const OpSchema* schema = reg.find(node.domain, node.op_type);
    std::vector<const TypeInfo*> types;
    std::vector<const Tensor*> values;
    bool all_known = true;
    bool all_const = true;
    for (const std::string& in : node.inputs) {
      if (in.empty()) {
        types.push_back(nullptr);
        values.push_back(nullptr);
        continue;
      }
      auto it = r.types.find(in);
      const TypeInfo* t = it != r.types.end() ? &it->second : nullptr;
      if (t == nullptr || t->dtype == DType::undefined) all_known = false;
      types.push_back(t);
      auto c = r.constants.find(in);
      values.push_back(c != r.constants.end() ? &c->second : nullptr);
      if (c == r.constants.end()) all_const = false;
    }
    std::vector<TypeInfo> out(node.outputs.size());
    bool folded = false;
    if (schema != nullptr && all_known) {
      // Shape and Size of a fully known shape are constants.
      if (node.domain.empty() && (node.op_type == "Shape" || node.op_type == "Size") &&
          !types.empty() && types[0] != nullptr && types[0]->fully_known() && !all_const) {
        Shape s = types[0]->known_shape();
        {
          // Shape and Size read only the shape: a tensor without storage stands in.
          Tensor shape_only = Tensor::view(types[0]->dtype, s, nullptr, nullptr);
          OpContext ctx(node, {&shape_only}, nullptr);
          schema->run(ctx);
          for (size_t i = 0; i < out.size(); ++i) {
            out[i] = TypeInfo::of(ctx.outputs[i].dtype(), ctx.outputs[i].shape());
            r.constants[node.outputs[i]] = ctx.outputs[i];
          }
          folded = true;
        }
      }
      if (!folded && all_const && schema->deterministic && !has_subgraph(node)) {
        int64_t total = 0;
        for (const Tensor* v : values)
          if (v) total += v->numel();
        if (total <= kMaxFoldElements) {
          std::vector<const Tensor*> ins = values;
          OpContext ctx(node, ins, nullptr);
          schema->run(ctx);
          for (size_t i = 0; i < out.size(); ++i) {
            if (!ctx.outputs[i].defined()) continue;
            out[i] = TypeInfo::of(ctx.outputs[i].dtype(), ctx.outputs[i].shape());
            if (ctx.outputs[i].numel() <= kMaxFoldElements)
              r.constants[node.outputs[i]] = ctx.outputs[i];
          }
          folded = true;
        }
      }
      if (!folded && schema->infer != nullptr) {
        InferContext ctx(node, types, values);
        schema->infer(ctx);
        out = ctx.outputs;
      }
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const std::string& name = node.outputs[i];
      if (name.empty()) continue;
      auto d = declared.find(name);
      if (d != declared.end()) {
        check_consistent(name, *d->second, out[i], node);
        out[i] = merge(*d->second, out[i]);
      }
      r.types[name] = out[i];
    }
  }
  return r;
}

}  // namespace nnaccel
