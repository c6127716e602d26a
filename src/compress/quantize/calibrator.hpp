#pragma once
// Calibration: streams batches through a model and keeps, for each chosen value (an activation
// that will be quantized), an observer of its range. Memory is the model's plus a fixed-size
// observer per value, whatever the number of batches; the state saves and restores, so a long
// calibration resumes where it stopped.
#include <map>
#include <string>
#include <vector>

#include "compress/quantize/calibration_observer.hpp"
#include "nnaccel/session.hpp"

namespace nnaccel {

class Calibrator {
 public:
  // `values`: names of float values computed by the model's graph (not initializers). They are
  // read as extra outputs of the model run on the fast path.
  Calibrator(const Model& model, std::vector<std::string> values, ObserverConfig config,
             SessionOptions options = {});

  void observe(const std::map<std::string, Tensor>& feeds);
  int64_t batches() const { return batches_; }
  const std::vector<std::string>& values() const { return values_; }
  std::map<std::string, QuantRange> ranges() const;

  // "nnaccel-calibration 1 <batches> <count>\n<name>\n<observer state>\n..."; load checks that
  // the names and observer settings match this calibrator's.
  std::string save_state() const;
  void load_state(const std::string& state);

 private:
  std::vector<std::string> values_;
  ObserverConfig config_;
  std::vector<CalibrationObserver> observers_;
  std::vector<size_t> output_index_;  // where each value is among the session's outputs
  Session session_;
  int64_t batches_ = 0;
};

}  // namespace nnaccel
