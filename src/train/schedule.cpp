// Learning-rate schedules: linear warm-up, then constant, step or cosine decay.
#include <cmath>

#include "core/check.hpp"
#include "nnaccel/train.hpp"

namespace nnaccel {

ScheduleKind parse_schedule_kind(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "step") return ScheduleKind::step;
  if (name == "cosine") return ScheduleKind::cosine;
  fail("unknown schedule '{}' (expected constant, step or cosine)", name);
}

float learning_rate(const ScheduleConfig& c, int64_t step) {
  NNA_CHECK(c.base_lr > 0 && std::isfinite(c.base_lr), "learning rate {} must be > 0", c.base_lr);
  NNA_CHECK(c.warmup_steps >= 0 && step >= 0, "schedule: negative step or warm-up");
  const double base = c.base_lr;
  if (step < c.warmup_steps)
    return static_cast<float>(base * static_cast<double>(step + 1) /
                              static_cast<double>(c.warmup_steps));
  const int64_t t = step - c.warmup_steps;
  switch (c.kind) {
    case ScheduleKind::constant:
      return c.base_lr;
    case ScheduleKind::step: {
      NNA_CHECK(c.step_size >= 1, "schedule: step size {} must be >= 1", c.step_size);
      return static_cast<float>(
          base * std::pow(static_cast<double>(c.gamma), static_cast<double>(t / c.step_size)));
    }
    case ScheduleKind::cosine: {
      const int64_t span = c.total_steps - c.warmup_steps;
      NNA_CHECK(span >= 1, "schedule: cosine needs total steps ({}) > warm-up steps ({})",
                c.total_steps, c.warmup_steps);
      const double frac = std::min(1.0, static_cast<double>(t) / static_cast<double>(span));
      return static_cast<float>(c.min_lr + (base - c.min_lr) * 0.5 * (1.0 + std::cos(M_PI * frac)));
    }
  }
  return c.base_lr;
}

}  // namespace nnaccel
