#include "compress/quantize/qdq_bias_scale.hpp"

#include "core/check.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

using passes_detail::is_op;

std::string bias_scale_product(const std::string& x_scale, const std::string& w_scale,
                               const std::string& base, FreshNames& names,
                               std::vector<Node>& added) {
  Node mul;
  mul.op_type = "Mul";
  mul.name = names.fresh(base + "_scale");
  mul.inputs = {x_scale, w_scale};
  mul.outputs = {mul.name};
  added.push_back(mul);
  return mul.name;
}

std::optional<Tensor> constant_or_product(const passes_detail::GraphView& view,
                                          const std::string& name) {
  if (const Tensor* c = view.constant(name)) return *c;
  const Node* mul = view.producer(name);
  if (mul == nullptr || !is_op(*mul, "Mul") || mul->inputs.size() != 2) return std::nullopt;
  const Tensor* a = view.constant(mul->inputs[0]);
  const Tensor* b = view.constant(mul->inputs[1]);
  if (a == nullptr || b == nullptr) return std::nullopt;
  // The Mul kernel itself: the value the model computes, broadcasting included.
  const OpSchema* schema = OpRegistry::instance().find("", "Mul");
  NNA_CHECK(schema != nullptr && schema->run != nullptr, "the Mul op is not registered");
  try {
    OpContext ctx(*mul, {a, b}, nullptr);
    schema->run(ctx);
    return ctx.outputs[0];
  } catch (const Error&) {
    return std::nullopt;  // mismatched shapes: not a bias scale
  }
}

}  // namespace nnaccel
