#pragma once
// Calibration observers: the range of an activation, learned from batches streamed through the
// model, in memory that does not grow with the calibration set.
//
//   minmax          the smallest and largest value seen
//   moving_average  min and max of each batch, averaged with an exponential moving average
//   percentile      the p-th and (100-p)-th percentiles (p configurable, e.g. 99.99)
//   mse             the clipping range that minimizes the expected quantization error
//   entropy         the clipping threshold minimizing the KL divergence between the value
//                   distribution and its quantized form (the TensorRT calibrator's method)
//
// The last three read a histogram of fixed size over [-R, R) whose R doubles when a batch
// exceeds it (adjacent bins merge exactly), so memory stays O(bins). The state can be saved and
// restored, so a long calibration can stop and resume.
#include <cstdint>
#include <string>
#include <vector>

#include "compress/quantize/qparams.hpp"

namespace nnaccel {

enum class CalibrationMethod { minmax, moving_average, percentile, mse, entropy };

// "minmax", "moving-average", "percentile", "mse", "entropy"; throws Error for anything else.
CalibrationMethod calibration_method_from_name(const std::string& name);
const char* calibration_method_name(CalibrationMethod m);

struct ObserverConfig {
  CalibrationMethod method = CalibrationMethod::minmax;
  double percentile = 99.99;  // percentile method: the upper percentile kept
  double momentum = 0.01;     // moving average: weight of each new batch
  int bins = 2048;            // histogram methods: a multiple of 4
  DType qtype = DType::u8;    // the grid mse and entropy optimize for
  bool symmetric = false;
};

class CalibrationObserver {
 public:
  explicit CalibrationObserver(ObserverConfig config = {});

  // One batch of values; non-finite values are an Error naming nothing (the caller names the
  // tensor).
  void observe(const float* values, int64_t count);
  bool empty() const { return batches_ == 0; }
  // The calibrated range (throws Error when nothing was observed).
  QuantRange range() const;
  const ObserverConfig& config() const { return config_; }

  // Text state (one line of numbers, versioned) for checkpoints, and its inverse; load throws
  // Error on a malformed state.
  std::string save() const;
  static CalibrationObserver load(const std::string& state);

 private:
  void add_to_histogram(const float* values, int64_t count, float absmax);
  QuantRange percentile_range() const;
  QuantRange mse_range() const;
  QuantRange entropy_range() const;
  // The value below which a fraction q of the observed values lie (linear within a bin).
  double quantile(double q) const;

  ObserverConfig config_;
  int64_t batches_ = 0;
  double min_ = 0, max_ = 0;          // all-time extremes
  double avg_min_ = 0, avg_max_ = 0;  // moving averages
  double half_width_ = 0;             // histogram covers [-half_width_, half_width_)
  std::vector<double> hist_;
};

}  // namespace nnaccel
