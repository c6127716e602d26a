// ONNX export: Model -> ModelProto, written atomically; external data beyond protobuf's 2 GB.
#include <google/protobuf/stubs/logging.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.hpp"
#include "core/check.hpp"
#include "nnaccel/onnx_io.hpp"
#include "onnx/proto_tensor.hpp"

namespace nnaccel {

namespace {

void type_to_proto(const TypeInfo& t, onnx::TypeProto* p) {
  if (t.dtype == DType::undefined) return;
  auto* tt = p->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(t.dtype));
  if (!t.has_shape) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : t.dims) {
    auto* dp = shape->add_dim();
    if (d.known())
      dp->set_dim_value(d.value);
    else if (!d.param.empty())
      dp->set_dim_param(d.param);
  }
}

void value_info_to_proto(const ValueInfo& v, onnx::ValueInfoProto* p) {
  p->set_name(v.name);
  if (!v.doc.empty()) p->set_doc_string(v.doc);
  if (v.type.dtype != DType::undefined) type_to_proto(v.type, p->mutable_type());
}

struct Exporter {
  // When set, tensors of at least threshold bytes go to this external file.
  std::FILE* external = nullptr;
  std::string external_name;
  int64_t threshold = 0;
  int64_t external_offset = 0;

  void tensor(const Tensor& t, const std::string& name, onnx::TensorProto* p) {
    p->set_name(name);
    if (external != nullptr && static_cast<int64_t>(t.nbytes()) >= threshold) {
      p->set_data_type(static_cast<int32_t>(t.dtype()));
      for (int64_t d : t.shape()) p->add_dims(d);
      p->set_data_location(onnx::TensorProto::EXTERNAL);
      // Align each tensor to 4 KiB so a reader may map it.
      int64_t pad = (4096 - external_offset % 4096) % 4096;
      static const char zeros[4096] = {};
      if (pad &&
          std::fwrite(zeros, 1, static_cast<size_t>(pad), external) != static_cast<size_t>(pad))
        fail("could not write external data");
      external_offset += pad;
      if (std::fwrite(t.raw(), 1, t.nbytes(), external) != t.nbytes())
        fail("could not write external data");
      auto add = [&](const char* k, const std::string& v) {
        auto* e = p->add_external_data();
        e->set_key(k);
        e->set_value(v);
      };
      add("location", external_name);
      add("offset", std::to_string(external_offset));
      add("length", std::to_string(t.nbytes()));
      external_offset += static_cast<int64_t>(t.nbytes());
      return;
    }
    tensor_to_proto(t, p);
  }

  void attr(const Attribute& a, onnx::AttributeProto* p) {
    using AP = onnx::AttributeProto;
    p->set_name(a.name);
    if (!a.doc.empty()) p->set_doc_string(a.doc);
    switch (a.kind) {
      case Attribute::Kind::f:
        p->set_type(AP::FLOAT);
        p->set_f(a.f);
        break;
      case Attribute::Kind::i:
        p->set_type(AP::INT);
        p->set_i(a.i);
        break;
      case Attribute::Kind::s:
        p->set_type(AP::STRING);
        p->set_s(a.s);
        break;
      case Attribute::Kind::t:
        p->set_type(AP::TENSOR);
        tensor(a.t, "", p->mutable_t());
        break;
      case Attribute::Kind::g:
        p->set_type(AP::GRAPH);
        graph(*a.g, p->mutable_g());
        break;
      case Attribute::Kind::floats:
        p->set_type(AP::FLOATS);
        for (float f : a.floats) p->add_floats(f);
        break;
      case Attribute::Kind::ints:
        p->set_type(AP::INTS);
        for (int64_t i : a.ints) p->add_ints(i);
        break;
      case Attribute::Kind::strings:
        p->set_type(AP::STRINGS);
        for (const auto& s : a.strings) p->add_strings(s);
        break;
      case Attribute::Kind::tensors:
        p->set_type(AP::TENSORS);
        for (const auto& t : a.tensors) tensor(t, "", p->add_tensors());
        break;
      case Attribute::Kind::graphs:
        p->set_type(AP::GRAPHS);
        for (const auto& g : a.graphs) graph(*g, p->add_graphs());
        break;
      case Attribute::Kind::undefined:
        fail("attribute '{}' has no value", a.name);
    }
  }

