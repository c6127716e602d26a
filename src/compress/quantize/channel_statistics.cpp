#include "compress/quantize/channel_statistics.hpp"

#include <algorithm>
#include <cmath>

#include "core/check.hpp"
#include "ir/passes/passes.hpp"

namespace nnaccel {

ForEachBatch batches_of(const std::vector<std::map<std::string, Tensor>>& batches) {
  return [&batches](const std::function<void(const std::map<std::string, Tensor>&)>& each) {
    for (const auto& b : batches) each(b);
  };
}

void ChannelStats::add(const Tensor& t, int axis, const std::string& what) {
  if (t.dtype() != DType::f32) fail("'{}' is {}, not float32", what, dtype_name(t.dtype()));
  const int a = axis < 0 ? axis + t.rank() : axis;
  if (a < 0 || a >= t.rank())
    fail("'{}' has shape {}: no channel axis {}", what, shape_str(t.shape()), axis);
  const int64_t channels = t.dim(a);
  if (!sum.empty() && static_cast<int64_t>(sum.size()) != channels)
    fail("'{}' has {} channels in one batch and {} in another", what, sum.size(), channels);
  if (sum.empty()) {
    sum.assign(static_cast<size_t>(channels), 0.0);
    min.assign(static_cast<size_t>(channels), INFINITY);
    max.assign(static_cast<size_t>(channels), -INFINITY);
  }
  int64_t inner = 1;
  for (int d = a + 1; d < t.rank(); ++d) inner *= t.dim(d);
  if (channels == 0 || inner == 0) return;
  const int64_t outer = t.numel() / (inner * channels);
  const float* p = t.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      const float* q = p + (o * channels + c) * inner;
      double s = 0, lo = min[static_cast<size_t>(c)], hi = max[static_cast<size_t>(c)];
      for (int64_t i = 0; i < inner; ++i) {
        s += q[i];
        lo = std::min(lo, static_cast<double>(q[i]));
        hi = std::max(hi, static_cast<double>(q[i]));
      }
      sum[static_cast<size_t>(c)] += s;
      min[static_cast<size_t>(c)] = lo;
      max[static_cast<size_t>(c)] = hi;
    }
  count += outer * inner;
}

std::vector<double> ChannelStats::mean() const {
  std::vector<double> m(sum);
  for (double& v : m) v /= static_cast<double>(std::max<int64_t>(count, 1));
  return m;
}

int64_t for_each_value_batch(const Model& model, const std::vector<std::string>& values,
                             const ForEachBatch& batches, const SessionOptions& options,
                             const std::function<void(const std::vector<Tensor>&)>& each) {
  Model m = model;
  m.graph.outputs.clear();
  for (const std::string& v : values) {
    bool listed = false;
    for (const ValueInfo& o : m.graph.outputs) listed |= o.name == v;
    if (!listed) m.graph.outputs.push_back(ValueInfo{v, {}, ""});
  }
  remove_dead_nodes(m);
  Session session(std::move(m), options);
  std::vector<size_t> index;
  for (const std::string& v : values) {
    const std::vector<ValueInfo>& outs = session.outputs();
    size_t k = 0;
    while (k < outs.size() && outs[k].name != v) ++k;
    NNA_CHECK(k < outs.size(), "the model does not compute '{}'", v);
    index.push_back(k);
  }
  int64_t n = 0;
  std::vector<Tensor> picked(values.size());
  batches([&](const std::map<std::string, Tensor>& feeds) {
    std::vector<Tensor> outs = session.run(feeds);
    for (size_t k = 0; k < values.size(); ++k) picked[k] = outs[index[k]];
    each(picked);
    ++n;
  });
  if (n == 0) fail("no calibration batches");
  return n;
}

std::vector<ChannelStats> measure_channels(const Model& model,
                                           const std::vector<ChannelValue>& values,
                                           const ForEachBatch& batches,
                                           const SessionOptions& options, int64_t* batch_count) {
  std::vector<std::string> names;
  for (const ChannelValue& v : values) names.push_back(v.name);
  std::vector<ChannelStats> stats(values.size());
  const int64_t n =
      for_each_value_batch(model, names, batches, options, [&](const std::vector<Tensor>& outs) {
        for (size_t k = 0; k < values.size(); ++k)
          stats[k].add(outs[k], values[k].axis, values[k].name);
      });
  if (batch_count) *batch_count = n;
  return stats;
}

}  // namespace nnaccel
