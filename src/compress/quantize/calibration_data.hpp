#pragma once
// Input batches for calibration and model comparison, read one batch at a time so memory does not
// grow with the data set. A data spec is one of
//   fashion-mnist   Debian's Fashion-MNIST through the training loader: f32 [B,1,28,28] in [0,1]
//                   (the train split for calibration, the test split, with labels, otherwise)
//   DIR             a folder holding inputs.npy (and optionally labels.npy), as `nnaccel eval`
//                   reads it, cut into batches; or a folder of .npy files, one batch per file,
//                   taken in name order, for a model with one input
//   NAME=DIR ...    one folder of batch files per model input; batch k is file k of each
// Every batch is checked against the model's declared inputs (dtype, rank, known dims) and a bad
// one is an Error naming the file and the input.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nnaccel/graph.hpp"
#include "nnaccel/tensor.hpp"

namespace nnaccel {

struct CalibrationDataOptions {
  int64_t max_samples = 0;  // 0: all; otherwise the last batch is cut to stop at this count
  int64_t batch_size = 64;  // fashion-mnist and inputs.npy; a model's fixed batch dim wins
  bool train_split = true;  // fashion-mnist: the train split (calibration) or the test split
  bool shuffle = true;      // fashion-mnist and inputs.npy: a fixed (seed 0) permutation
};

struct DataBatch {
  std::map<std::string, Tensor> feeds;
  Tensor labels;  // i64 [B] when the data has labels, else undefined
  int64_t samples = 0;
};

class CalibrationData {
 public:
  // `specs`: one spec, or several NAME=DIR. `inputs`: the model's inputs (not initializers).
  // Throws Error on a spec that names no data, a missing or empty folder, an unknown input name,
  // inputs left without data, folders with different batch counts, or max_samples < 0.
  CalibrationData(const std::vector<std::string>& specs, const std::vector<ValueInfo>& inputs,
                  CalibrationDataOptions options);
  ~CalibrationData();
  CalibrationData(CalibrationData&&) noexcept;

  // The next batch, or nullopt when the data (or max_samples) is exhausted.
  std::optional<DataBatch> next();
  // Skips `batches` batches without reading their files (resuming a calibration); `samples` is
  // how many samples they held.
  void skip(int64_t batches, int64_t samples);
  // Batches the whole run will give (an upper bound when files are cut by max_samples).
  int64_t total_batches() const;
  int64_t batches_read() const;
  int64_t samples_read() const;
  bool has_labels() const;
  // The specs joined, for messages and calibration state files.
  std::string description() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nnaccel
