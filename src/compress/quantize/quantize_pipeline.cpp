#include "compress/quantize/quantize_pipeline.hpp"

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include "compress/quantize/bias_correction.hpp"
#include "compress/quantize/calibrator.hpp"
#include "compress/quantize/cross_layer_equalization.hpp"
#include "compress/quantize/gptq.hpp"
#include "compress/quantize/high_bias_absorption.hpp"
#include "compress/quantize/quantize_dynamic.hpp"
#include "compress/quantize/weight_budget.hpp"
#include "core/atomic_file.hpp"
#include "core/check.hpp"
#include "ir/passes/passes.hpp"
#include "report/output_agreement.hpp"
#include "train/progress.hpp"

namespace nnaccel {

namespace {

constexpr int64_t kFashionMnistCalibrationSamples = 1024;
constexpr size_t kSensitivityBatches = 4;  // output-SQNR sensitivity: batches scored per layer

// Sessions may rewrite what they hold; the caller's weights stay untouched.
Model with_own_weights(const Model& m) {
  Model copy = m;
  for (auto& [name, t] : copy.graph.initializers) t = t.clone();
  return copy;
}

// Sensitivity and exclusion work by node name: every node gets one.
void name_nodes(Model& m) {
  std::set<std::string> used;
  for (const Node& n : m.graph.nodes) used.insert(n.name);
  int k = 0;
  for (Node& n : m.graph.nodes) {
    if (!n.name.empty()) continue;
    std::string name;
    do {
      name = n.op_type + "_" + std::to_string(k++);
    } while (used.count(name));
    used.insert(name);
    n.name = name;
  }
}

Model with_outputs(const Model& model, const std::vector<std::string>& values) {
  Model m = with_own_weights(model);
  std::set<std::string> present;
  for (const ValueInfo& v : m.graph.outputs) present.insert(v.name);
  for (const std::string& name : values)
    if (present.insert(name).second) m.graph.outputs.push_back(ValueInfo{name, {}, ""});
  return m;
}

CalibrationDataOptions data_options(const QuantizeOptions& o) {
  CalibrationDataOptions d;
  d.max_samples = o.calib_size;
  if (d.max_samples == 0 && o.calib.size() == 1 && o.calib[0] == "fashion-mnist")
    d.max_samples = kFashionMnistCalibrationSamples;
  return d;
}

// The state file: a header naming the data, then the calibrator's own state.
std::string state_header(const CalibrationData& data, const QuantizeOptions& o) {
  return fmt::format("nnaccel-quantize-state 1\ndata {}\ncalib-size {}\n", data.description(),
                     data_options(o).max_samples);
}

// Restores the calibrator and the data position from the state file, if there is one; returns
// the batches restored.
int64_t resume(const std::string& path, const std::string& header, Calibrator& cal,
               CalibrationData& data) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return 0;
  if (!std::filesystem::is_regular_file(path, ec)) fail("--calib-state '{}' is not a file", path);
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) fail("--calib-state '{}' cannot be read", path);
  const std::string s = text.str();
  if (s.rfind("nnaccel-quantize-state 1\n", 0) != 0)
    fail("--calib-state '{}' is not an nnaccel quantize state", path);
  const size_t seen_at = s.find("seen ", header.size());
  if (s.compare(0, header.size(), header) != 0 || seen_at != header.size())
    fail("--calib-state '{}' was made with other calibration data or --calib-size", path);
  const size_t eol = s.find('\n', seen_at);
  int64_t samples = -1;
  try {
    samples = eol == std::string::npos ? -1 : std::stoll(s.substr(seen_at + 5, eol - seen_at - 5));
  } catch (...) {
    samples = -1;
  }
  if (samples < 0) fail("--calib-state '{}' is malformed", path);
  try {
    cal.load_state(s.substr(eol + 1));
  } catch (const Error& e) {
    fail("--calib-state '{}': {}", path, e.what());
  }
  data.skip(cal.batches(), samples);
  return cal.batches();
}

// SQNR of each quantized layer's output against the float model's on one batch.
std::map<std::string, double> layer_output_sqnr(const Model& float_model, const Model& quantized,
                                                const std::vector<QuantizedLayer>& layers,
                                                const std::map<std::string, Tensor>& feeds,
                                                const SessionOptions& so) {
  std::vector<std::string> values;
  std::map<std::string, std::string> node_of;  // output value -> node
  for (const QuantizedLayer& l : layers)
    for (const Node& n : float_model.graph.nodes)
      if (n.name == l.node && !n.outputs.empty()) {
        values.push_back(n.outputs[0]);
        node_of[n.outputs[0]] = n.name;
      }
  Session fs(with_outputs(float_model, values), so);
  Session qs(with_outputs(quantized, values), so);
  std::vector<Tensor> fo = fs.run(feeds), qo = qs.run(feeds);
  std::map<std::string, double> out;
  for (size_t i = 0; i < fs.outputs().size(); ++i) {
    auto it = node_of.find(fs.outputs()[i].name);
    if (it == node_of.end()) continue;
    for (size_t j = 0; j < qs.outputs().size(); ++j) {
      if (qs.outputs()[j].name != it->first) continue;
      OutputAgreementAccumulator acc;
      acc.add(fo[i], qo[j], it->first);
      out[it->second] = acc.result().sqnr_db;
    }
  }
  return out;
}

}  // namespace

