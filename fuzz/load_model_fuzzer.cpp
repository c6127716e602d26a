// libFuzzer target: arbitrary bytes as an ONNX model. Loading must succeed or throw
// nnaccel::Error; a loaded model must give a Session (verification, kernel lookup, shape
// inference with constant folding) or an Error. Never a crash, a sanitizer report or a hang.
// Allocations are capped at 64 MB so that a hostile shape fails cleanly instead of exhausting
// memory (run with ASAN_OPTIONS=allocator_may_return_null=1).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "ir/shape_inference.hpp"
#include "nnaccel/error.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/session.hpp"

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

}  // namespace

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
