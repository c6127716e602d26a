#include "train/autograd/autograd.hpp"

#include <set>

#include "core/check.hpp"
#include "ir/shape_inference.hpp"
#include "ops/op_registry.hpp"
#include "train/autograd/dnnl_ops.hpp"
#include "train/autograd/fast_forward.hpp"
#include "train/autograd/grad_util.hpp"

namespace nnaccel {

#define NNACCEL_GRAD_FAMILY(f) void register_##f##_grads(GradRegistry& r);
#include "train/autograd/grad_families.def"
#undef NNACCEL_GRAD_FAMILY

const GradRegistry& GradRegistry::instance() {
  static const GradRegistry registry = [] {
    GradRegistry r;
#define NNACCEL_GRAD_FAMILY(f) register_##f##_grads(r);
#include "train/autograd/grad_families.def"
#undef NNACCEL_GRAD_FAMILY
    return r;
  }();
  return registry;
}

void GradRegistry::add(const std::string& domain, const std::string& op, GradFn fn,
                       TrainingForwardFn forward) {
  rules_[{domain == "ai.onnx" ? "" : domain, op}] = {fn, forward};
}

const GradRegistry::Rule* GradRegistry::rule(const std::string& domain,
                                             const std::string& op) const {
  auto it = rules_.find({domain == "ai.onnx" ? "" : domain, op});
  return it == rules_.end() ? nullptr : &it->second;
}

GradFn GradRegistry::find(const std::string& domain, const std::string& op) const {
  const Rule* r = rule(domain, op);
  return r == nullptr ? nullptr : r->grad;
}

TrainingForwardFn GradRegistry::find_forward(const std::string& domain,
                                             const std::string& op) const {
  const Rule* r = rule(domain, op);
  return r == nullptr ? nullptr : r->forward;
}

namespace {

bool is_float(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16;
}

// Ops whose outputs are indices, shapes or booleans: no gradient flows through them even when
// static types are unknown.
bool integer_valued(const Node& n) {
  static const std::set<std::string> ops = {
      "Shape",       "Size",           "ArgMax", "ArgMin", "NonZero", "Equal", "Less",  "Greater",
      "LessOrEqual", "GreaterOrEqual", "Not",    "And",    "Or",      "Xor",   "IsNaN", "IsInf"};
  return n.domain.empty() && ops.count(n.op_type) > 0;
}

}  // namespace

struct Autograd::Impl {
  const Graph* graph = nullptr;
  std::vector<std::string> params;
  std::string loss;
  std::vector<const OpSchema*> schemas;     // per node; null for training-only ops
  std::vector<TrainingForwardFn> forwards;  // per node; set for training-only ops
  std::vector<GradFn> rules;             // per node; null for nodes off the param -> loss paths
  std::vector<std::vector<bool>> wants;  // per node and input: the input depends on a param
  std::map<std::string, Tensor> values;
  bool ran = false;
  bool bf16 = false;
};

Autograd::Autograd(const Graph& graph, std::vector<std::string> params, std::string loss)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.graph = &graph;
  m.params = std::move(params);
  m.loss = std::move(loss);
  for (const std::string& p : m.params) {
    auto it = graph.initializers.find(p);
    if (it == graph.initializers.end())
      fail("autograd: parameter '{}' is not an initializer of the graph", p);
    if (!is_float(it->second.dtype()))
      fail("autograd: parameter '{}' has element type {}, expected a float type", p,
           dtype_name(it->second.dtype()));
  }
  // Static types tell which values are floats: integer values (shapes, indices, masks) carry no
  // gradient even when computed from a parameter. Inference may fail on graphs whose input
  // shapes are unknown; then every value is assumed differentiable.
  std::map<std::string, TypeInfo> types;
  try {
    types = infer_shapes(graph).types;
  } catch (const Error&) {
  }
  auto differentiable = [&](const std::string& v) {
    auto it = types.find(v);
    return it == types.end() || it->second.dtype == DType::undefined || is_float(it->second.dtype);
  };

