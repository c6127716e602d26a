#pragma once
// Post-training quantization of a float model, end to end (what `nnaccel quantize` runs):
// optimize without fusions (BatchNorm folded), then either calibrate on streamed batches and
// rewrite into the static QDQ form, or rewrite into the dynamic form; measure each quantized
// layer's output against float on one batch and, optionally, each layer's sensitivity.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "compress/quantize/calibration_data.hpp"
#include "compress/quantize/calibration_observer.hpp"
#include "compress/quantize/quantize_qdq.hpp"
#include "compress/quantize/sensitivity.hpp"
#include "nnaccel/graph.hpp"
#include "report/model_comparison.hpp"

namespace nnaccel {

struct QuantizeOptions {
  std::vector<std::string> calib;  // data specs (calibration_data.hpp); optional with dynamic
  int64_t calib_size = 0;          // samples; 0: fashion-mnist 1024, a folder all of it
  QdqConfig qdq;
  ObserverConfig observer;
  bool dynamic = false;
  bool cross_layer_equalization = false;
  bool bias_correction = false;
  bool gptq = false;  // weights rounded by GPTQ (gptq.hpp) where it can
  // > 0: the quantized weights take at most this fraction of the float model's initializer bytes;
  // per-channel layers go per tensor, least costly first, until they do (weight_budget.hpp).
  double weight_budget = 0;
  bool sensitivity = false;
  std::string state_file;  // calibration state, saved after every batch; resumed when present
  int threads = 0;
  bool progress = false;  // a status line on a terminal
};

struct QuantizeResult {
  Model model;
  std::vector<QuantizedLayer> layers;
  // Node name -> SQNR (dB) of its output against the float model's, on one batch (the error
  // accumulated up to that layer). Missing when there was no data.
  std::map<std::string, double> output_sqnr_db;
  int64_t calibration_batches = 0, calibration_samples = 0;
  int64_t resumed_batches = 0;     // batches restored from the state file
  size_t cle_pairs = 0;            // layer pairs cross-layer equalization rescaled
  int64_t high_bias_channels = 0;  // channels whose bias moved into the next layer (with --cle)
  size_t bias_corrected = 0;       // layers whose bias was corrected
  size_t gptq_layers = 0;          // layers whose weights GPTQ rounded
  // With a weight budget: its bytes, the layers it moved to one scale, whether that sufficed.
  uint64_t weight_budget_bytes = 0;
  std::set<std::string> budget_per_tensor;
  bool budget_met = true;
  std::vector<LayerSensitivity> sensitivity;
  std::string sensitivity_metric;  // "accuracy" or "output SQNR dB"
  std::string sensitivity_data;    // where accuracy was measured
  double float_score = 0;          // the float model's accuracy (accuracy metric only)
};

QuantizeResult quantize_model(const Model& float_model, const QuantizeOptions& options);

// The model's inputs a caller feeds (graph inputs that are not initializers).
std::vector<ValueInfo> fed_inputs(const Model& model);

}  // namespace nnaccel
