#include "train/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace nnaccel::train {

Progress::Progress(bool enabled) : enabled_(enabled && ::isatty(2) != 0) {
  epoch_start_ = last_draw_ = Clock::now();
}

void Progress::start_epoch() {
  epoch_start_ = Clock::now();
  first_step_ = -1;
}

double Progress::epoch_seconds() const {
  return std::chrono::duration<double>(Clock::now() - epoch_start_).count();
}

void Progress::update(const std::string& text, int64_t epoch_images, int64_t step,
                      int64_t total_steps) {
  if (first_step_ < 0) first_step_ = step - 1;
  if (!enabled_) return;
  const auto now = Clock::now();
  if (shown_ && now - last_draw_ < std::chrono::milliseconds(250) && step != total_steps) return;
  last_draw_ = now;
  const double secs = epoch_seconds();
  const double per_step = secs / static_cast<double>(std::max<int64_t>(step - first_step_, 1));
  const auto left = static_cast<int64_t>(per_step * static_cast<double>(total_steps - step));
  std::fprintf(stderr, "\r%s | %.0f img/s | %lld:%02lld:%02lld left\033[K", text.c_str(),
               secs > 0 ? static_cast<double>(epoch_images) / secs : 0.0,
               static_cast<long long>(left / 3600), static_cast<long long>(left / 60 % 60),
               static_cast<long long>(left % 60));
  std::fflush(stderr);
  shown_ = true;
}

void Progress::clear() {
  if (!enabled_ || !shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace nnaccel::train
