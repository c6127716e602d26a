#pragma once
// IDX files (the MNIST / Fashion-MNIST format), optionally gzip-compressed.
//
// Layout: a big-endian u32 magic 0x000008NN (0x08 = unsigned byte data, NN = number of dims),
// NN big-endian u32 dims, then prod(dims) bytes. Only u8 data with 1 dim (labels, magic
// 0x00000801) or 3 dims (images, magic 0x00000803) is accepted. The whole file is decompressed
// (bounded by max_decompressed_bytes) and every size is checked against the bytes actually
// present before the tensor is allocated; a bad file throws nnaccel::Error naming the file.
#include <cstdint>
#include <string>

#include "nnaccel/tensor.hpp"

namespace nnaccel::train {

// Default cap on the decompressed size of one IDX file (Fashion-MNIST train images: 47 MB).
inline constexpr uint64_t kDefaultIdxMaxBytes = uint64_t{512} << 20;

// Reads a gzip'd (or plain: zlib reads those transparently) IDX file into a u8 tensor whose
// shape is the file's dims. expected_rank: 1 or 3 to require labels / images, 0 for either.
Tensor read_idx_u8(const std::string& path, int expected_rank = 0,
                   uint64_t max_decompressed_bytes = kDefaultIdxMaxBytes);

}  // namespace nnaccel::train
