#pragma once
// Two models side by side on the same data (what `nnaccel compare` prints): accuracy when the
// data has labels, how closely B's outputs follow A's, file size, weight bytes and median latency
// on the fast path.
#include <cstdint>
#include <string>
#include <vector>

#include "nnaccel/graph.hpp"
#include "report/output_agreement.hpp"

namespace nnaccel {

struct ModelFigures {
  std::string path;
  double accuracy = -1;  // top-1 fraction; -1 when the data has no labels
  uint64_t file_bytes = 0;
  uint64_t weight_bytes = 0;  // initializer bytes
  double median_ms = 0;       // one batch on the fast path
};

struct NamedAgreement {
  std::string output;  // A's name for it
  OutputAgreement agreement;
};

struct ModelComparison {
  ModelFigures a, b;
  std::vector<NamedAgreement> outputs;  // B against A, per float output
  int64_t samples = 0;
  int64_t batches = 0;
  int64_t latency_batch = 0;  // samples in the timed batch
};

struct CompareOptions {
  std::vector<std::string> data;  // specs as calibration_data.hpp reads them (test split)
  int64_t batch = 64;
  int threads = 0;
  int iters = 10;  // timed runs per model
  bool progress = false;
};

// Throws Error when a model cannot be loaded, the models differ in inputs or number of outputs,
// or the data does not fit them.
ModelComparison compare_models(const std::string& a_path, const std::string& b_path,
                               const CompareOptions& options);

// Bytes of the model's initializers (its weights as stored).
uint64_t initializer_bytes(const Model& model);

}  // namespace nnaccel
