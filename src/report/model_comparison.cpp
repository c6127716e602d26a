#include "report/model_comparison.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "compress/quantize/calibration_data.hpp"
#include "compress/quantize/quantize_pipeline.hpp"
#include "core/check.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/session.hpp"
#include "nnaccel/train.hpp"
#include "train/progress.hpp"

namespace nnaccel {

namespace {

Model load_model(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail("model '{}' not found", path);
  try {
    return load_onnx(path);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
}

double median_latency_ms(Session& s, const std::map<std::string, Tensor>& feeds, int iters) {
  for (const auto& [name, t] : feeds) s.set_input(name, t);
  s.run();  // warm-up: the plan is compiled and weights packed on the first run
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    s.run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  return n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
}

// Accuracy as `nnaccel eval` measures it, when the data is labeled images.
double accuracy_of(const Model& m, const std::string& path, const CompareOptions& o) {
  LabeledData data = load_labeled_data(o.data[0], false);
  EvalOptions eo;
  eo.batch_size = o.batch;
  eo.threads = o.threads;
  eo.progress = o.progress;
  try {
    return evaluate_accuracy(m, data, eo);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
}

}  // namespace

uint64_t initializer_bytes(const Model& model) {
  uint64_t bytes = 0;
  for (const auto& [name, t] : model.graph.initializers) bytes += t.nbytes();
  return bytes;
}

ModelComparison compare_models(const std::string& a_path, const std::string& b_path,
                               const CompareOptions& o) {
  NNA_CHECK(o.batch >= 1 && o.batch <= 65536, "--batch: {} not in 1..65536", o.batch);
  NNA_CHECK(o.iters >= 1 && o.iters <= 100000, "--iters: {} not in 1..100000", o.iters);
  NNA_CHECK(o.threads >= 0 && o.threads <= 1024, "--threads: {} not in 0..1024", o.threads);
  ModelComparison r;
  const Model a = load_model(a_path), b = load_model(b_path);
  r.a.path = a_path;
  r.b.path = b_path;
  r.a.file_bytes = std::filesystem::file_size(a_path);
  r.b.file_bytes = std::filesystem::file_size(b_path);
  r.a.weight_bytes = initializer_bytes(a);
  r.b.weight_bytes = initializer_bytes(b);
  const std::vector<ValueInfo> inputs = fed_inputs(a), b_inputs = fed_inputs(b);
  for (const ValueInfo& v : inputs) {
    bool found = false;
    for (const ValueInfo& w : b_inputs) found = found || w.name == v.name;
    NNA_CHECK(found, "{} has no input '{}' (an input of {})", b_path, v.name, a_path);
  }
  NNA_CHECK(inputs.size() == b_inputs.size(), "{} has {} inputs, {} has {}", a_path, inputs.size(),
            b_path, b_inputs.size());
  NNA_CHECK(a.graph.outputs.size() == b.graph.outputs.size(), "{} has {} outputs, {} has {}",
            a_path, a.graph.outputs.size(), b_path, b.graph.outputs.size());

  CalibrationDataOptions dopt;
  dopt.batch_size = o.batch;
  dopt.train_split = false;
  dopt.shuffle = false;
  CalibrationData data(o.data, inputs, dopt);
  const bool labeled = data.has_labels();

  SessionOptions so;
  so.threads = o.threads;
  Session sa(a, so), sb(b, so);
  std::vector<OutputAgreementAccumulator> acc(sa.outputs().size());
  std::optional<DataBatch> timed;
  train::Progress progress(o.progress);
  const int64_t total = data.total_batches();
  while (std::optional<DataBatch> batch = data.next()) {
    std::vector<Tensor> ya, yb;
    try {
      ya = sa.run(batch->feeds);
    } catch (const Error& e) {
      fail("{}: {}", a_path, e.what());
    }
    try {
      yb = sb.run(batch->feeds);
    } catch (const Error& e) {
      fail("{}: {}", b_path, e.what());
    }
    for (size_t i = 0; i < ya.size(); ++i)
      if (ya[i].dtype() == DType::f32 && yb[i].dtype() == DType::f32)
        acc[i].add(ya[i], yb[i], "output '" + sa.outputs()[i].name + "'");
    if (!timed) timed = batch;
    r.samples += batch->samples;
    progress.update(fmt::format("comparing batch {}/{}", data.batches_read(), total), r.samples,
                    data.batches_read(), total);
  }
  progress.clear();
  NNA_CHECK(timed.has_value(), "data '{}' gave no batch", data.description());
  r.batches = data.batches_read();
  for (size_t i = 0; i < acc.size(); ++i)
    if (!acc[i].empty()) r.outputs.push_back({sa.outputs()[i].name, acc[i].result()});
  if (labeled) {
    r.a.accuracy = accuracy_of(a, a_path, o);
    r.b.accuracy = accuracy_of(b, b_path, o);
  }
  r.latency_batch = timed->samples;
  r.a.median_ms = median_latency_ms(sa, timed->feeds, o.iters);
  r.b.median_ms = median_latency_ms(sb, timed->feeds, o.iters);
  return r;
}

}  // namespace nnaccel
