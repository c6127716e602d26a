// nnaccel conformance: ONNX backend test cases, compared with ONNX's rules.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "commands.hpp"
#include "core/check.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/session.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel::cli {

namespace fs = std::filesystem;

namespace {

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

// "folder/case  reason" lines; '#' starts a comment.
std::map<std::string, std::string> read_expected_failures(const std::string& path) {
  std::map<std::string, std::string> r;
  if (path.empty()) return r;
  std::ifstream in(path);
  if (!in) fail("cannot open '{}'", path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.find_first_of(" \t");
    std::string name = line.substr(0, sp);
    std::string reason = sp == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t", sp));
    if (reason.empty()) fail("{}: case '{}' is listed without a reason", path, name);
    r[name] = reason;
  }
  return r;
}

// Empty when they match; otherwise what differs.
std::string compare(const Tensor& expected, const Tensor& actual) {
  if (expected.dtype() != actual.dtype())
    return fmt::format("dtype {} expected {}", dtype_name(actual.dtype()), dtype_name(expected.dtype()));
  if (expected.shape() != actual.shape())
    return fmt::format("shape {} expected {}", shape_str(actual.shape()), shape_str(expected.shape()));
  const bool is_float = dtype_is_float(expected.dtype());
  int64_t bad = 0;
  int64_t first = -1;
  for (int64_t i = 0; i < expected.numel(); ++i) {
    bool ok;
    if (is_float) {
      double e = expected.at_f64(i), a = actual.at_f64(i);
      if (std::isnan(e) || std::isnan(a)) ok = std::isnan(e) && std::isnan(a);
      else if (std::isinf(e) || std::isinf(a)) ok = e == a;
      else ok = std::fabs(a - e) <= kAtol + kRtol * std::fabs(e);
    } else if (expected.dtype() == DType::u64) {
      ok = expected.data<uint64_t>()[i] == actual.data<uint64_t>()[i];
    } else {
      ok = expected.at_i64(i) == actual.at_i64(i);
    }
    if (!ok) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad == 0) return "";
  return fmt::format("{} of {} values differ, first at {}: {} expected {}", bad, expected.numel(),
                     first, actual.at_f64(first), expected.at_f64(first));
}

std::vector<std::string> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, std::string>> v;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string f = e.path().filename().string();
    if (f.rfind(prefix, 0) == 0 && f.size() > 3 && f.substr(f.size() - 3) == ".pb")
      v.emplace_back(std::atoi(f.c_str() + prefix.size()), e.path().string());
  }
  std::sort(v.begin(), v.end());
  std::vector<std::string> r;
  for (auto& [i, p] : v) r.push_back(p);
  return r;
}

// Why a case cannot run, read from the protobuf before import: an op we do not implement
// (named), or a value type we do not support (string, sequence, optional, map).
void scan_graph(const onnx::GraphProto& g, std::set<std::string>& ops, std::set<std::string>& types) {
  const OpRegistry& reg = OpRegistry::instance();
  auto scan_type = [&](const onnx::TypeProto& t) {
    if (t.has_sequence_type()) types.insert("sequence");
    else if (t.has_optional_type()) types.insert("optional");
    else if (t.has_map_type()) types.insert("map");
    else if (t.has_tensor_type() && t.tensor_type().elem_type() == onnx::TensorProto::STRING)
      types.insert("string");
  };
  for (const auto* list : {&g.input(), &g.output(), &g.value_info()})
    for (const auto& v : *list) scan_type(v.type());
  for (const auto& t : g.initializer())
    if (t.data_type() == onnx::TensorProto::STRING) types.insert("string");
  for (const auto& n : g.node()) {
    std::string domain = n.domain() == "ai.onnx" ? "" : n.domain();
    if (reg.find(domain, n.op_type()) == nullptr)
      ops.insert(domain.empty() ? n.op_type() : domain + "::" + n.op_type());
    for (const auto& a : n.attribute()) {
      if (a.has_g()) scan_graph(a.g(), ops, types);
      for (const auto& sg : a.graphs()) scan_graph(sg, ops, types);
      if (a.has_t() && a.t().data_type() == onnx::TensorProto::STRING) types.insert("string");
      if (a.type() == onnx::AttributeProto::STRING && n.op_type() == "Constant") types.insert("string");
    }
  }
}

void missing_ops(const Graph& g, std::set<std::string>& out) {
  const OpRegistry& reg = OpRegistry::instance();
  for (const Node& n : g.nodes) {
    if (reg.find(n.domain, n.op_type) == nullptr)
      out.insert(n.domain.empty() ? n.op_type : n.domain + "::" + n.op_type);
    for (const Attribute& a : n.attrs) {
      if (a.g) missing_ops(*a.g, out);
      for (const auto& sg : a.graphs) missing_ops(*sg, out);
    }
  }
}

