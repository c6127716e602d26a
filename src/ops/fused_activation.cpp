#include "ops/fused_activation.hpp"

#include "core/check.hpp"

namespace nnaccel {

namespace {
struct ActivationRow {
  const char* name;
  ActivationKind kind;
  size_t params;
};
constexpr ActivationRow kActivations[] = {
    {"", ActivationKind::none, 0},
    {"Relu", ActivationKind::relu, 0},
    {"Clip", ActivationKind::clip, 2},
    {"HardSigmoid", ActivationKind::hard_sigmoid, 2},
    {"HardSwish", ActivationKind::hard_swish, 0},
    {"Sigmoid", ActivationKind::sigmoid, 0},
    {"LeakyRelu", ActivationKind::leaky_relu, 1},
    {"Gelu", ActivationKind::gelu, 0},
    {"GeluTanh", ActivationKind::gelu_tanh, 0},
    {"Tanh", ActivationKind::tanh, 0},
};
}  // namespace

FusedActivation fused_activation_of(const Node& node) {
  std::string name = node.attr_string("activation", "");
  std::vector<float> params = node.attr_floats("activation_params", {});
  for (const ActivationRow& row : kActivations) {
    if (name != row.name) continue;
    if (params.size() != row.params)
      fail("{}: activation {} takes {} activation_params, given {}", node.describe(),
           name.empty() ? "none" : name, row.params, params.size());
    FusedActivation a;
    a.kind = row.kind;
    if (row.params > 0) a.alpha = params[0];
    if (row.params > 1) a.beta = params[1];
    return a;
  }
  fail("{}: unknown fused activation '{}'", node.describe(), name);
}

std::string activation_name(ActivationKind kind) {
  for (const ActivationRow& row : kActivations)
    if (row.kind == kind) return row.name;
  return "";
}

std::vector<float> activation_params(const FusedActivation& a) {
  for (const ActivationRow& row : kActivations)
    if (row.kind == a.kind) {
      std::vector<float> p;
      if (row.params > 0) p.push_back(a.alpha);
      if (row.params > 1) p.push_back(a.beta);
      return p;
    }
  return {};
}

}  // namespace nnaccel
