#pragma once
// Layer-wise quantization sensitivity: each layer quantized alone (the others kept in float),
// scored by a metric of the whole model, so the layers that cost the most accuracy show first and
// can be excluded (`nnaccel quantize --exclude`).
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "compress/quantize/quantize_qdq.hpp"
#include "nnaccel/graph.hpp"
#include "nnaccel/session.hpp"
#include "nnaccel/train.hpp"

namespace nnaccel {

// A score of a whole model; higher is better (accuracy, or output SQNR against the float model).
using ModelScore = std::function<double(const Model&)>;

struct LayerSensitivity {
  std::string node, op_type;
  double score = 0;  // the model's score with only this layer quantized
};

// Quantizes each layer `config` selects on its own with `ranges` (from calibrating the float
// model for `config`) and scores the result. Sorted by score, worst (most sensitive) first; ties
// keep graph order. Works by node name: unnamed layers are skipped and unnamed other nodes cannot
// be kept float (quantize_model names every node first).
std::vector<LayerSensitivity> layer_sensitivity(const Model& float_model,
                                                const std::map<std::string, QuantRange>& ranges,
                                                const QdqConfig& config, const ModelScore& score);

// The activations layer_sensitivity needs ranges for: what quantizing each candidate layer alone
// reads (with the others float, a layer's input may be a value the full quantization shares with
// a neighbour, e.g. a MaxPool output), together with what the full quantization needs.
std::vector<std::string> sensitivity_activations(const Model& float_model, const QdqConfig& config);

// Top-1 accuracy on labeled data (the evaluation `nnaccel eval` runs).
ModelScore accuracy_score(LabeledData data, EvalOptions options);

// SQNR (dB) of the first output against `reference`'s on the given batches (summed over them);
// infinity when equal.
ModelScore output_sqnr_score(const Model& reference,
                             std::vector<std::map<std::string, Tensor>> batches,
                             SessionOptions options = {});

}  // namespace nnaccel
