// libFuzzer target: arbitrary bytes as an ONNX model. Loading must succeed or throw
// nnaccel::Error; a loaded model must give a Session (verification, kernel lookup, shape
// inference with constant folding) or an Error. Never a crash, a sanitizer report or a hang.
// Allocations are capped at 64 MB so that a hostile shape fails cleanly instead of exhausting
// memory (run with ASAN_OPTIONS=allocator_may_return_null=1). A custom mutator edits the model
// structure (see mutate_model) so that most inputs stay parseable and reach the later stages.
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ir/shape_inference.hpp"
#include "nnaccel/error.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/session.hpp"
#include "ops/op_registry.hpp"

namespace {

std::string g_base_dir;

// A folder with a small data file, so that inputs naming external data can reach the reader.
void make_base_dir() {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("nnaccel_fuzz_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream f(dir / "data.bin", std::ios::binary);
  for (int i = 0; i < 4096; ++i) f.put(static_cast<char>(i * 37));
  g_base_dir = dir.string();
}

// --- structure-aware mutation: byte flips rarely keep a protobuf parseable, so most mutations
// parse the input as a ModelProto, change one thing a model author could get wrong (an op, an
// input, an attribute value, a dim, an initializer's bytes, the opset) and serialize it again.

using Rng = std::mt19937_64;

template <typename T>
T pick(Rng& rng, const std::vector<T>& v) {
  return v[rng() % v.size()];
}

int64_t interesting_int(Rng& rng) {
  static const std::vector<int64_t> values = {0,
                                              1,
                                              2,
                                              3,
                                              -1,
                                              -2,
                                              4,
                                              7,
                                              16,
                                              64,
                                              255,
                                              1000,
                                              65536,
                                              int64_t{1} << 31,
                                              int64_t{1} << 40,
                                              INT64_MAX,
                                              INT64_MIN};
  return rng() % 3 == 0 ? static_cast<int64_t>(rng() % 9) - 4 : pick(rng, values);
}

float interesting_float(Rng& rng) {
  static const std::vector<float> values = {0.0f,
                                            1.0f,
                                            -1.0f,
                                            0.5f,
                                            2.0f,
                                            1e-5f,
                                            1e30f,
                                            -1e30f,
                                            std::numeric_limits<float>::infinity(),
                                            std::numeric_limits<float>::quiet_NaN()};
  return pick(rng, values);
}

void collect_graphs(onnx::GraphProto* g, std::vector<onnx::GraphProto*>& out) {
  out.push_back(g);
  for (auto& n : *g->mutable_node())
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_g()) collect_graphs(a.mutable_g(), out);
      for (auto& sg : *a.mutable_graphs()) collect_graphs(&sg, out);
    }
}

std::vector<std::string> value_names(const onnx::GraphProto& g) {
  std::vector<std::string> names;
  for (const auto& v : g.input()) names.push_back(v.name());
  for (const auto& t : g.initializer()) names.push_back(t.name());
  for (const auto& n : g.node())
    for (const auto& o : n.output()) names.push_back(o);
  return names;
}

const std::vector<std::string>& op_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const nnaccel::OpSchema* s : nnaccel::OpRegistry::instance().all())
      if (s->domain.empty()) v.push_back(s->name);
    for (const char* legacy : {"Upsample", "Scatter", "ImageScaler", "Crop", "Scan", "If", "Loop"})
      v.push_back(legacy);
    return v;
  }();
  return names;
}

void mutate_attribute(onnx::AttributeProto* a, Rng& rng) {
  switch (a->type()) {
    case onnx::AttributeProto::INT:
      a->set_i(interesting_int(rng));
      break;
    case onnx::AttributeProto::FLOAT:
      a->set_f(interesting_float(rng));
      break;
    case onnx::AttributeProto::INTS:
      if (a->ints_size() > 0 && rng() % 3)
        a->set_ints(static_cast<int>(rng() % a->ints_size()), interesting_int(rng));
      else
        a->add_ints(interesting_int(rng));
      break;
    case onnx::AttributeProto::FLOATS:
      if (a->floats_size() > 0 && rng() % 3)
        a->set_floats(static_cast<int>(rng() % a->floats_size()), interesting_float(rng));
      else
        a->add_floats(interesting_float(rng));
      break;
    case onnx::AttributeProto::STRING: {
      static const std::vector<std::string> s = {
          "",       "constant",   "reflect", "edge", "nearest", "linear", "cubic",
          "NOTSET", "SAME_UPPER", "VALID",   "DCR",  "CRD",     "FLOAT",  "asymmetric"};
      a->set_s(pick(rng, s));
      break;
    }
    default:
      a->set_type(static_cast<onnx::AttributeProto::AttributeType>(rng() % 15));
      break;
  }
}

void mutate_dims(google::protobuf::RepeatedField<int64_t>* dims, Rng& rng) {
  if (dims->size() > 0 && rng() % 4)
    dims->Set(static_cast<int>(rng() % dims->size()), interesting_int(rng));
  else if (dims->size() > 0 && rng() % 2)
    dims->RemoveLast();
  else
    dims->Add(interesting_int(rng));
}