  const OpRegistry& ops = OpRegistry::instance();
  const GradRegistry& grads = GradRegistry::instance();
  bool loss_found = false;
  for (const ValueInfo& v : graph.inputs)
    if (v.name == m.loss) loss_found = true;
  for (const Node& n : graph.nodes) {
    const OpSchema* s = ops.find(n.domain, n.op_type);
    const TrainingForwardFn f = s == nullptr ? grads.find_forward(n.domain, n.op_type) : nullptr;
    if (s == nullptr && f == nullptr) fail("autograd: {}: unknown op", n.describe());
    m.schemas.push_back(s);
    m.forwards.push_back(f);
    for (const std::string& o : n.outputs)
      if (o == m.loss) loss_found = true;
  }
  if (!loss_found && !graph.initializers.count(m.loss))
    fail("autograd: the loss '{}' is not a value of the graph", m.loss);

  // Values that depend on a parameter (forward sweep) and values the loss depends on (backward
  // sweep); a node needs a rule when it joins the two.
  std::set<std::string> from_param(m.params.begin(), m.params.end());
  for (const Node& n : graph.nodes) {
    bool dep = false;
    for (const std::string& in : n.inputs)
      if (!in.empty() && from_param.count(in)) dep = true;
    if (!dep || integer_valued(n)) continue;
    for (const std::string& o : n.outputs)
      if (!o.empty() && differentiable(o)) from_param.insert(o);
  }
  std::set<std::string> to_loss = {m.loss};
  const size_t count = graph.nodes.size();
  m.rules.assign(count, nullptr);
  m.wants.resize(count);
  std::vector<bool> on_path(count, false);
  for (size_t i = count; i-- > 0;) {
    const Node& n = graph.nodes[i];
    bool reaches = false;
    for (const std::string& o : n.outputs)
      if (!o.empty() && to_loss.count(o) && from_param.count(o)) reaches = true;
    if (!reaches) continue;
    on_path[i] = true;
    m.wants[i].assign(n.inputs.size(), false);
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const std::string& in = n.inputs[k];
      if (in.empty() || !from_param.count(in)) continue;
      m.wants[i][k] = true;
      to_loss.insert(in);
    }
  }
  for (size_t i = 0; i < count; ++i) {
    if (!on_path[i]) continue;
    const Node& n = graph.nodes[i];
    m.rules[i] = grads.find(n.domain, n.op_type);
    if (m.rules[i] == nullptr)
      fail(
          "autograd: {} lies between a parameter and the loss '{}' but op {}{} has no gradient "
          "rule",
          n.describe(), m.loss, n.domain.empty() ? "" : n.domain + "::", n.op_type);
  }
}

Autograd::~Autograd() = default;

void Autograd::forward(const std::map<std::string, Tensor>& feeds) {
  Impl& m = *impl_;
  const Graph& g = *m.graph;
  const grad::Bf16Products precision(m.bf16);
  m.values.clear();
  m.ran = false;
  for (const auto& [name, t] : g.initializers) m.values[name] = t;
  for (const auto& [name, t] : feeds) {
    bool known = false;
    for (const ValueInfo& v : g.inputs) known = known || v.name == name;
    if (!known) fail("autograd: the graph has no input named '{}'", name);
    m.values[name] = t;
  }
  for (const ValueInfo& v : g.inputs)
    if (!m.values.count(v.name)) fail("autograd: input '{}' is missing", v.name);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    std::vector<const Tensor*> ins;
    ins.reserve(node.inputs.size());
    for (const std::string& name : node.inputs) {
      if (name.empty()) {
        ins.push_back(nullptr);
        continue;
      }
      auto it = m.values.find(name);
      if (it == m.values.end())
        fail("autograd: {}: input '{}' has no value", node.describe(), name);
      ins.push_back(&it->second);
    }
    OpContext ctx(node, std::move(ins), nullptr);
    if (m.forwards[i] != nullptr)
      m.forwards[i](ctx);
    else if (!grad::run_fast_forward(ctx))
      m.schemas[i]->run(ctx);
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      if (!ctx.outputs[o].defined())
        fail("autograd: {}: output '{}' was not produced", node.describe(), node.outputs[o]);
      m.values[node.outputs[o]] = std::move(ctx.outputs[o]);
    }
  }
  m.ran = true;
}