  void graph(const Graph& g, onnx::GraphProto* p) {
    p->set_name(g.name);
    if (!g.doc.empty()) p->set_doc_string(g.doc);
    for (const auto& [name, t] : g.initializers) tensor(t, name, p->add_initializer());
    for (const ValueInfo& v : g.inputs) value_info_to_proto(v, p->add_input());
    for (const ValueInfo& v : g.outputs) value_info_to_proto(v, p->add_output());
    for (const ValueInfo& v : g.value_info) value_info_to_proto(v, p->add_value_info());
    for (const Node& n : g.nodes) {
      auto* np = p->add_node();
      np->set_op_type(n.op_type);
      if (!n.name.empty()) np->set_name(n.name);
      if (!n.domain.empty()) np->set_domain(n.domain);
      if (!n.doc.empty()) np->set_doc_string(n.doc);
      for (const auto& i : n.inputs) np->add_input(i);
      for (const auto& o : n.outputs) np->add_output(o);
      for (const Attribute& a : n.attrs) attr(a, np->add_attribute());
    }
  }

  void model(const Model& m, onnx::ModelProto* p) {
    p->set_ir_version(std::max<int64_t>(m.ir_version, 8));
    if (!m.producer_name.empty()) p->set_producer_name(m.producer_name);
    if (!m.producer_version.empty()) p->set_producer_version(m.producer_version);
    if (!m.domain.empty()) p->set_domain(m.domain);
    if (m.model_version) p->set_model_version(m.model_version);
    if (!m.doc.empty()) p->set_doc_string(m.doc);
    for (const auto& [k, v] : m.metadata) {
      auto* e = p->add_metadata_props();
      e->set_key(k);
      e->set_value(v);
    }
    bool has_default = false;
    for (const auto& [d, v] : m.opsets) {
      auto* o = p->add_opset_import();
      o->set_domain(d);
      o->set_version(d.empty() ? std::max<int64_t>(v, kCanonicalOpset) : v);
      has_default = has_default || d.empty();
    }
    if (!has_default) {
      auto* o = p->add_opset_import();
      o->set_domain("");
      o->set_version(kCanonicalOpset);
    }
    graph(m.graph, p->mutable_graph());
  }
};

int64_t graph_tensor_bytes(const Graph& g) {
  int64_t total = 0;
  for (const auto& [n, t] : g.initializers) total += static_cast<int64_t>(t.nbytes());
  for (const Node& n : g.nodes)
    for (const Attribute& a : n.attrs) {
      if (a.kind == Attribute::Kind::t) total += static_cast<int64_t>(a.t.nbytes());
      if (a.g) total += graph_tensor_bytes(*a.g);
      for (const auto& sg : a.graphs) total += graph_tensor_bytes(*sg);
    }
  return total;
}

}  // namespace

std::string serialize_onnx(const Model& model) {
  onnx::ModelProto p;
  Exporter ex;
  ex.model(model, &p);
  if (p.ByteSizeLong() >= static_cast<size_t>(INT32_MAX))
    fail("the model is over protobuf's 2 GB limit: save it to a file (with external data)");
  std::string out;
  google::protobuf::LogSilencer quiet;
  if (!p.SerializeToString(&out)) fail("could not serialize the model");
  return out;
}

void save_onnx(const Model& model, const std::string& path, const SaveOptions& options) {
  namespace fs = std::filesystem;
  // Protobuf cannot hold 2 GB: beyond ~1.8 GB of tensors, move them to external data (and also
  // when many small tensors add up past the limit).
  bool use_external =
      options.force_external_data || graph_tensor_bytes(model.graph) > (int64_t{1800} << 20);
  if (!use_external) {
    onnx::ModelProto p;
    Exporter ex;
    ex.model(model, &p);
    if (p.ByteSizeLong() < static_cast<size_t>(INT32_MAX)) {
      std::string out;
      google::protobuf::LogSilencer quiet;
      if (!p.SerializeToString(&out)) fail("could not serialize the model");
      write_file_atomic(path, out);
      return;
    }
  }
  Exporter ex;
  AtomicFile data_file;
  std::string data_path = path + ".data";
  data_file.open(data_path);
  ex.external = data_file.stream();
  ex.external_name = fs::path(data_path).filename().string();
  ex.threshold = options.force_external_data
                     ? options.external_threshold_bytes
                     : std::min<int64_t>(options.external_threshold_bytes, 1024);
  onnx::ModelProto p;
  ex.model(model, &p);
  if (p.ByteSizeLong() >= static_cast<size_t>(INT32_MAX))
    fail("the model's structure alone is over protobuf's 2 GB limit");
  std::string out;
  {
    google::protobuf::LogSilencer quiet;
    if (!p.SerializeToString(&out)) fail("could not serialize the model");
  }
  AtomicFile file;
  file.open(path);
  if (std::fwrite(out.data(), 1, out.size(), file.stream()) != out.size())
    fail("could not write '{}'", path);
  data_file.commit();
  file.commit();
}

}  // namespace nnaccel
