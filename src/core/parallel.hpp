#pragma once
// Threads. nnaccel's own kernels and oneDNN share one OpenMP runtime (Debian's oneDNN is built
// with OpenMP), so there is one pool and one thread count: two pools would fight for the cores.
#include <cstdint>

namespace nnaccel {

// The cores this process may run on (sched_getaffinity), at least 1.
int available_cores();
// Sets the thread count of every parallel region that follows (0: available_cores()).
void set_thread_count(int threads);
int thread_count();

// Calls body(begin, end) on disjoint ranges covering [0, n), in parallel when n is at least
// 2 * grain. `grain` is the smallest range worth a thread (elements, rows, ...).
template <typename Body>
void parallel_for(int64_t n, int64_t grain, const Body& body) {
  if (n <= 0) return;
  int threads = thread_count();
  int64_t chunks = grain > 0 ? n / grain : n;
  if (threads <= 1 || chunks < 2) {
    body(int64_t{0}, n);
    return;
  }
  if (chunks > threads) chunks = threads;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t begin = n * c / chunks;
    int64_t end = n * (c + 1) / chunks;
    if (begin < end) body(begin, end);
  }
}

}  // namespace nnaccel
