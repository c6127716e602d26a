#include "kernels/dnnl/dnnl_precision.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unistd.h>

#include "kernels/dnnl/dnnl_common.hpp"

namespace nnaccel::dnnl_kernels {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// Median seconds of one 512^3 matmul with inputs of type `in`, packed weights, f32 output.
double median_matmul_seconds(dt in) {
  const int64_t n = 512;
  dnnl::memory::desc a_md({n, n}, in, tag::ab), b_any({n, n}, in, tag::any),
      c_md({n, n}, dt::f32, tag::ab);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, c_md), cpu_engine());
  dnnl::memory a(a_md, cpu_engine()), b(pd.weights_desc(), cpu_engine()), c(c_md, cpu_engine());
  // Non-zero operands: some hardware is faster on zeros.
  std::memset(a.get_data_handle(), 0x3c, a_md.get_size());
  std::memset(b.get_data_handle(), 0x3c, pd.weights_desc().get_size());
  dnnl::matmul mm(pd);
  std::vector<double> times;
  for (int rep = 0; rep < 6; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    mm.execute(cpu_stream(), {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    cpu_stream().wait();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  times.erase(times.begin());  // the first run pays for page faults and caches
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
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
  const double f32 = median_matmul_seconds(dt::f32);
  const double bf16 = median_matmul_seconds(dt::bf16);
  return bf16 > 0 ? f32 / bf16 : 1.0;
}

bool bf16_is_faster() {
  static std::once_flag once;
  static bool faster = false;
  std::call_once(once, [] {
    if (!cpu_has_bf16()) return;
    // The ISA cap is part of the key: a capped process must not reuse an uncapped answer.
    const std::string key =
        cpu_model_name() + " isa " + std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa()));
    const std::filesystem::path file = cache_file();
    std::optional<double> speedup = file.empty() ? std::nullopt : cached_speedup(file, key);
    if (!speedup) {
      speedup = measure_bf16_speedup();
      if (speedup && !file.empty()) store_speedup(file, key, *speedup);
    }
    faster = speedup && *speedup > 1.1;
  });
  return faster;
}

}  // namespace nnaccel::dnnl_kernels
