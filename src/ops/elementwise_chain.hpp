#pragma once
// ai.nnaccel ElementwiseChain: a run of float elementwise ops fused into one pass over memory.
//
//   y = step_k( ... step_2( step_1(x, o_1) ) ... )      evaluated element by element
//
// Inputs: X (f32), then one operand per binary step, in step order. Every operand broadcasts
// (numpy rules) to X's shape; Y has X's shape and dtype. Attributes:
//   steps   strings, one per step:
//           unary     Relu Sigmoid Tanh Exp Log Neg Abs Sqrt Reciprocal Erf HardSwish Softplus
//                     Gelu GeluTanh
//           with params (read in order from `params`): Clip [min,max], LeakyRelu [alpha],
//                     HardSigmoid [alpha,beta], Elu [alpha]
//           binary    Add Sub Mul Div Pow Max Min (x OP o) and RSub RDiv RPow (o OP x)
//   params  floats, consumed by the parametrized steps in order
// The graph optimizer (fuse_elementwise_chain) builds it; the reference kernel (src/ops/fused.cpp)
// and the fast kernel (src/kernels/simd) both evaluate steps with the functions below, so the
// parsing and the scalar semantics are defined once, here.
#include <cmath>
#include <vector>

#include "nnaccel/graph.hpp"

namespace nnaccel {

enum class ChainOp {
  relu, sigmoid, tanh, exp, log, neg, abs, sqrt, reciprocal, erf, hard_swish, softplus, gelu,
  gelu_tanh, clip, leaky_relu, hard_sigmoid, elu,
  add, sub, mul, div, pow, max, min, rsub, rdiv, rpow
};

struct ChainStep {
  ChainOp op;
  int operand = -1;  // node input index of a binary step's operand (1, 2, ...); -1 for unary
  float p0 = 0.0f, p1 = 0.0f;
};

inline bool chain_op_is_binary(ChainOp op) { return op >= ChainOp::add; }

// Parses and checks the node's attributes against its input count; throws Error naming the node.
std::vector<ChainStep> parse_elementwise_chain(const Node& node);
// The step name as written in `steps` ("Relu", "RSub", ...), and its parameter count.
const char* chain_op_name(ChainOp op);
int chain_op_param_count(ChainOp op);
// Parses one step name; returns false when it is not a chain op.
bool chain_op_from_name(const std::string& name, ChainOp& op);

inline float apply_chain_step(const ChainStep& s, float x, float o) {
  switch (s.op) {
    case ChainOp::relu: return x > 0.0f ? x : 0.0f;
    case ChainOp::sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case ChainOp::tanh: return std::tanh(x);
    case ChainOp::exp: return std::exp(x);
    case ChainOp::log: return std::log(x);
    case ChainOp::neg: return -x;
    case ChainOp::abs: return std::fabs(x);
    case ChainOp::sqrt: return std::sqrt(x);
    case ChainOp::reciprocal: return 1.0f / x;
    case ChainOp::erf: return std::erf(x);
    case ChainOp::hard_swish: {
      float y = x / 6.0f + 0.5f;
      return x * (y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y));
    }
    case ChainOp::softplus: return x > 20.0f ? x : std::log1p(std::exp(x));
    case ChainOp::gelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case ChainOp::gelu_tanh:
      return 0.5f * x * (1.0f + std::tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case ChainOp::clip: return x < s.p0 ? s.p0 : (x > s.p1 ? s.p1 : x);
    case ChainOp::leaky_relu: return x >= 0.0f ? x : s.p0 * x;
    case ChainOp::hard_sigmoid: {
      float y = s.p0 * x + s.p1;
      return y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
    }
    case ChainOp::elu: return x >= 0.0f ? x : s.p0 * (std::exp(x) - 1.0f);
    case ChainOp::add: return x + o;
    case ChainOp::sub: return x - o;
    case ChainOp::mul: return x * o;
    case ChainOp::div: return x / o;
    case ChainOp::pow: return std::pow(x, o);
    case ChainOp::max: return std::isnan(x) || std::isnan(o) ? NAN : (x > o ? x : o);
    case ChainOp::min: return std::isnan(x) || std::isnan(o) ? NAN : (x < o ? x : o);
    case ChainOp::rsub: return o - x;
    case ChainOp::rdiv: return o / x;
    case ChainOp::rpow: return std::pow(o, x);
  }
  return x;
}

}  // namespace nnaccel
