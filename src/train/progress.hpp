#pragma once
// One status line on stderr, rewritten in place (at most 4 times a second), only when enabled and
// stderr is a terminal: long work shows progress there and stays quiet in logs and pipes.
#include <chrono>
#include <cstdint>
#include <string>

namespace nnaccel::train {

class Progress {
 public:
  explicit Progress(bool enabled);
  void start_epoch();
  // `text` plus images/s of this epoch and the time left for the remaining steps.
  void update(const std::string& text, int64_t epoch_images, int64_t step, int64_t total_steps);
  void clear();  // erases the line (before other output)
  double epoch_seconds() const;

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_;
  bool shown_ = false;
  Clock::time_point epoch_start_;
  Clock::time_point last_draw_;
  int64_t first_step_ = -1;
};

}  // namespace nnaccel::train
