#pragma once
// The activation that a fused op (ai.nnaccel FusedConv, FusedGemm, FusedMatMul) applies to its
// result. The graph optimizer writes it as two attributes on the fused node:
//   activation        string: "" (none), Relu, Clip, HardSigmoid, HardSwish, Sigmoid,
//                     LeakyRelu, Gelu, GeluTanh, Tanh
//   activation_params floats: Clip [min, max], LeakyRelu [alpha], HardSigmoid [alpha, beta];
//                     empty for the others
// The reference kernels apply it with apply_activation() below; fast kernels map it to their own
// post-ops (oneDNN eltwise) and are tested against the reference.
#include <cmath>
#include <string>
#include <vector>

#include "nnaccel/graph.hpp"

namespace nnaccel {

enum class ActivationKind {
  none, relu, clip, hard_sigmoid, hard_swish, sigmoid, leaky_relu, gelu, gelu_tanh, tanh
};

struct FusedActivation {
  ActivationKind kind = ActivationKind::none;
  float alpha = 0.0f;  // Clip min, LeakyRelu alpha, HardSigmoid alpha
  float beta = 0.0f;   // Clip max, HardSigmoid beta
};

// Reads the node's `activation` and `activation_params`; throws Error naming the node for an
// unknown activation or the wrong number of params.
FusedActivation fused_activation_of(const Node& node);
// The inverse: the attribute values that describe `a`.
std::string activation_name(ActivationKind kind);
std::vector<float> activation_params(const FusedActivation& a);

inline float apply_activation(const FusedActivation& a, float x) {
  switch (a.kind) {
    case ActivationKind::none: return x;
    case ActivationKind::relu: return x > 0.0f ? x : 0.0f;
    case ActivationKind::clip: return x < a.alpha ? a.alpha : (x > a.beta ? a.beta : x);
    case ActivationKind::hard_sigmoid: {
      float y = a.alpha * x + a.beta;
      return y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
    }
    case ActivationKind::hard_swish: {
      float y = x / 6.0f + 0.5f;
      return x * (y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y));
    }
    case ActivationKind::sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case ActivationKind::leaky_relu: return x >= 0.0f ? x : a.alpha * x;
    case ActivationKind::gelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case ActivationKind::gelu_tanh:
      return 0.5f * x * (1.0f + std::tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case ActivationKind::tanh: return std::tanh(x);
  }
  return x;
}

}  // namespace nnaccel
