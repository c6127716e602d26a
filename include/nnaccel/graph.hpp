#pragma once
// The graph IR: ONNX's structure with values named by strings. One Graph is what the runtime
// executes and what the trainer differentiates. After import every node is in the canonical opset
// (kCanonicalOpset of the default domain): legacy forms are rewritten by the importer, so kernels
// and passes see one semantics per op.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nnaccel/tensor.hpp"

namespace nnaccel {

inline constexpr int64_t kCanonicalOpset = 17;

// A dimension: a known size, or unknown (value < 0) possibly with a symbolic name.
struct Dim {
  int64_t value = -1;
  std::string param;
  bool known() const { return value >= 0; }
  bool operator==(const Dim& o) const { return value == o.value && param == o.param; }
};

// The static type of a value: element type and, if known, rank and dims.
struct TypeInfo {
  DType dtype = DType::undefined;
  bool has_shape = false;
  std::vector<Dim> dims;
  bool operator==(const TypeInfo& o) const {
    return dtype == o.dtype && has_shape == o.has_shape && dims == o.dims;
  }
  static TypeInfo of(DType t, const Shape& s);
  bool fully_known() const;
  Shape known_shape() const;  // requires fully_known()
};

struct ValueInfo {
  std::string name;
  TypeInfo type;
  std::string doc;
  bool operator==(const ValueInfo& o) const { return name == o.name && type == o.type; }
};

struct Graph;

struct Attribute {
  enum class Kind { undefined, f, i, s, t, g, floats, ints, strings, tensors, graphs };
  std::string name;
  Kind kind = Kind::undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;  // bytes, not necessarily UTF-8
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  std::string doc;

  static Attribute of_int(std::string name, int64_t v);
  static Attribute of_float(std::string name, float v);
  static Attribute of_string(std::string name, std::string v);
  static Attribute of_tensor(std::string name, Tensor v);
  static Attribute of_graph(std::string name, std::shared_ptr<Graph> v);
  static Attribute of_ints(std::string name, std::vector<int64_t> v);
  static Attribute of_floats(std::string name, std::vector<float> v);
  static Attribute of_strings(std::string name, std::vector<std::string> v);
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;               // "" is the default ONNX domain
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attrs;
  std::string doc;

  const Attribute* attr(const std::string& name) const;
  Attribute* attr(const std::string& name);
  bool has_attr(const std::string& name) const { return attr(name) != nullptr; }
  // Typed getters: return the default when absent, throw Error when present with another kind.
  int64_t attr_int(const std::string& name, int64_t def) const;
  float attr_float(const std::string& name, float def) const;
  std::string attr_string(const std::string& name, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> def = {}) const;
  std::vector<float> attr_floats(const std::string& name, std::vector<float> def = {}) const;
  void set_attr(Attribute a);  // replaces an attribute of the same name
  void erase_attr(const std::string& name);
  // "Conv 'conv1'" for messages.
  std::string describe() const;
  // A node of the default domain without attributes.
  static Node of(std::string op_type, std::string name, std::vector<std::string> inputs,
                 std::vector<std::string> outputs) {
    Node n;
    n.op_type = std::move(op_type);
    n.name = std::move(name);
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    return n;
  }
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;
  std::map<std::string, Tensor> initializers;
  std::string doc;

  const ValueInfo* find_value_info(const std::string& name) const;
};

struct Model {
  Graph graph;
  std::map<std::string, int64_t> opsets;  // domain -> version ("" is ai.onnx)
  // The default-domain opset the file was written with, before the upgrade to kCanonicalOpset
  // (0 for models built in code).
  int64_t file_opset = 0;
  int64_t ir_version = 8;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc;
  std::vector<std::pair<std::string, std::string>> metadata;
};

}  // namespace nnaccel
