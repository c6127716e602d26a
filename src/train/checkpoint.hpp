#pragma once
// The trainer's checkpoint file (format nnaccel-checkpoint-v1).
//
// Layout: the 8 bytes "NNACKPT1", a little-endian u64 header size, the header (UTF-8 text, one
// "key value" per line), then the payload. Header keys: step, optimizer_steps, seed,
// batch_size, optimizer, threads, precision (fp32 or bf16; absent in older files: fp32), loader (a LoaderState string), payload_size, payload_crc32
// (zlib's CRC-32 of the payload), one "blob model OFFSET SIZE" line (the inference model as ONNX
// bytes, weights and BatchNorm running statistics included) and one
// "tensor OFFSET SIZE RANK D0 .. NAME" line per optimizer state tensor (float32, little-endian;
// the name is the rest of the line). Offsets are into the payload. Every size is checked against
// the bytes present before anything is allocated; a bad file throws one Error naming it.
#include <cstdint>
#include <map>
#include <string>

#include "nnaccel/tensor.hpp"

namespace nnaccel::train {

struct Checkpoint {
  int64_t step = 0;
  int64_t optimizer_steps = 0;
  uint64_t seed = 0;
  int64_t batch_size = 0;
  std::string optimizer;  // "sgd", "adam", "adamw"
  int threads = 0;        // the thread count of the run (bit-identical resume needs the same)
  std::string precision = "fp32";  // of the products (bit-identical resume needs the same)
  std::string loader;     // LoaderState::to_string()
  std::string model_onnx;
  std::map<std::string, Tensor> optimizer_state;
};

void write_checkpoint(const std::string& path, const Checkpoint& c);  // atomic
Checkpoint read_checkpoint(const std::string& path);

}  // namespace nnaccel::train
