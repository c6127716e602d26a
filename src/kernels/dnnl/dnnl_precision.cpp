#include "kernels/dnnl/dnnl_precision.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/parallel.hpp"
#include "kernels/dnnl/dnnl_common.hpp"

namespace nnaccel::dnnl_kernels {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// One 512^3 matmul with inputs of type `in`, weights packed, f32 output.
struct TimedMatmul {
  explicit TimedMatmul(dt in) {
    const int64_t n = 512;
    dnnl::memory::desc a_md({n, n}, in, tag::ab), b_any({n, n}, in, tag::any),
        c_md({n, n}, dt::f32, tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, c_md), cpu_engine());
    a = dnnl::memory(a_md, cpu_engine());
    b = dnnl::memory(pd.weights_desc(), cpu_engine());
    c = dnnl::memory(c_md, cpu_engine());
    // Non-zero operands: some hardware is faster on zeros.
    std::memset(a.get_data_handle(), 0x3c, a_md.get_size());
    std::memset(b.get_data_handle(), 0x3c, pd.weights_desc().get_size());
    mm = dnnl::matmul(pd);
  }
  double seconds() {
    auto t0 = std::chrono::steady_clock::now();
    mm.execute(cpu_stream(), {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    cpu_stream().wait();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  dnnl::memory a, b, c;
  dnnl::matmul mm;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::filesystem::path cache_file() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::filesystem::path dir;
  if (xdg != nullptr && *xdg != '\0')
    dir = std::filesystem::path(xdg) / "nnaccel";
  else if (home != nullptr && *home != '\0')
    dir = std::filesystem::path(home) / ".cache" / "nnaccel";
  else
    return {};
  return dir / "bf16_speed.txt";
}

// Lines "<speedup>\t<cpu model>".
std::optional<double> cached_speedup(const std::filesystem::path& file, const std::string& cpu) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos || line.substr(tab + 1) != cpu) continue;
    try {
      return std::stod(line.substr(0, tab));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

void store_speedup(const std::filesystem::path& file, const std::string& cpu, double speedup) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) return;  // an unwritable cache only costs a measurement next time
  std::stringstream kept;
  {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line))
      if (line.find('\t') != std::string::npos && line.substr(line.find('\t') + 1) != cpu)
        kept << line << '\n';
  }
  // Written to a temporary file and renamed: concurrent processes never see half a file.
  const std::filesystem::path tmp =
      file.string() + ".tmp" + std::to_string(static_cast<long>(::getpid()));
  {
    std::ofstream out(tmp);
    out << kept.str() << speedup << '\t' << cpu << '\n';
    if (!out) return;
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      std::string v = line.substr(line.find(':') + 1);
      v.erase(0, v.find_first_not_of(' '));
      return v;
    }
  return "unknown";
}

std::optional<double> measure_bf16_speedup() {
  if (!cpu_has_bf16()) return std::nullopt;
  // On one thread: the ratio is a property of the core, and a two-thread run on a loaded
  // machine mostly measures how long one thread waits for the other at barriers.
  const int threads = thread_count();
  set_thread_count(1);
  struct Restore {
    int n;
    ~Restore() { set_thread_count(n); }
  } restore{threads};
  TimedMatmul f32(dt::f32), bf16(dt::bf16);
  // Untimed runs first (thread start-up, page faults, clocks), then alternating runs so that a
  // burst of load from other processes hits both sides alike.
  for (int rep = 0; rep < 3; ++rep) {
    f32.seconds();
    bf16.seconds();
  }
  std::vector<double> tf, tb;
  for (int rep = 0; rep < 11; ++rep) {
    tf.push_back(f32.seconds());
    tb.push_back(bf16.seconds());
  }
  const double b = median(tb);
  return b > 0 ? median(tf) / b : 1.0;
}

std::string default_bf16_cache_file() { return cache_file().string(); }

bool bf16_is_faster_cached_in(const std::string& cache_path) {
  if (!cpu_has_bf16()) return false;
  // The ISA cap is part of the key: a capped process must not reuse an uncapped answer.
  const std::string key =
      cpu_model_name() + " isa " + std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa()));
  const std::filesystem::path file = cache_path;
  std::optional<double> speedup = file.empty() ? std::nullopt : cached_speedup(file, key);
  if (!speedup) {
    speedup = measure_bf16_speedup();
    if (speedup && !file.empty()) store_speedup(file, key, *speedup);
  }
  return speedup && *speedup > 1.1;
}

bool bf16_is_faster() {
  static const bool faster = bf16_is_faster_cached_in(default_bf16_cache_file());
  return faster;
}

}  // namespace nnaccel::dnnl_kernels
