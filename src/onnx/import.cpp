// ONNX import: ModelProto -> Model, with every input-dependent check raising Error.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "core/check.hpp"
#include "ir/verifier.hpp"
#include "nnaccel/onnx_io.hpp"
#include "onnx/legacy_upgrade.hpp"
#include "onnx/proto_tensor.hpp"

namespace nnaccel {

namespace {

struct Importer {
  std::string base_dir;
  LoadOptions options;

  TypeInfo type_from_proto(const onnx::TypeProto& tp, const std::string& name) {
    TypeInfo t;
    if (!tp.has_tensor_type()) return t;  // sequences, optionals, maps: type unknown to us
    const auto& tt = tp.tensor_type();
    if (!dtype_is_known(tt.elem_type()))
      fail("value '{}': unknown element type {}", name, tt.elem_type());
    t.dtype = static_cast<DType>(tt.elem_type());
    if (tt.has_shape()) {
      t.has_shape = true;
      // The product of the non-zero dims must fit int64_t: kernels compute strides from it even
      // when another dim is 0.
      int64_t known = 1;
      for (const auto& d : tt.shape().dim()) {
        Dim dim;
        if (d.has_dim_value()) {
          if (d.dim_value() < 0) fail("value '{}': negative dimension {}", name, d.dim_value());
          if (d.dim_value() != 0 && __builtin_mul_overflow(known, d.dim_value(), &known))
            fail("value '{}': its dimensions multiply past the largest tensor size", name);
          dim.value = d.dim_value();
        } else if (d.has_dim_param()) {
          dim.param = d.dim_param();
        }
        t.dims.push_back(dim);
      }
    }
    return t;
  }

  ValueInfo value_info_from_proto(const onnx::ValueInfoProto& v) {
    ValueInfo vi;
    vi.name = v.name();
    vi.doc = v.doc_string();
    if (v.has_type()) vi.type = type_from_proto(v.type(), v.name());
    return vi;
  }

  Attribute attr_from_proto(const onnx::AttributeProto& a, int depth, const std::string& node) {
    Attribute r;
    r.name = a.name();
    r.doc = a.doc_string();
    using AP = onnx::AttributeProto;
    AP::AttributeType type = a.type();
    if (type == AP::UNDEFINED) {  // old files leave the type out: infer it from the field set
      if (a.has_f())
        type = AP::FLOAT;
      else if (a.has_i())
        type = AP::INT;
      else if (a.has_s())
        type = AP::STRING;
      else if (a.has_t())
        type = AP::TENSOR;
      else if (a.has_g())
        type = AP::GRAPH;
      else if (a.floats_size())
        type = AP::FLOATS;
      else if (a.ints_size())
        type = AP::INTS;
      else if (a.strings_size())
        type = AP::STRINGS;
      else if (a.tensors_size())
        type = AP::TENSORS;
      else if (a.graphs_size())
        type = AP::GRAPHS;
    }
    switch (type) {
      case AP::FLOAT:
        r.kind = Attribute::Kind::f;
        r.f = a.f();
        break;
      case AP::INT:
        r.kind = Attribute::Kind::i;
        r.i = a.i();
        break;
      case AP::STRING:
        r.kind = Attribute::Kind::s;
        r.s = a.s();
        break;
      case AP::TENSOR:
        r.kind = Attribute::Kind::t;
        r.t = tensor_from_proto(a.t(), base_dir);
        break;
      case AP::GRAPH:
        r.kind = Attribute::Kind::g;
        r.g = std::make_shared<Graph>(graph_from_proto(a.g(), depth + 1));
        break;
      case AP::FLOATS:
        r.kind = Attribute::Kind::floats;
        r.floats.assign(a.floats().begin(), a.floats().end());
        break;
      case AP::INTS:
        r.kind = Attribute::Kind::ints;
        r.ints.assign(a.ints().begin(), a.ints().end());
        break;
      case AP::STRINGS:
        r.kind = Attribute::Kind::strings;
        r.strings.assign(a.strings().begin(), a.strings().end());
        break;
      case AP::TENSORS:
        r.kind = Attribute::Kind::tensors;
        for (const auto& t : a.tensors()) r.tensors.push_back(tensor_from_proto(t, base_dir));
        break;
      case AP::GRAPHS:
        r.kind = Attribute::Kind::graphs;
        for (const auto& g : a.graphs())
          r.graphs.push_back(std::make_shared<Graph>(graph_from_proto(g, depth + 1)));
        break;
      default:
        fail("{}: attribute '{}' has an unsupported type {}", node, a.name(),
             static_cast<int>(type));
    }
    return r;
  }

