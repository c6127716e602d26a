#pragma once
// Whether bf16 convolutions and matmuls beat fp32 on this CPU, for `--precision auto`. Having
// the instructions is not enough: on some CPUs the bf16 dot product runs at half the fp32 FMA
// rate (DESIGN.md, "The CPUs"), so it is measured.
#include <optional>
#include <string>

namespace nnaccel::dnnl_kernels {

// fp32 time / bf16 time of a 512^3 oneDNN matmul on one thread (medians of alternating runs,
// < 0.3 s), or nullopt when the CPU has no native bf16. Measured on every call.
std::optional<double> measure_bf16_speedup();

// True when bf16 is measurably faster (speedup > 1.1). Measured once per CPU model and cached in
// $XDG_CACHE_HOME/nnaccel (else ~/.cache/nnaccel)/bf16_speed.txt; false without native bf16.
bool bf16_is_faster();

// The same decision with the cache in `cache_path` ("" for none), not remembered in the process.
bool bf16_is_faster_cached_in(const std::string& cache_path);
// $XDG_CACHE_HOME/nnaccel/bf16_speed.txt, else ~/.cache/nnaccel/bf16_speed.txt, else "".
std::string default_bf16_cache_file();

// The "model name" of /proc/cpuinfo ("unknown" when absent): the cache key.
std::string cpu_model_name();

}  // namespace nnaccel::dnnl_kernels
