#include "train/data/idx.hpp"

#include <zlib.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/check.hpp"

namespace nnaccel::train {
namespace {

// zlib's message, without the "path: " prefix zlib puts in front of it.
std::string gz_message(gzFile f, const std::string& path) {
  int errnum = 0;
  const char* msg = gzerror(f, &errnum);
  std::string m = msg ? msg : "unknown error";
  if (m.rfind(path + ": ", 0) == 0) m = m.substr(path.size() + 2);
  return m;
}

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Decompresses the whole file; throws when it cannot be opened, is corrupt or exceeds the cap.
std::vector<uint8_t> read_all(const std::string& path, uint64_t cap) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) fail("{}: cannot open", path);
  struct Closer {
    gzFile f;
    ~Closer() { gzclose(f); }
  } closer{f};
  std::vector<uint8_t> bytes;
  constexpr size_t kChunk = size_t{1} << 20;
  for (;;) {
    const size_t old = bytes.size();
    if (old > cap) {
      fail("{}: decompressed size exceeds the cap of {} bytes", path, cap);
    }
    bytes.resize(old + kChunk);
    const int n = gzread(f, bytes.data() + old, static_cast<unsigned>(kChunk));
    if (n < 0) fail("{}: decompression failed after {} bytes: {}", path, old, gz_message(f, path));
    bytes.resize(old + static_cast<size_t>(n));
    if (n == 0) break;
  }
  int errnum = 0;
  gzerror(f, &errnum);
  if (errnum != Z_OK) {
    fail("{}: corrupt gzip stream after {} bytes: {}", path, bytes.size(), gz_message(f, path));
  }
  if (bytes.size() > cap) {
    fail("{}: decompressed size exceeds the cap of {} bytes", path, cap);
  }
  return bytes;
}

}  // namespace

Tensor read_idx_u8(const std::string& path, int expected_rank, uint64_t max_decompressed_bytes) {
  const std::vector<uint8_t> bytes = read_all(path, max_decompressed_bytes);
  const uint64_t present = bytes.size();
  NNA_CHECK(present >= 4, "{}: truncated: no IDX magic ({} bytes present)", path, present);
  const uint32_t magic = read_be32(bytes.data());
  NNA_CHECK(magic == 0x00000801u || magic == 0x00000803u,
            "{}: bad magic 0x{:08x} (expected 0x00000801 for u8 labels or 0x00000803 for u8 "
            "images)",
            path, magic);
  const int rank = static_cast<int>(magic & 0xffu);
  NNA_CHECK(expected_rank == 0 || rank == expected_rank,
            "{}: IDX file has {} dims, expected {} (magic 0x{:08x})", path, rank, expected_rank,
            magic);
  const uint64_t header = 4 + 4 * static_cast<uint64_t>(rank);
  NNA_CHECK(present >= header, "{}: truncated: header needs {} bytes, {} present", path, header,
            present);
  Shape shape;
  uint64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    const uint32_t d = read_be32(bytes.data() + 4 + 4 * i);
    shape.push_back(static_cast<int64_t>(d));
    // Each dim < 2^32; overflow-checked product against the cap (which bounds the payload).
    if (d != 0 && count > max_decompressed_bytes / d) {
      fail("{}: dims {} describe more than the cap of {} bytes", path, shape_str(shape),
           max_decompressed_bytes);
    }
    count *= d;
  }
  const uint64_t expected = header + count;  // count <= cap, cannot overflow
  NNA_CHECK(present >= expected, "{}: truncated: {} bytes expected, {} present", path, expected,
            present);
  NNA_CHECK(present == expected,
            "{}: {} trailing bytes after the data ({} bytes expected, {} "
            "present)",
            path, present - expected, expected, present);
  Tensor t(DType::u8, shape);
  if (count > 0) std::memcpy(t.raw(), bytes.data() + header, count);
  return t;
}

}  // namespace nnaccel::train
