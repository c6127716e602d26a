#include <algorithm>
#include <numeric>

#include "runtime/plan.hpp"

namespace nnaccel {

uint64_t plan_buffer_offsets(std::vector<BufferLifetime>& buffers, uint64_t alignment) {
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  auto round_up = [&](uint64_t v) { return (v + alignment - 1) / alignment * alignment; };
  std::vector<size_t> placed;  // indices, kept sorted by offset
  uint64_t total = 0;
  for (size_t i : order) {
    BufferLifetime& b = buffers[i];
    uint64_t need = round_up(std::max<uint64_t>(b.bytes, 1));
    // The lowest gap between placed buffers that overlap in time and is large enough.
    uint64_t candidate = 0;
    for (size_t j : placed) {
      const BufferLifetime& p = buffers[j];
      if (p.last < b.first || b.last < p.first) continue;
      if (p.offset >= candidate + need) break;
      candidate = std::max(candidate, round_up(p.offset + p.bytes));
    }
    b.offset = candidate;
    total = std::max(total, candidate + need);
    auto pos = std::lower_bound(placed.begin(), placed.end(), i, [&](size_t x, size_t y) {
      return buffers[x].offset < buffers[y].offset;
    });
    placed.insert(pos, i);
  }
  return total;
}

}  // namespace nnaccel
