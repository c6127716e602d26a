#pragma once
// Plain <-> channel-blocked conversions with oneDNN reorders, for the compiler's layout changes
// and for tests. The blocked tensor is [N, ceil(C/block), spatial..., block] with zeros in the
// padding channels (kernel.hpp).
#include "nnaccel/tensor.hpp"

namespace nnaccel::dnnl_kernels {

// f32 rank 3 to 5, block 8 or 16; throws Error otherwise.
Tensor reorder_plain_to_blocked(const Tensor& plain, int64_t block);
// `shape` is the logical (plain) shape of the blocked tensor.
Tensor reorder_blocked_to_plain(const Tensor& blocked, const Shape& shape, int64_t block);
// Into preallocated outputs (same rules; `out` has the target's physical shape).
void reorder_plain_to_blocked(const Tensor& plain, int64_t block, Tensor& out);
void reorder_blocked_to_plain(const Tensor& blocked, int64_t block, Tensor& out);

}  // namespace nnaccel::dnnl_kernels
