#include "compress/quantize/calibrator.hpp"

#include <set>
#include <sstream>

#include "core/check.hpp"

namespace nnaccel {

namespace {

Model with_outputs(const Model& model, const std::vector<std::string>& values) {
  Model m = model;
  std::set<std::string> produced, present;
  for (const Node& n : m.graph.nodes)
    for (const std::string& o : n.outputs) produced.insert(o);
  for (const ValueInfo& v : m.graph.inputs) produced.insert(v.name);
  for (const ValueInfo& v : m.graph.outputs) present.insert(v.name);
  for (const std::string& name : values) {
    if (!produced.count(name) || m.graph.initializers.count(name))
      fail("cannot calibrate '{}': the graph computes no value of that name", name);
    if (!present.count(name)) m.graph.outputs.push_back(ValueInfo{name, {}, ""});
  }
  return m;
}

}  // namespace

Calibrator::Calibrator(const Model& model, std::vector<std::string> values, ObserverConfig config,
                       SessionOptions options)
    : values_(std::move(values)),
      config_(config),
      session_(with_outputs(model, values_), options) {
  for (const std::string& name : values_) {
    observers_.emplace_back(config_);
    const std::vector<ValueInfo>& outs = session_.outputs();
    size_t index = outs.size();
    for (size_t i = 0; i < outs.size(); ++i)
      if (outs[i].name == name) index = i;
    output_index_.push_back(index);
  }
}

void Calibrator::observe(const std::map<std::string, Tensor>& feeds) {
  std::vector<Tensor> outs = session_.run(feeds);
  for (size_t k = 0; k < values_.size(); ++k) {
    const Tensor& t = outs[output_index_[k]];
    if (t.dtype() != DType::f32)
      fail("cannot calibrate '{}': it is {}, not float32", values_[k], dtype_name(t.dtype()));
    try {
      observers_[k].observe(t.data<float>(), t.numel());
    } catch (const Error& e) {
      fail("calibrating '{}' (batch {}): {}", values_[k], batches_ + 1, e.what());
    }
  }
  ++batches_;
}

std::map<std::string, QuantRange> Calibrator::ranges() const {
  std::map<std::string, QuantRange> r;
  for (size_t k = 0; k < values_.size(); ++k) r[values_[k]] = observers_[k].range();
  return r;
}

std::string Calibrator::save_state() const {
  std::ostringstream out;
  out << "nnaccel-calibration 1 " << batches_ << ' ' << values_.size() << '\n';
  for (size_t k = 0; k < values_.size(); ++k)
    out << values_[k] << '\n' << observers_[k].save() << '\n';
  return out.str();
}

void Calibrator::load_state(const std::string& state) {
  std::istringstream in(state);
  std::string magic, line;
  int version = 0;
  int64_t batches = -1;
  size_t count = 0;
  in >> magic >> version >> batches >> count;
  if (!in || magic != "nnaccel-calibration" || version != 1 || batches < 0)
    fail("calibration state is not an nnaccel calibration state (version 1)");
  if (count != values_.size())
    fail("calibration state observes {} values, this calibration {}", count, values_.size());
  std::getline(in, line);
  std::vector<CalibrationObserver> restored;
  for (size_t k = 0; k < count; ++k) {
    std::string name, observer;
    if (!std::getline(in, name) || !std::getline(in, observer))
      fail("calibration state is truncated");
    if (name != values_[k])
      fail("calibration state observes '{}' where this calibration observes '{}'", name,
           values_[k]);
    CalibrationObserver o = CalibrationObserver::load(observer);
    const ObserverConfig& c = o.config();
    if (c.method != config_.method || c.bins != config_.bins || c.qtype != config_.qtype ||
        c.symmetric != config_.symmetric || c.percentile != config_.percentile ||
        c.momentum != config_.momentum)
      fail("calibration state was made with other observer settings ({})",
           calibration_method_name(c.method));
    restored.push_back(std::move(o));
  }
  observers_ = std::move(restored);
  batches_ = batches;
}

}  // namespace nnaccel
