#include "ops/op_registry.hpp"

namespace nnaccel {

#define NNACCEL_FAMILY(f) void register_##f##_ops(OpRegistry& r);
#include "ops/families.def"
#undef NNACCEL_FAMILY

const OpRegistry& OpRegistry::instance() {
  static const OpRegistry registry = [] {
    OpRegistry r;
#define NNACCEL_FAMILY(f) register_##f##_ops(r);
#include "ops/families.def"
#undef NNACCEL_FAMILY
    return r;
  }();
  return registry;
}

void OpRegistry::add(OpSchema schema) {
  auto key = std::make_pair(schema.domain, schema.name);
  ops_[key] = std::move(schema);
}

const OpSchema* OpRegistry::find(const std::string& domain, const std::string& name) const {
  std::string d = domain == "ai.onnx" ? "" : domain;
  auto it = ops_.find({d, name});
  return it == ops_.end() ? nullptr : &it->second;
}

std::vector<const OpSchema*> OpRegistry::all() const {
  std::vector<const OpSchema*> v;
  for (const auto& [k, s] : ops_) v.push_back(&s);
  return v;
}

const Tensor& OpContext::input(int i) const {
  if (!has_input(i)) fail("input {} is missing", i);
  return *inputs_[static_cast<size_t>(i)];
}

std::vector<Tensor> OpContext::run_subgraph(const Graph& body,
                                            const std::vector<Tensor>& inputs) const {
  if (runner_ == nullptr) fail("subgraphs cannot run in this context");
  return (*runner_)(body, inputs);
}

const TypeInfo& InferContext::type(int i) const {
  if (!has_input(i)) fail("input {} is missing", i);
  return *types_[static_cast<size_t>(i)];
}

void infer_same_as_input0(InferContext& ctx) { ctx.outputs[0] = ctx.type(0); }

std::vector<Dim> broadcast_dims(const InferContext& ctx, const std::vector<const TypeInfo*>& in) {
  size_t rank = 0;
  for (const TypeInfo* t : in) rank = std::max(rank, t->dims.size());
  std::vector<Dim> out(rank, Dim{1, {}});
  for (const TypeInfo* t : in) {
    size_t off = rank - t->dims.size();
    for (size_t i = 0; i < t->dims.size(); ++i) {
      const Dim& d = t->dims[i];
      Dim& o = out[off + i];
      if (d.known() && d.value == 1) continue;
      if (o.known() && o.value == 1) {
        o = d;
      } else if (d.known() && o.known()) {
        if (d.value != o.value)
          ctx.fail("cannot broadcast dimension {} with {} (axis {} of the result)", o.value,
                   d.value, off + i);
      } else if (!o.known() && d.known()) {
        o = d;  // the other side must be d or 1; d is the better guess
      } else if (!o.known() && !d.known() && o.param != d.param) {
        o = Dim{};
      }
    }
  }
  return out;
}

namespace {
void infer_broadcast(InferContext& ctx, DType out_dtype) {
  std::vector<const TypeInfo*> in;
  bool all_shapes = true;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    in.push_back(&ctx.type(i));
    all_shapes = all_shapes && ctx.type(i).has_shape;
  }
  TypeInfo t;
  t.dtype = out_dtype;
  if (all_shapes) {
    t.has_shape = true;
    t.dims = broadcast_dims(ctx, in);
  }
  ctx.outputs[0] = t;
}
}  // namespace

void infer_broadcast_same_dtype(InferContext& ctx) { infer_broadcast(ctx, ctx.type(0).dtype); }
void infer_broadcast_bool(InferContext& ctx) { infer_broadcast(ctx, DType::boolean); }

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      fail("cannot broadcast shapes {} and {}", shape_str(a), shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace nnaccel