void Autograd::set_bf16_products(bool on) { impl_->bf16 = on; }

const Tensor& Autograd::value(const std::string& name) const {
  auto it = impl_->values.find(name);
  if (it == impl_->values.end()) fail("autograd: no value '{}' (run forward first)", name);
  return it->second;
}

std::map<std::string, Tensor> Autograd::backward() {
  Impl& m = *impl_;
  if (!m.ran) fail("autograd: backward() called before forward()");
  const Graph& g = *m.graph;
  const grad::Bf16Products precision(m.bf16);
  const Tensor& loss = value(m.loss);
  if (loss.numel() != 1)
    fail("autograd: the loss '{}' has shape {}, expected a single value", m.loss,
         shape_str(loss.shape()));
  if (!is_float(loss.dtype()))
    fail("autograd: the loss '{}' has element type {}", m.loss, dtype_name(loss.dtype()));
  std::map<std::string, Tensor> grads;
  grads[m.loss] = grad::filled(loss.dtype(), loss.shape(), 1.0);

  for (size_t i = g.nodes.size(); i-- > 0;) {
    if (m.rules[i] == nullptr) continue;
    const Node& node = g.nodes[i];
    GradContext ctx{node, {}, {}, {}, m.wants[i], {}};
    bool any = false;
    for (const std::string& in : node.inputs)
      ctx.inputs.push_back(in.empty() ? nullptr : &m.values.at(in));
    for (const std::string& o : node.outputs) {
      ctx.outputs.push_back(o.empty() ? nullptr : &m.values.at(o));
      auto it = o.empty() ? grads.end() : grads.find(o);
      ctx.grad_outputs.push_back(it == grads.end() ? nullptr : &it->second);
      any = any || it != grads.end();
    }
    if (!any) continue;
    ctx.grad_inputs.resize(node.inputs.size());
    m.rules[i](ctx);
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      if (!ctx.wants[k] || !ctx.grad_inputs[k].defined()) continue;
      Tensor& gi = ctx.grad_inputs[k];
      const Tensor& in = *ctx.inputs[k];
      if (gi.shape() != in.shape())
        fail("autograd: {}: the gradient of input {} has shape {}, the input {}", node.describe(),
             k, shape_str(gi.shape()), shape_str(in.shape()));
      if (gi.dtype() != in.dtype()) gi = cast_tensor(gi, in.dtype());
      auto [it, inserted] = grads.try_emplace(node.inputs[k], gi);
      // Sums into a fresh tensor: a rule may hand back a tensor that shares storage with another
      // gradient (Identity, Reshape), so nothing is added in place.
      if (!inserted) it->second = grad::add(it->second, gi);
    }
    // Every contribution to this node's outputs is in (their readers come later in the graph):
    // their gradients are not needed any more.
    for (const std::string& o : node.outputs)
      if (!o.empty()) grads.erase(o);
  }
  // Rules may share buffers (Add hands dy to both inputs); each parameter gets a gradient of its
  // own so that an optimizer may change one in place.
  std::map<std::string, Tensor> result;
  std::set<const void*> handed_out;
  for (const std::string& p : m.params) {
    auto it = grads.find(p);
    const Tensor& param = m.values.at(p);
    Tensor g = it != grads.end() ? it->second : Tensor(param.dtype(), param.shape());
    if (g.numel() > 0 && !handed_out.insert(g.raw()).second) g = g.clone();
    result[p] = g;
  }
  return result;
}

}  // namespace nnaccel
