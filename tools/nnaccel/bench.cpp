// nnaccel bench: latency, throughput and memory of a model on file or random
// inputs.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "commands.hpp"
#include "core/cast.hpp"
#include "core/check.hpp"
#include "core/parallel.hpp"
#include "input_files.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/session.hpp"

namespace nnaccel::cli {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "unknown";
}

Shape parse_dims(const std::string& spec, const std::string& text) {
  Shape dims;
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    std::string part =
        text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(part, &used);
    } catch (...) {
      used = 0;
    }
    if (part.empty() || used != part.size() || v < 0)
      fail("--shape '{}': '{}' is not a dimension (use NAME=D0,D1,...)", spec, part);
    dims.push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return dims;
}

// Random data of the declared type: floats uniform in [-1, 1), everything else
// zero.
Tensor random_input(const ValueInfo& info, const Shape& shape, std::mt19937& rng) {
  DType dt = info.type.dtype;
  if (dt == DType::undefined)
    fail("input '{}' has no declared type: give it with --input", info.name);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  if (dt == DType::f32 || dt == DType::f64 || dt == DType::f16 || dt == DType::bf16) {
    Tensor t(DType::f32, shape);
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = uni(rng);
    return dt == DType::f32 ? t : cast_tensor(t, dt);
  }
  return Tensor(dt, shape);
}

Shape resolve_shape(const ValueInfo& info, const std::map<std::string, Shape>& overrides,
                    int64_t batch) {
  auto it = overrides.find(info.name);
  if (it != overrides.end()) return it->second;
  if (!info.type.has_shape)
    fail(
        "input '{}' has no declared shape: give it with --shape {}=D0,D1,... "
        "or --input",
        info.name, info.name);
  Shape s;
  for (size_t i = 0; i < info.type.dims.size(); ++i) {
    const Dim& d = info.type.dims[i];
    if (d.known()) {
      s.push_back(d.value);
    } else if (i == 0 && batch > 0) {
      s.push_back(batch);
    } else {
      std::string dim =
          d.param.empty() ? fmt::format("{}", i) : fmt::format("{} ('{}')", i, d.param);
      fail("input '{}' dimension {} has no value: use {}--shape {}=D0,D1,...", info.name, dim,
           i == 0 ? "--batch B or " : "", info.name);
    }
  }
  return s;
}

PrecisionMode parse_precision(const std::string& text) {
  if (text == "fp32") return PrecisionMode::fp32;
  if (text == "bf16") return PrecisionMode::bf16;
  if (text == "auto") return PrecisionMode::auto_select;
  fail("--precision must be fp32, bf16 or auto (given '{}')", text);
}

double percentile(const std::vector<double>& sorted, double q) {
  // Nearest-rank on sorted samples.
  size_t k = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  k = std::clamp<size_t>(k, 1, sorted.size());
  return sorted[k - 1];
}

}  // namespace

