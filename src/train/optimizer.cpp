// SGD (momentum, Nesterov), Adam and AdamW, and clipping by global norm; PyTorch's update rules.
#include <cmath>

#include "core/check.hpp"
#include "core/parallel.hpp"
#include "nnaccel/train.hpp"

namespace nnaccel {
namespace {

constexpr int64_t kGrain = 1 << 14;

Tensor& state_tensor(std::map<std::string, Tensor>& state, const std::string& key,
                     const Tensor& like) {
  auto it = state.find(key);
  if (it == state.end()) it = state.emplace(key, Tensor(DType::f32, like.shape())).first;
  return it->second;
}

}  // namespace

OptimizerKind parse_optimizer_kind(const std::string& name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "adam") return OptimizerKind::adam;
  if (name == "adamw") return OptimizerKind::adamw;
  fail("unknown optimizer '{}' (expected sgd, adam or adamw)", name);
}

std::string optimizer_kind_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::sgd:
      return "sgd";
    case OptimizerKind::adam:
      return "adam";
    case OptimizerKind::adamw:
      return "adamw";
  }
  return "?";
}

Optimizer::Optimizer(OptimizerConfig config) : config_(config) {
  NNA_CHECK(config_.momentum >= 0 && config_.momentum < 1, "optimizer: momentum {} not in [0, 1)",
            config_.momentum);
  NNA_CHECK(config_.beta1 >= 0 && config_.beta1 < 1 && config_.beta2 >= 0 && config_.beta2 < 1,
            "optimizer: betas ({}, {}) not in [0, 1)", config_.beta1, config_.beta2);
  NNA_CHECK(config_.eps > 0, "optimizer: eps {} must be > 0", config_.eps);
  NNA_CHECK(config_.weight_decay >= 0, "optimizer: weight decay {} must be >= 0",
            config_.weight_decay);
}

void Optimizer::step(std::map<std::string, Tensor>& params,
                     const std::map<std::string, Tensor>& grads, float lr) {
  ++steps_;
  const OptimizerConfig& c = config_;
  // Bias corrections of Adam, computed in double once per step.
  const double bc1 = 1.0 - std::pow(static_cast<double>(c.beta1), static_cast<double>(steps_));
  const double bc2 = 1.0 - std::pow(static_cast<double>(c.beta2), static_cast<double>(steps_));
  const float step_size = static_cast<float>(lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  for (auto& [name, p] : params) {
    auto g_it = grads.find(name);
    NNA_CHECK(g_it != grads.end(), "optimizer: no gradient for parameter '{}'", name);
    const Tensor& g = g_it->second;
    NNA_CHECK(p.dtype() == DType::f32 && g.dtype() == DType::f32 && p.shape() == g.shape(),
              "optimizer: parameter '{}' ({} {}) and its gradient ({} {}) differ", name,
              dtype_name(p.dtype()), shape_str(p.shape()), dtype_name(g.dtype()),
              shape_str(g.shape()));
    float* w = p.data<float>();
    const float* gd = g.data<float>();
    const float wd = p.rank() >= 2 ? c.weight_decay : 0.0f;
    if (c.kind == OptimizerKind::sgd) {
      const bool first = state_.count(name + "/momentum") == 0;
      float* buf =
          c.momentum > 0 ? state_tensor(state_, name + "/momentum", p).data<float>() : nullptr;
      parallel_for(p.numel(), kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          float d = gd[i] + wd * w[i];
          if (buf != nullptr) {
            // PyTorch: the first step's buffer is the gradient itself (no dampening).
            buf[i] = first ? d : c.momentum * buf[i] + d;
            d = c.nesterov ? d + c.momentum * buf[i] : buf[i];
          }
          w[i] -= lr * d;
        }
      });
    } else {
      float* m = state_tensor(state_, name + "/m", p).data<float>();
      float* v = state_tensor(state_, name + "/v", p).data<float>();
      const bool decoupled = c.kind == OptimizerKind::adamw;
      const float b1 = c.beta1, b2 = c.beta2;
      parallel_for(p.numel(), kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          float d = gd[i];
          if (decoupled) {
            w[i] *= 1.0f - lr * wd;
          } else {
            d += wd * w[i];
          }
          m[i] = b1 * m[i] + (1.0f - b1) * d;
          v[i] = b2 * v[i] + (1.0f - b2) * d * d;
          w[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + c.eps);
        }
      });
    }
  }
}

std::map<std::string, Tensor> Optimizer::state() const {
  std::map<std::string, Tensor> out;
  for (const auto& [k, t] : state_) out[k] = t.clone();
  return out;
}

void Optimizer::restore(const std::map<std::string, Tensor>& state, int64_t steps) {
  NNA_CHECK(steps >= 0, "optimizer: negative step count {}", steps);
  state_.clear();
  for (const auto& [k, t] : state) {
    NNA_CHECK(t.dtype() == DType::f32, "optimizer: state '{}' is {}, expected float32", k,
              dtype_name(t.dtype()));
    state_[k] = t.clone();
  }
  steps_ = steps;
}

double clip_grad_global_norm(std::map<std::string, Tensor>& grads, double max_norm) {
  double sq = 0;
  for (const auto& [name, g] : grads) {
    const float* d = g.data<float>();
    for (int64_t i = 0; i < g.numel(); ++i) sq += static_cast<double>(d[i]) * d[i];
  }
  const double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    const auto scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (auto& [name, g] : grads) {
      float* d = g.data<float>();
      for (int64_t i = 0; i < g.numel(); ++i) d[i] *= scale;
    }
  }
  return norm;
}

}  // namespace nnaccel