void mutate_model(onnx::ModelProto& m, Rng& rng) {
  std::vector<onnx::GraphProto*> graphs;
  collect_graphs(m.mutable_graph(), graphs);
  onnx::GraphProto* g = pick(rng, graphs);
  std::vector<std::string> names = value_names(*g);
  names.push_back("");
  onnx::NodeProto* node =
      g->node_size() ? g->mutable_node(static_cast<int>(rng() % g->node_size())) : nullptr;
  switch (rng() % 10) {
    case 0:
      if (node) node->set_op_type(pick(rng, op_names()));
      break;
    case 1:
      if (node && node->input_size() && rng() % 2)
        node->set_input(static_cast<int>(rng() % node->input_size()), pick(rng, names));
      else if (node)
        node->add_input(pick(rng, names));
      break;
    case 2:
      if (node && node->attribute_size())
        mutate_attribute(node->mutable_attribute(static_cast<int>(rng() % node->attribute_size())),
                         rng);
      break;
    case 3: {  // an attribute a kernel may read
      static const std::vector<std::string> a = {
          "axis", "axes", "perm", "keepdims",  "kernel_shape", "pads",    "strides",  "group",
          "to",   "mode", "k",    "blocksize", "alpha",        "epsilon", "dilations"};
      if (!node) break;
      auto* attr = node->add_attribute();
      attr->set_name(pick(rng, a));
      attr->set_type(rng() % 2 ? onnx::AttributeProto::INT : onnx::AttributeProto::INTS);
      mutate_attribute(attr, rng);
      break;
    }
    case 4: {  // a declared dim
      auto& list = rng() % 2 ? *g->mutable_input() : *g->mutable_value_info();
      if (list.empty()) break;
      auto* tt = list.Mutable(static_cast<int>(rng() % list.size()))
                     ->mutable_type()
                     ->mutable_tensor_type();
      auto* shape = tt->mutable_shape();
      if (shape->dim_size() && rng() % 3)
        shape->mutable_dim(static_cast<int>(rng() % shape->dim_size()))
            ->set_dim_value(interesting_int(rng));
      else if (rng() % 2)
        shape->add_dim()->set_dim_value(interesting_int(rng));
      else
        tt->set_elem_type(static_cast<int32_t>(rng() % 18));
      break;
    }
    case 5: {  // an initializer
      if (g->initializer_size() == 0) break;
      auto* t = g->mutable_initializer(static_cast<int>(rng() % g->initializer_size()));
      switch (rng() % 3) {
        case 0:
          mutate_dims(t->mutable_dims(), rng);
          break;
        case 1:
          t->set_data_type(static_cast<int32_t>(rng() % 18));
          break;
        default:
          if (t->has_raw_data())
            t->mutable_raw_data()->resize(rng() % (t->raw_data().size() + 9));
          else
            t->add_int64_data(interesting_int(rng));
      }
      break;
    }
    case 6: {  // a new node reading existing values, its output a graph output
      auto* n = g->add_node();
      n->set_op_type(pick(rng, op_names()));
      int ins = static_cast<int>(rng() % 4);
      for (int i = 0; i < ins; ++i) n->add_input(pick(rng, names));
      std::string out = "fz" + std::to_string(rng() % 100000);
      n->add_output(out);
      g->add_output()->set_name(out);
      break;
    }
    case 7:
      if (g->node_size() > 1)
        g->mutable_node()->SwapElements(0, static_cast<int>(rng() % g->node_size()));
      break;
    case 8:
      if (m.opset_import_size())
        m.mutable_opset_import(0)->set_version(1 + static_cast<int64_t>(rng() % 17));
      break;
    default: {  // an initializer with a small constant from the interesting values
      auto* t = g->add_initializer();
      t->set_name(node && node->input_size() ? node->input(0) : "c");
      t->set_data_type(onnx::TensorProto::INT64);
      int n = static_cast<int>(rng() % 4);
      if (n) t->add_dims(n);
      for (int i = 0; i < std::max(n, 1); ++i) t->add_int64_data(interesting_int(rng));
    }
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  Rng rng(seed);
  onnx::ModelProto m;
  if (rng() % 5 == 0 || !m.ParseFromArray(data, static_cast<int>(size)))
    return LLVMFuzzerMutate(data, size, max_size);
  int rounds = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < rounds; ++i) mutate_model(m, rng);
  std::string out;
  if (!m.SerializeToString(&out) || out.size() > max_size)
    return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  nnaccel::set_max_allocation_bytes(uint64_t{64} << 20);
  make_base_dir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    nnaccel::Model model = nnaccel::load_onnx_bytes(bytes, g_base_dir);
    nnaccel::SessionOptions options;
    options.max_memory_bytes = uint64_t{64} << 20;
    nnaccel::Session session(std::move(model), options);
    nnaccel::infer_shapes(session.model().graph);
  } catch (const nnaccel::Error&) {
    // Bad input, reported as such: the expected outcome for most inputs.
  }
  return 0;
}