std::vector<ValueInfo> fed_inputs(const Model& model) {
  std::vector<ValueInfo> out;
  for (const ValueInfo& v : model.graph.inputs)
    if (!model.graph.initializers.count(v.name)) out.push_back(v);
  return out;
}

QuantizeResult quantize_model(const Model& float_model, const QuantizeOptions& o) {
  NNA_CHECK(!(o.dynamic && o.bias_correction),
            "--bias-correction: needs static quantization (a QDQ model), not --dynamic");
  NNA_CHECK(o.calib_size >= 0, "--calib-size must be at least 1 (given {})", o.calib_size);
  NNA_CHECK(o.dynamic || !o.calib.empty(),
            "--calib is required (fashion-mnist, a folder of .npy batches, or NAME=DIR per "
            "input) unless --dynamic");
  NNA_CHECK(!(o.dynamic && !o.state_file.empty()),
            "--calib-state: dynamic quantization does not calibrate");
  NNA_CHECK(!(o.dynamic && o.weight_budget > 0),
            "--weight-budget: needs static quantization (a QDQ model), not --dynamic");
  NNA_CHECK(o.weight_budget == 0 || (o.weight_budget > 0 && o.weight_budget <= 1),
            "--weight-budget: {} is not a fraction of the float weights in (0, 1]",
            o.weight_budget);
  NNA_CHECK(!(o.dynamic && o.sensitivity),
            "--sensitivity: needs static quantization (calibrated ranges), not --dynamic");
  SessionOptions so;
  so.threads = o.threads;

  Model m = with_own_weights(float_model);
  optimize(m, OptimizeOptions{.fuse = false});
  name_nodes(m);
  QuantizeResult r;
  const std::vector<ValueInfo> inputs = fed_inputs(m);
  auto one_batch = [&]() -> std::optional<DataBatch> {
    if (o.calib.empty()) return std::nullopt;
    CalibrationData d(o.calib, inputs, data_options(o));
    return d.next();
  };
  // The calibration batches, streamed again for each pass that needs them.
  ForEachBatch calibration_batches =
      [&](const std::function<void(const std::map<std::string, Tensor>&)>& each) {
        CalibrationData d(o.calib, inputs, data_options(o));
        while (std::optional<DataBatch> b = d.next()) each(b->feeds);
      };
  if (o.cross_layer_equalization) {
    r.cle_pairs = cross_layer_equalize(m).pairs.size();
    // Equalization scales biases up with their channels; what a Relu layer's pre-activation
    // never goes below moves into the next layer (needs data: skipped without --calib).
    if (!o.calib.empty()) {
      HighBiasOptions ho;
      ho.session = so;
      for (const AbsorbedPair& p : absorb_high_bias(m, calibration_batches, ho).pairs)
        r.high_bias_channels += p.channels_absorbed;
    }
  }

  if (o.dynamic) {
    DynamicQuantConfig dc;
    dc.op_types = o.qdq.op_types;
    dc.exclude = o.qdq.exclude;
    dc.per_channel = o.qdq.per_channel;
    r.model = m;
    r.layers = quantize_dynamic(r.model, dc);
    NNA_CHECK(!r.layers.empty(), "nothing to quantize: no {} node with a constant float weight{}",
              fmt::join(o.qdq.op_types, "/"), o.qdq.exclude.empty() ? "" : " outside --exclude");
    // Layers that shared a float weight share its integers again (one copy in the file).
    share_identical_initializers(r.model);
    if (std::optional<DataBatch> b = one_batch())
      r.output_sqnr_db = layer_output_sqnr(m, r.model, r.layers, b->feeds, so);
    return r;
  }

  const std::vector<std::string> acts =
      o.sensitivity ? sensitivity_activations(m, o.qdq) : qdq_activations(m, o.qdq);
  NNA_CHECK(!acts.empty(), "nothing to quantize: no {} node with a constant float weight{}",
            fmt::join(o.qdq.op_types, "/"), o.qdq.exclude.empty() ? "" : " outside --exclude");
  ObserverConfig oc = o.observer;
  oc.qtype = o.qdq.activation_type;
  oc.symmetric = o.qdq.activation_symmetric;
  Calibrator cal(with_own_weights(m), acts, oc, so);
  CalibrationData data(o.calib, inputs, data_options(o));
  const std::string header = state_header(data, o);
  if (!o.state_file.empty()) r.resumed_batches = resume(o.state_file, header, cal, data);
  train::Progress progress(o.progress);
  const int64_t total = data.total_batches();
  int64_t images = 0;
  while (std::optional<DataBatch> b = data.next()) {
    cal.observe(b->feeds);
    if (!o.state_file.empty())
      write_file_atomic(o.state_file,
                        header + fmt::format("seen {}\n", data.samples_read()) + cal.save_state());
    images += b->samples;
    progress.update(fmt::format("calibrating batch {}/{}", data.batches_read(), total), images,
                    data.batches_read(), total);
  }
  progress.clear();
  NNA_CHECK(cal.batches() > 0, "calibration data '{}' gave no batch", data.description());
  r.calibration_batches = cal.batches();
  r.calibration_samples = data.samples_read();
  const std::map<std::string, QuantRange> ranges = cal.ranges();
  r.model = m;
  std::map<std::string, WeightHessian> hessians;
  QdqConfig qdq = o.qdq;
  if (o.gptq) {
    std::set<std::string> layers;
    for (const Node& n : m.graph.nodes)
      if (qdq.op_types.count(n.op_type) && !qdq.exclude.count(n.name)) layers.insert(n.name);
    hessians = collect_weight_hessians(m, layers, calibration_batches, so);
    qdq.hessians = &hessians;
  }
  r.layers = quantize_to_qdq(r.model, ranges, qdq);
  if (o.weight_budget > 0) {
    r.weight_budget_bytes = static_cast<uint64_t>(
        o.weight_budget * static_cast<double>(initializer_bytes(float_model)));
    // The per-channel report ranks the layers; each round measures the weights as they will be
    // saved (shared weights counted once) and moves more layers while they are over the budget.
    const std::vector<QuantizedLayer> per_channel = r.layers;
    for (int round = 0; round < 8; ++round) {
      Model measured = r.model;
      share_identical_initializers(measured);
      const uint64_t have = initializer_bytes(measured);
      if (have <= r.weight_budget_bytes) break;
      const GranularityChoice c =
          per_tensor_layers_for(per_channel, have - r.weight_budget_bytes, r.budget_per_tensor);
      if (c.per_tensor.empty()) break;
      r.budget_per_tensor.insert(c.per_tensor.begin(), c.per_tensor.end());
      qdq.per_tensor = o.qdq.per_tensor;
      qdq.per_tensor.insert(r.budget_per_tensor.begin(), r.budget_per_tensor.end());
      r.model = m;
      r.layers = quantize_to_qdq(r.model, ranges, qdq);
    }
  }
  for (const QuantizedLayer& l : r.layers) r.gptq_layers += l.gptq;

  if (o.bias_correction) {
    BiasCorrectionOptions bo;
    bo.session = so;
    r.bias_corrected = correct_bias(r.model, m, calibration_batches, bo).layers.size();
  }

  share_identical_initializers(r.model);
  if (o.weight_budget > 0) r.budget_met = initializer_bytes(r.model) <= r.weight_budget_bytes;

  if (std::optional<DataBatch> b = one_batch())
    r.output_sqnr_db = layer_output_sqnr(m, r.model, r.layers, b->feeds, so);

  if (o.sensitivity) {
    ModelScore score;
    // Accuracy where the data has labels: Fashion-MNIST's test split (the calibration images are
    // from the train split), or a folder's labels.npy.
    std::error_code ec;
    const bool fashion = o.calib.size() == 1 && o.calib[0] == "fashion-mnist";
    const bool labeled = fashion || (o.calib.size() == 1 &&
                                     std::filesystem::exists(o.calib[0] + "/inputs.npy", ec) &&
                                     std::filesystem::exists(o.calib[0] + "/labels.npy", ec));
    if (labeled) {
      EvalOptions eo;
      eo.threads = o.threads;
      eo.progress = o.progress;
      score = accuracy_score(load_labeled_data(o.calib[0], false), eo);
      r.sensitivity_metric = "accuracy";
      r.sensitivity_data = fashion ? "the fashion-mnist test split" : o.calib[0];
      r.float_score = score(m);
    } else {
      std::vector<std::map<std::string, Tensor>> batches;
      CalibrationData d(o.calib, inputs, data_options(o));
      while (batches.size() < kSensitivityBatches)
        if (std::optional<DataBatch> b = d.next())
          batches.push_back(b->feeds);
        else
          break;
      score = output_sqnr_score(m, std::move(batches), so);
      r.sensitivity_metric = "output SQNR dB";
    }
    r.sensitivity = layer_sensitivity(m, ranges, o.qdq, score);
  }
  return r;
}

}  // namespace nnaccel
