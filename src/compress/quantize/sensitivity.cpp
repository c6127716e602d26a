#include "compress/quantize/sensitivity.hpp"

#include <algorithm>
#include <set>

#include "core/check.hpp"
#include "report/output_agreement.hpp"

namespace nnaccel {

namespace {

// `config` with every node but `node` kept float (not only the other weighted layers: Add units
// and transparent ops would otherwise be quantized in every run).
QdqConfig only(const Model& m, const QdqConfig& config, const std::string& node) {
  QdqConfig one = config;
  for (const Node& n : m.graph.nodes)
    if (n.name != node && !n.name.empty()) one.exclude.insert(n.name);
  return one;
}

}  // namespace

std::vector<std::string> sensitivity_activations(const Model& float_model,
                                                 const QdqConfig& config) {
  std::vector<std::string> out = qdq_activations(float_model, config);
  std::set<std::string> seen(out.begin(), out.end());
  for (const Node& n : float_model.graph.nodes) {
    if (n.name.empty() || !config.op_types.count(n.op_type) || config.exclude.count(n.name))
      continue;
    for (const std::string& v : qdq_activations(float_model, only(float_model, config, n.name)))
      if (seen.insert(v).second) out.push_back(v);
  }
  return out;
}

std::vector<LayerSensitivity> layer_sensitivity(const Model& float_model,
                                                const std::map<std::string, QuantRange>& ranges,
                                                const QdqConfig& config, const ModelScore& score) {
  // The layers a full quantization touches: quantize a copy and read its report.
  std::vector<QuantizedLayer> layers;
  {
    Model all = float_model;
    layers = quantize_to_qdq(all, ranges, config);
  }
  std::vector<LayerSensitivity> out;
  for (const QuantizedLayer& layer : layers) {
    if (layer.node.empty()) continue;
    Model m = float_model;
    quantize_to_qdq(m, ranges, only(float_model, config, layer.node));
    out.push_back({layer.node, layer.op_type, score(m)});
  }
  std::stable_sort(
      out.begin(), out.end(),
      [](const LayerSensitivity& a, const LayerSensitivity& b) { return a.score < b.score; });
  return out;
}

ModelScore accuracy_score(LabeledData data, EvalOptions options) {
  return [data, options](const Model& m) { return evaluate_accuracy(m, data, options); };
}

ModelScore output_sqnr_score(const Model& reference,
                             std::vector<std::map<std::string, Tensor>> batches,
                             SessionOptions options) {
  NNA_CHECK(!batches.empty(), "output SQNR needs at least one batch");
  auto want = std::make_shared<std::vector<Tensor>>();
  {
    Model own = reference;  // the session may rewrite what it holds: not the caller's weights
    for (auto& [name, t] : own.graph.initializers) t = t.clone();
    Session s(std::move(own), options);
    for (const auto& feeds : batches) want->push_back(s.run(feeds)[0]);
  }
  auto feeds = std::make_shared<std::vector<std::map<std::string, Tensor>>>(std::move(batches));
  return [want, feeds, options](const Model& m) {
    Session s(m, options);
    OutputAgreementAccumulator acc;
    for (size_t k = 0; k < feeds->size(); ++k)
      acc.add((*want)[k], s.run((*feeds)[k])[0], s.outputs()[0].name);
    return acc.result().sqnr_db;
  };
}

}  // namespace nnaccel
