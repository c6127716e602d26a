#pragma once
// Per-channel statistics of values a model computes, streamed over calibration batches in memory
// that does not grow with their number: what bias correction and high-bias absorption measure.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nnaccel/graph.hpp"
#include "nnaccel/session.hpp"

namespace nnaccel {

// Calls its argument once per calibration batch (inputs by name), in the same order every time it
// is called: a batch source is read once per measurement.
using ForEachBatch =
    std::function<void(const std::function<void(const std::map<std::string, Tensor>&)>& each)>;

// A ForEachBatch over batches held in memory (they must outlive it).
ForEachBatch batches_of(const std::vector<std::map<std::string, Tensor>>& batches);

struct ChannelStats {
  std::vector<double> sum, min, max;
  int64_t count = 0;  // values seen per channel

  // Adds an f32 tensor whose channels lie on `axis` (throws Error naming `what` on another dtype or
  // a channel count that differs from the earlier batches').
  void add(const Tensor& t, int axis, const std::string& what);
  std::vector<double> mean() const;
};

// One value to measure: its name and the axis of its channels (negative: from the end).
struct ChannelValue {
  std::string name;
  int axis = 1;
};

// Runs `model`, pruned to what computes `values`, on every batch and hands `each` the values in
// the order named; returns the number of batches. Throws Error naming a value the model does not
// compute, and when there are no batches.
int64_t for_each_value_batch(const Model& model, const std::vector<std::string>& values,
                             const ForEachBatch& batches, const SessionOptions& options,
                             const std::function<void(const std::vector<Tensor>&)>& each);

// Runs `model`, pruned to what computes `values`, on every batch; returns the statistics of each
// value and sets *batch_count. Throws Error when there are no batches.
std::vector<ChannelStats> measure_channels(const Model& model,
                                           const std::vector<ChannelValue>& values,
                                           const ForEachBatch& batches,
                                           const SessionOptions& options,
                                           int64_t* batch_count = nullptr);

}  // namespace nnaccel
