#include "core/parallel.hpp"

#include <omp.h>
#include <sched.h>

#include <atomic>

namespace nnaccel {

namespace {
std::atomic<int> g_threads{0};
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return 1;
}

void set_thread_count(int threads) {
  int n = threads > 0 ? threads : available_cores();
  g_threads = n;
  omp_set_num_threads(n);  // oneDNN's parallel regions follow OpenMP's setting
}

int thread_count() {
  int n = g_threads.load();
  return n > 0 ? n : available_cores();
}

}  // namespace nnaccel