int run_bench(const BenchOptions& o) {
  if (o.iters < 1) fail("--iters must be at least 1 (given {})", o.iters);
  if (o.warmup < 0) fail("--warmup must not be negative (given {})", o.warmup);
  if (o.batch == 0 || o.batch < -1) fail("--batch must be positive (given {})", o.batch);
  // More threads than this is a typo, not a machine: OpenMP would try to start them all.
  constexpr int kMaxThreads = 1024;
  if (o.threads < 0 || o.threads > kMaxThreads)
    fail("--threads must be 0 (the cores this process may use) to {} (given {})", kMaxThreads,
         o.threads);
  PrecisionMode precision = parse_precision(o.precision);

  SessionOptions options;
  options.profile = o.profile;
  options.fast = !o.reference;
  options.threads = o.threads;
  options.precision = precision;
  // Session::load (not a Model in memory) lets the session release weights kernels packed.
  Session session = Session::load(o.model, options);

  auto known_input = [&](const std::string& name, const char* flag) {
    for (const ValueInfo& v : session.inputs())
      if (v.name == name) return;
    fail("{}: the model has no input named '{}'", flag, name);
  };
  std::map<std::string, Tensor> files;
  for (const std::string& spec : o.inputs) {
    std::string name, file;
    split_name_value(spec, "--input", "FILE", name, file);
    known_input(name, "--input");
    files[name] = load_input_file(file);
  }
  std::map<std::string, Shape> shapes;
  for (const std::string& spec : o.shapes) {
    std::string name, dims;
    split_name_value(spec, "--shape", "D0,D1,...", name, dims);
    known_input(name, "--shape");
    shapes[name] = parse_dims(spec, dims);
  }

  std::mt19937 rng(0x6e6e61);
  int64_t batch = o.batch;  // without --batch: the leading dim of the first input, else 1
  for (const ValueInfo& v : session.inputs()) {
    auto f = files.find(v.name);
    Tensor t =
        f != files.end() ? f->second : random_input(v, resolve_shape(v, shapes, o.batch), rng);
    if (batch < 0) batch = t.rank() > 0 && t.shape()[0] > 0 ? t.shape()[0] : 1;
    session.set_input(v.name, t);
  }
  if (batch < 0) batch = 1;

  for (int i = 0; i < o.warmup; ++i) session.run();
  // Profile only the timed runs: rebuild the session's record by subtracting
  // the warm-up share.
  std::vector<NodeTiming> before = session.profile();
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(o.iters));
  for (int i = 0; i < o.iters; ++i) {
    auto start = std::chrono::steady_clock::now();
    session.run();
    auto end = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::vector<NodeTiming> prof = session.profile();
  for (size_t i = 0; i < before.size() && i < prof.size(); ++i) {
    prof[i].total_ns -= before[i].total_ns;
    prof[i].calls -= before[i].calls;
  }

  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  double min_ms = sorted.front();
  double median_ms = sorted.size() % 2
                         ? sorted[sorted.size() / 2]
                         : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
  double p90_ms = percentile(sorted, 0.9);
  double mean_ms = 0;
  for (double v : ms) mean_ms += v / static_cast<double>(ms.size());
  double throughput = median_ms > 0 ? static_cast<double>(batch) * 1000.0 / median_ms : 0.0;
  int threads = o.threads > 0 ? o.threads : available_cores();
  uint64_t peak_memory_bytes = session.peak_memory_bytes();
  const char* executor = o.reference ? "reference" : "fast";

  // Per op type, sorted by time; the slowest nodes.
  uint64_t total_ns = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // ns, calls
  for (const NodeTiming& t : prof) {
    total_ns += t.total_ns;
    by_type[t.op_type].first += t.total_ns;
    by_type[t.op_type].second += t.calls;
  }
  std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> types(by_type.begin(),
                                                                           by_type.end());
  std::stable_sort(types.begin(), types.end(),
                   [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::vector<NodeTiming> slow = prof;
  std::stable_sort(slow.begin(), slow.end(), [](const NodeTiming& a, const NodeTiming& b) {
    return a.total_ns > b.total_ns;
  });
  if (slow.size() > 10) slow.resize(10);
  auto share = [&](uint64_t ns) {
    return total_ns ? 100.0 * static_cast<double>(ns) / static_cast<double>(total_ns) : 0.0;
  };
  auto per_iter_ms = [&](uint64_t ns) { return static_cast<double>(ns) / 1e6 / o.iters; };

  if (o.json) {
    nlohmann::json j;
    j["model"] = o.model;
    j["batch"] = batch;
    j["warmup"] = o.warmup;
    j["iters"] = o.iters;
    j["threads"] = threads;
    j["precision"] = o.precision;
    j["executor"] = executor;
    j["min_ms"] = min_ms;
    j["median_ms"] = median_ms;
    j["p90_ms"] = p90_ms;
    j["mean_ms"] = mean_ms;  // the profile's per-run times are means too
    j["throughput"] = throughput;
    j["weight_bytes"] = session.weight_bytes();
    j["peak_activation_bytes"] = session.peak_activation_bytes();
    j["peak_memory_bytes"] = peak_memory_bytes;
    j["cpu"] = cpu_model();
    if (o.profile) {
      nlohmann::json ops = nlohmann::json::array();
      for (const auto& [type, v] : types)
        ops.push_back({{"op_type", type},
                       {"ms_per_iter", per_iter_ms(v.first)},
                       {"calls_per_iter", v.second / o.iters},
                       {"share", share(v.first)}});
      j["op_types"] = ops;
      nlohmann::json nodes = nlohmann::json::array();
      for (const NodeTiming& t : slow)
        nodes.push_back({{"name", t.name},
                         {"op_type", t.op_type},
                         {"kernel", t.kernel},
                         {"ms_per_iter", per_iter_ms(t.total_ns)},
                         {"share", share(t.total_ns)}});
      j["slowest_nodes"] = nodes;
    }
    fmt::print("{}\n", j.dump(2));
    return 0;
  }

  fmt::print("model       {}\n", o.model);
  fmt::print("cpu         {}\n", cpu_model());
  fmt::print("executor    {}, {} thread{}, precision {}\n", executor, threads,
             threads == 1 ? "" : "s", o.precision);
  fmt::print("runs        {} timed after {} warm-up, batch {}\n", o.iters, o.warmup, batch);
  fmt::print("latency     min {:.3f} ms  median {:.3f} ms  p90 {:.3f} ms  mean {:.3f} ms\n", min_ms,
             median_ms, p90_ms, mean_ms);
  fmt::print("throughput  {:.1f} items/s\n", throughput);
  fmt::print("weights     {} bytes ({:.2f} MiB)\n", session.weight_bytes(),
             static_cast<double>(session.weight_bytes()) / (1024.0 * 1024.0));
  fmt::print("peak activations {} bytes ({:.2f} MiB)\n", session.peak_activation_bytes(),
             static_cast<double>(session.peak_activation_bytes()) / (1024.0 * 1024.0));
  fmt::print("peak memory {} bytes ({:.2f} MiB, weights + peak activations)\n", peak_memory_bytes,
             static_cast<double>(peak_memory_bytes) / (1024.0 * 1024.0));
  if (o.profile) {
    fmt::print("\ntime per op type (mean per run):\n");
    for (const auto& [type, v] : types)
      fmt::print("  {:<24} {:>10.3f} ms {:>6.1f}%  {} calls\n", type, per_iter_ms(v.first),
                 share(v.first), v.second / o.iters);
    fmt::print("\nslowest nodes (mean per run):\n");
    for (const NodeTiming& t : slow)
      fmt::print("  {:<32} {:<16} {:>10.3f} ms {:>6.1f}%  {}\n",
                 t.name.empty() ? "(unnamed)" : t.name, t.op_type, per_iter_ms(t.total_ns),
                 share(t.total_ns), t.kernel);
  }
  return 0;
}

}  // namespace nnaccel::cli
