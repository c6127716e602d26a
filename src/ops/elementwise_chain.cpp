#include "ops/elementwise_chain.hpp"

#include <string>

#include "core/check.hpp"

namespace nnaccel {

namespace {
struct ChainRow {
  const char* name;
  ChainOp op;
  int params;
};
constexpr ChainRow kChainOps[] = {
    {"Relu", ChainOp::relu, 0},         {"Sigmoid", ChainOp::sigmoid, 0},
    {"Tanh", ChainOp::tanh, 0},         {"Exp", ChainOp::exp, 0},
    {"Log", ChainOp::log, 0},           {"Neg", ChainOp::neg, 0},
    {"Abs", ChainOp::abs, 0},           {"Sqrt", ChainOp::sqrt, 0},
    {"Reciprocal", ChainOp::reciprocal, 0}, {"Erf", ChainOp::erf, 0},
    {"HardSwish", ChainOp::hard_swish, 0}, {"Softplus", ChainOp::softplus, 0},
    {"Gelu", ChainOp::gelu, 0},         {"GeluTanh", ChainOp::gelu_tanh, 0},
    {"Clip", ChainOp::clip, 2},         {"LeakyRelu", ChainOp::leaky_relu, 1},
    {"HardSigmoid", ChainOp::hard_sigmoid, 2}, {"Elu", ChainOp::elu, 1},
    {"Add", ChainOp::add, 0},           {"Sub", ChainOp::sub, 0},
    {"Mul", ChainOp::mul, 0},           {"Div", ChainOp::div, 0},
    {"Pow", ChainOp::pow, 0},           {"Max", ChainOp::max, 0},
    {"Min", ChainOp::min, 0},           {"RSub", ChainOp::rsub, 0},
    {"RDiv", ChainOp::rdiv, 0},         {"RPow", ChainOp::rpow, 0},
};
}  // namespace

bool chain_op_from_name(const std::string& name, ChainOp& op) {
  for (const ChainRow& r : kChainOps)
    if (name == r.name) {
      op = r.op;
      return true;
    }
  return false;
}

const char* chain_op_name(ChainOp op) {
  for (const ChainRow& r : kChainOps)
    if (r.op == op) return r.name;
  return "?";
}

int chain_op_param_count(ChainOp op) {
  for (const ChainRow& r : kChainOps)
    if (r.op == op) return r.params;
  return 0;
}

std::vector<ChainStep> parse_elementwise_chain(const Node& node) {
  const Attribute* steps = node.attr("steps");
  if (steps == nullptr || steps->strings.empty())
    fail("{}: attribute 'steps' is missing or empty", node.describe());
  std::vector<float> params = node.attr_floats("params", {});
  std::vector<ChainStep> out;
  size_t next_param = 0;
  int next_operand = 1;
  for (const std::string& name : steps->strings) {
    ChainStep s{};
    if (!chain_op_from_name(name, s.op))
      fail("{}: unknown elementwise chain step '{}'", node.describe(), name);
    int np = chain_op_param_count(s.op);
    if (next_param + static_cast<size_t>(np) > params.size())
      fail("{}: step {} needs {} params but 'params' has run out", node.describe(), name, np);
    if (np > 0) s.p0 = params[next_param];
    if (np > 1) s.p1 = params[next_param + 1];
    next_param += static_cast<size_t>(np);
    if (chain_op_is_binary(s.op)) s.operand = next_operand++;
    out.push_back(s);
  }
  if (next_param != params.size())
    fail("{}: 'params' has {} values but the steps use {}", node.describe(), params.size(),
         next_param);
  if (static_cast<size_t>(next_operand) != node.inputs.size())
    fail("{}: the steps take {} inputs but the node has {}", node.describe(), next_operand,
         node.inputs.size());
  return out;
}

}  // namespace nnaccel
