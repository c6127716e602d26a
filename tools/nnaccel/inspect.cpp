// nnaccel inspect: what a model holds.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "ir/shape_inference.hpp"
#include "nnaccel/onnx_io.hpp"

namespace nnaccel::cli {

namespace {

std::string dims_str(const TypeInfo& t) {
  if (!t.has_shape) return "?";
  std::string s = "[";
  for (size_t i = 0; i < t.dims.size(); ++i) {
    if (i) s += ",";
    const Dim& d = t.dims[i];
    s += d.known() ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param);
  }
  return s + "]";
}

nlohmann::json dims_json(const TypeInfo& t) {
  if (!t.has_shape) return nullptr;
  nlohmann::json a = nlohmann::json::array();
  for (const Dim& d : t.dims) {
    if (d.known()) a.push_back(d.value);
    else if (!d.param.empty()) a.push_back(d.param);
    else a.push_back(nullptr);
  }
  return a;
}

void count_ops(const Graph& g, std::map<std::string, int64_t>& hist) {
  for (const Node& n : g.nodes) {
    ++hist[n.domain.empty() ? n.op_type : n.domain + "::" + n.op_type];
    for (const Attribute& a : n.attrs) {
      if (a.g) count_ops(*a.g, hist);
      for (const auto& sg : a.graphs) count_ops(*sg, hist);
    }
  }
}

// Parameters: float initializers and Constant tensors, in this graph and its subgraphs.
void count_params(const Graph& g, int64_t& params, std::map<std::string, int64_t>& bytes) {
  for (const auto& [name, t] : g.initializers) {
    if (dtype_is_float(t.dtype())) params += t.numel();
    bytes[dtype_name(t.dtype())] += static_cast<int64_t>(t.nbytes());
  }
  for (const Node& n : g.nodes)
    for (const Attribute& a : n.attrs) {
      if (a.kind == Attribute::Kind::t) {
        if (dtype_is_float(a.t.dtype())) params += a.t.numel();
        bytes[dtype_name(a.t.dtype())] += static_cast<int64_t>(a.t.nbytes());
      }
      if (a.g) count_params(*a.g, params, bytes);
      for (const auto& sg : a.graphs) count_params(*sg, params, bytes);
    }
}

}  // namespace

int run_inspect(const InspectOptions& o) {
  Model m = load_onnx(o.model);
  std::vector<ValueInfo> inputs;
  for (const ValueInfo& v : m.graph.inputs)
    if (!m.graph.initializers.count(v.name)) inputs.push_back(v);
  // Output shapes as inferred (exporters often leave them out).
  ShapeInferenceResult shapes = infer_shapes(m.graph);
  std::vector<ValueInfo> outputs = m.graph.outputs;
  for (ValueInfo& v : outputs) {
    auto it = shapes.types.find(v.name);
    if (it != shapes.types.end() && it->second.dtype != DType::undefined) v.type = it->second;
  }
  std::map<std::string, int64_t> hist;
  count_ops(m.graph, hist);
  int64_t params = 0;
  std::map<std::string, int64_t> bytes;
  count_params(m.graph, params, bytes);

  if (o.json) {
    nlohmann::json j;
    j["producer"] = m.producer_name + (m.producer_version.empty() ? "" : " " + m.producer_version);
    auto vals = [&](const std::vector<ValueInfo>& vs) {
      nlohmann::json a = nlohmann::json::array();
      for (const ValueInfo& v : vs)
        a.push_back({{"name", v.name}, {"dtype", dtype_name(v.type.dtype)}, {"shape", dims_json(v.type)}});
      return a;
    };
    j["inputs"] = vals(inputs);
    j["outputs"] = vals(outputs);
    j["ops"] = hist;
    nlohmann::json opsets;
    for (const auto& [d, v] : m.opsets) opsets[d.empty() ? "ai.onnx" : d] = d.empty() ? m.file_opset : v;
    j["opsets"] = opsets;
    j["parameters"] = params;
    j["bytes_by_dtype"] = bytes;
    int64_t nodes = 0;
    for (const auto& [k, v] : hist) nodes += v;
    j["nodes"] = nodes;
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("model: {}\n", o.model);
  if (!m.producer_name.empty()) fmt::print("producer: {} {}\n", m.producer_name, m.producer_version);
  std::string opsets;
  for (const auto& [d, v] : m.opsets)
    opsets += fmt::format("{}{}={}", opsets.empty() ? "" : ", ", d.empty() ? "ai.onnx" : d,
                          d.empty() ? m.file_opset : v);
  fmt::print("opsets: {} (loaded as ai.onnx={})\n", opsets, kCanonicalOpset);
  fmt::print("inputs:\n");
  for (const ValueInfo& v : inputs) fmt::print("  {} {} {}\n", v.name, dtype_name(v.type.dtype), dims_str(v.type));
  fmt::print("outputs:\n");
  for (const ValueInfo& v : outputs) fmt::print("  {} {} {}\n", v.name, dtype_name(v.type.dtype), dims_str(v.type));
  int64_t nodes = 0;
  for (const auto& [k, v] : hist) nodes += v;
  fmt::print("ops ({} nodes):\n", nodes);
  std::vector<std::pair<int64_t, std::string>> sorted;
  for (const auto& [k, v] : hist) sorted.emplace_back(-v, k);
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [c, k] : sorted) fmt::print("  {:<28} {}\n", k, -c);
  fmt::print("parameters: {}\n", params);
  fmt::print("bytes by dtype:\n");
  for (const auto& [k, v] : bytes) fmt::print("  {:<10} {}\n", k, v);
  return 0;
}

}  // namespace nnaccel::cli
