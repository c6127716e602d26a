#pragma once
// Deep comparison of Models for the export round-trip tests: "" when equal, else where they first
// differ. Tensors compare by dtype, shape and bytes (so NaNs compare equal to themselves).
#include <cstring>
#include <string>

#include "nnaccel/graph.hpp"

namespace nnaccel::testing {

inline std::string diff_tensor(const Tensor& a, const Tensor& b, const std::string& where) {
  if (a.defined() != b.defined()) return where + ": defined differs";
  if (!a.defined()) return "";
  if (a.dtype() != b.dtype()) return where + ": dtype differs";
  if (a.shape() != b.shape())
    return where + ": shape " + shape_str(a.shape()) + " vs " + shape_str(b.shape());
  if (a.nbytes() != b.nbytes() || std::memcmp(a.raw(), b.raw(), a.nbytes()) != 0)
    return where + ": bytes differ";
  return "";
}

inline std::string diff_graph(const Graph& a, const Graph& b, const std::string& where);

inline std::string diff_attr(const Attribute& a, const Attribute& b, const std::string& where) {
  std::string w = where + " attribute '" + a.name + "'";
  if (a.name != b.name) return w + ": name differs from '" + b.name + "'";
  if (a.kind != b.kind) return w + ": kind differs";
  if (a.doc != b.doc) return w + ": doc differs";
  using K = Attribute::Kind;
  switch (a.kind) {
    case K::f:
      return std::memcmp(&a.f, &b.f, sizeof(float)) == 0 ? "" : w + ": value differs";
    case K::i:
      return a.i == b.i ? "" : w + ": value differs";
    case K::s:
      return a.s == b.s ? "" : w + ": value differs";
    case K::t:
      return diff_tensor(a.t, b.t, w);
    case K::g:
      return diff_graph(*a.g, *b.g, w);
    case K::floats:
      if (a.floats.size() != b.floats.size()) return w + ": length differs";
      return a.floats.empty() ||
                     std::memcmp(a.floats.data(), b.floats.data(), a.floats.size() * 4) == 0
                 ? ""
                 : w + ": values differ";
    case K::ints:
      return a.ints == b.ints ? "" : w + ": values differ";
    case K::strings:
      return a.strings == b.strings ? "" : w + ": values differ";
    case K::tensors:
      if (a.tensors.size() != b.tensors.size()) return w + ": count differs";
      for (size_t i = 0; i < a.tensors.size(); ++i) {
        std::string d = diff_tensor(a.tensors[i], b.tensors[i], w);
        if (!d.empty()) return d;
      }
      return "";
    case K::graphs:
      if (a.graphs.size() != b.graphs.size()) return w + ": count differs";
      for (size_t i = 0; i < a.graphs.size(); ++i) {
        std::string d = diff_graph(*a.graphs[i], *b.graphs[i], w);
        if (!d.empty()) return d;
      }
      return "";
    case K::undefined:
      return "";
  }
  return "";
}

inline std::string diff_values(const std::vector<ValueInfo>& a, const std::vector<ValueInfo>& b,
                               const std::string& where) {
  if (a.size() != b.size()) return where + ": count differs";
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i])) return where + " '" + a[i].name + "': name or type differs";
    if (a[i].doc != b[i].doc) return where + " '" + a[i].name + "': doc differs";
  }
  return "";
}

inline std::string diff_graph(const Graph& a, const Graph& b, const std::string& where) {
  std::string w = where + " graph '" + a.name + "'";
  if (a.name != b.name) return w + ": name differs";
  if (a.doc != b.doc) return w + ": doc differs";
  std::string d;
  if (!(d = diff_values(a.inputs, b.inputs, w + " input")).empty()) return d;
  if (!(d = diff_values(a.outputs, b.outputs, w + " output")).empty()) return d;
  if (!(d = diff_values(a.value_info, b.value_info, w + " value_info")).empty()) return d;
  if (a.initializers.size() != b.initializers.size()) return w + ": initializer count differs";
  for (const auto& [name, t] : a.initializers) {
    auto it = b.initializers.find(name);
    if (it == b.initializers.end()) return w + ": initializer '" + name + "' is missing";
    if (!(d = diff_tensor(t, it->second, w + " initializer '" + name + "'")).empty()) return d;
  }
  if (a.nodes.size() != b.nodes.size()) return w + ": node count differs";
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node &x = a.nodes[i], &y = b.nodes[i];
    std::string nw = w + " node " + std::to_string(i) + " (" + x.describe() + ")";
    if (x.name != y.name || x.op_type != y.op_type || x.domain != y.domain)
      return nw + ": name, op or domain differs";
    if (x.inputs != y.inputs) return nw + ": inputs differ";
    if (x.outputs != y.outputs) return nw + ": outputs differ";
    if (x.doc != y.doc) return nw + ": doc differs";
    if (x.attrs.size() != y.attrs.size()) return nw + ": attribute count differs";
    for (size_t k = 0; k < x.attrs.size(); ++k)
      if (!(d = diff_attr(x.attrs[k], y.attrs[k], nw)).empty()) return d;
  }
  return "";
}

// Everything but ir_version (export writes at least 8, which opset 17 needs).
inline std::string diff_model(const Model& a, const Model& b) {
  if (a.opsets != b.opsets) return "opsets differ";
  if (a.producer_name != b.producer_name || a.producer_version != b.producer_version)
    return "producer differs";
  if (a.domain != b.domain || a.model_version != b.model_version || a.doc != b.doc)
    return "model domain, version or doc differs";
  if (a.metadata != b.metadata) return "metadata differs";
  return diff_graph(a.graph, b.graph, "main");
}

}  // namespace nnaccel::testing