// `imported`: the graph after import, whose ops are checked instead of the file's.
std::string skip_reason(const fs::path& model_path, const Graph* imported) {
  std::ifstream in(model_path, std::ios::binary);
  onnx::ModelProto proto;
  if (!in || !proto.ParseFromIstream(&in)) return "";  // the import reports the error
  std::set<std::string> ops, types;
  scan_graph(proto.graph(), ops, types);
  if (imported != nullptr) {
    ops.clear();
    missing_ops(*imported, ops);
  }
  if (!ops.empty()) return fmt::format("op not implemented: {}", fmt::join(ops, ", "));
  if (!types.empty()) return fmt::format("unsupported type: {}", fmt::join(types, ", "));
  return "";
}

// ONNX's test data stores bfloat16 inputs as uint16 (numpy has no bfloat16): same bits.
Tensor as_declared_type(Tensor t, const ValueInfo& info) {
  if (t.dtype() == DType::u16 && info.type.dtype == DType::bf16) {
    Tensor r(DType::bf16, t.shape());
    std::memcpy(r.raw(), t.raw(), t.nbytes());
    return r;
  }
  return t;
}

// Runs one case; returns "" on success, else the failure. Sets `skip` for a named skip.
std::string run_case(const fs::path& dir, bool reference, std::string& skip) {
  Model model;
  try {
    model = load_onnx((dir / "model.onnx").string());
  } catch (const Error& e) {
    // A model we cannot even load is a skip only for a named reason found in the file.
    skip = skip_reason(dir / "model.onnx", nullptr);
    return skip.empty() ? e.what() : "";
  }
  // Ops are judged after import, which rewrote legacy ops (Upsample, Scatter) to current ones.
  skip = skip_reason(dir / "model.onnx", &model.graph);
  if (!skip.empty()) return "";
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  try {
    SessionOptions options;
    options.fast = !reference;
    Session session(std::move(model), options);
    for (const fs::path& set : sets) {
      std::vector<std::string> in_files = sorted_files(set, "input_");
      std::vector<std::string> out_files = sorted_files(set, "output_");
      const auto& graph_inputs = session.model().graph.inputs;
      if (in_files.size() > graph_inputs.size())
        return fmt::format("{} inputs given, the model has {}", in_files.size(), graph_inputs.size());
      std::map<std::string, Tensor> feeds;
      for (size_t i = 0; i < in_files.size(); ++i)
        feeds[graph_inputs[i].name] = as_declared_type(load_tensor_pb(in_files[i]), graph_inputs[i]);
      std::vector<Tensor> outs = session.run(feeds);
      if (out_files.size() != outs.size())
        return fmt::format("{} outputs, expected {}", outs.size(), out_files.size());
      for (size_t i = 0; i < outs.size(); ++i) {
        std::string diff = compare(load_tensor_pb(out_files[i]), outs[i]);
        if (!diff.empty())
          return fmt::format("{}: output {} '{}': {}", set.filename().string(), i,
                             session.outputs()[i].name, diff);
      }
    }
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void find_cases(const fs::path& dir, std::vector<fs::path>& out) {
  std::error_code ec;
  if (fs::exists(dir / "model.onnx", ec)) {
    out.push_back(dir);
    return;
  }
  std::vector<fs::path> subs;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory()) subs.push_back(e.path());
  std::sort(subs.begin(), subs.end());
  for (const auto& s : subs) find_cases(s, out);
}

}  // namespace

int run_conformance(const ConformanceOptions& o) {
  std::map<std::string, std::string> expected = read_expected_failures(o.expected_failures);
  std::vector<fs::path> cases;
  for (const std::string& d : o.dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) fail("'{}' is not a folder", d);
    find_cases(d, cases);
  }
  int passed = 0, failed = 0, skipped = 0;
  for (const fs::path& c : cases) {
    std::string label = c.parent_path().filename().string() + "/" + c.filename().string();
    auto it = expected.find(label);
    if (it == expected.end()) it = expected.find(c.filename().string());
    if (it != expected.end()) {
      fmt::print("SKIP {}: {}\n", label, it->second);
      ++skipped;
      continue;
    }
    std::string skip;
    std::string err = run_case(c, o.reference, skip);
    if (!skip.empty()) {
      fmt::print("SKIP {}: {}\n", label, skip);
      ++skipped;
    } else if (!err.empty()) {
      fmt::print("FAIL {}: {}\n", label, err);
      ++failed;
    } else {
      if (o.verbose) fmt::print("PASS {}\n", label);
      ++passed;
    }
    std::fflush(stdout);
  }
  fmt::print("{} passed, {} failed, {} skipped\n", passed, failed, skipped);
  if (passed < o.min_passed) {
    fmt::print("only {} cases passed, fewer than --min-passed {}\n", passed, o.min_passed);
    return 1;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace nnaccel::cli