  Graph graph_from_proto(const onnx::GraphProto& g, int depth) {
    if (depth > options.max_subgraph_depth)
      fail("subgraphs nested deeper than the limit of {}", options.max_subgraph_depth);
    Graph r;
    r.name = g.name();
    r.doc = g.doc_string();
    if (g.sparse_initializer_size() > 0)
      fail("graph '{}': sparse initializers are not supported", g.name());
    for (const auto& t : g.initializer()) {
      if (t.name().empty()) fail("graph '{}': an initializer has no name", g.name());
      if (r.initializers.count(t.name())) fail("initializer '{}' is defined twice", t.name());
      r.initializers[t.name()] = tensor_from_proto(t, base_dir);
    }
    for (const auto& v : g.input()) r.inputs.push_back(value_info_from_proto(v));
    for (const auto& v : g.output()) r.outputs.push_back(value_info_from_proto(v));
    for (const auto& v : g.value_info()) r.value_info.push_back(value_info_from_proto(v));
    for (const auto& n : g.node()) {
      Node node;
      node.name = n.name();
      node.op_type = n.op_type();
      node.domain = n.domain() == "ai.onnx" ? "" : n.domain();
      node.doc = n.doc_string();
      node.inputs.assign(n.input().begin(), n.input().end());
      node.outputs.assign(n.output().begin(), n.output().end());
      for (const auto& a : n.attribute()) {
        if (!a.ref_attr_name().empty())
          fail("{}: attribute references (functions) are not supported", node.describe());
        if (a.name().empty()) fail("{}: an attribute has no name", node.describe());
        if (node.has_attr(a.name()))
          fail("{}: attribute '{}' is given twice", node.describe(), a.name());
        node.attrs.push_back(attr_from_proto(a, depth, node.describe()));
      }
      r.nodes.push_back(std::move(node));
    }
    lift_constants(r);
    return r;
  }

  // Constant nodes holding a tensor larger than the threshold become initializers, so that
  // weights are in one place whichever exporter wrote the file (Paddle2ONNX uses Constants).
  void lift_constants(Graph& g) {
    std::vector<Node> kept;
    for (Node& n : g.nodes) {
      const Attribute* v = n.domain.empty() && n.op_type == "Constant" ? n.attr("value") : nullptr;
      if (v != nullptr && v->kind == Attribute::Kind::t && n.outputs.size() == 1 &&
          v->t.numel() > options.lift_constants_above && !g.initializers.count(n.outputs[0])) {
        g.initializers[n.outputs[0]] = v->t;
        continue;
      }
      kept.push_back(std::move(n));
    }
    g.nodes = std::move(kept);
  }
};

}  // namespace

Model load_onnx_bytes(const std::string& bytes, const std::string& base_dir,
                      const LoadOptions& options) {
  if (bytes.size() >= static_cast<size_t>(INT32_MAX))
    fail("model file is over 2 GB (protobuf's limit; large weights belong in external data)");
  if (bytes.empty()) fail("not a valid ONNX model (the file is empty)");
  onnx::ModelProto proto;
  {
    // Protobuf logs parse problems to stderr itself; the Error below is the one report.
    google::protobuf::LogSilencer quiet;
    google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
    google::protobuf::io::CodedInputStream coded(&raw);
    coded.SetTotalBytesLimit(INT32_MAX);
    // Each subgraph level nests GraphProto > NodeProto > AttributeProto: this admits more
    // than max_subgraph_depth levels, which graph_from_proto then reports by name.
    coded.SetRecursionLimit(200);
    if (!proto.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
      fail(
          "not a valid ONNX model (protobuf parse failed: truncated, corrupt or nested too "
          "deeply)");
  }
  if (!proto.has_graph()) fail("not a valid ONNX model (no graph)");

  Model m;
  m.ir_version = proto.ir_version();
  m.producer_name = proto.producer_name();
  m.producer_version = proto.producer_version();
  m.domain = proto.domain();
  m.model_version = proto.model_version();
  m.doc = proto.doc_string();
  for (const auto& kv : proto.metadata_props()) m.metadata.emplace_back(kv.key(), kv.value());
  for (const auto& o : proto.opset_import()) {
    std::string d = o.domain() == "ai.onnx" ? "" : o.domain();
    m.opsets[d] = o.version();
  }
  if (proto.functions_size() > 0) fail("model-local functions are not supported");
  Importer imp{base_dir, options};
  m.graph = imp.graph_from_proto(proto.graph(), 0);

  int64_t opset = m.opsets.count("") ? m.opsets[""] : 1;
  m.file_opset = opset;
  if (opset < 1) fail("invalid default opset version {}", opset);
  if (opset > kCanonicalOpset)
    fail("opset {} is newer than the newest supported ({})", opset, kCanonicalOpset);
  verify_graph(m.graph);
  if (opset < kCanonicalOpset || !m.opsets.count("")) {
    upgrade_to_canonical_opset(m, opset);
    verify_graph(m.graph);
  }
  return m;
}

Model load_onnx(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail("cannot open model '{}'", path);
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) fail("cannot open model '{}'", path);
  // Checked before reading: protobuf cannot parse it anyway.
  if (size >= static_cast<uintmax_t>(INT32_MAX))
    fail("{}: model file is over 2 GB (protobuf's limit; large weights belong in external data)",
         path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open model '{}'", path);
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size) fail("{}: could not read the model file", path);
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  try {
    return load_onnx_bytes(bytes, dir, options);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
}

}  // namespace nnaccel
