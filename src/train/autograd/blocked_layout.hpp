#pragma once
// Channel-blocked activations in training. The trainer's convolutional layers keep their
// activations as oneDNN's fastest kernels read them: a logical [N, C, H, W] is held as the
// tensor [N, C/b, H, W, b] (b = 16 on AVX-512, 8 on AVX2: oneDNN's nChw16c / nChw8c), in f32 or,
// under mixed precision, in bf16. The shape says the layout, so a blocked value and its gradient
// are ordinary tensors of one shape, and no value is converted between layers
// (block_activations.hpp writes the training graph that uses them).
#include <cstdint>

#include "nnaccel/tensor.hpp"

namespace nnaccel::grad::blocked_layout {

// True when `t` is a blocked activation of a layer with `spatial` spatial dims.
inline bool is_blocked(const Tensor& t, size_t spatial) {
  return static_cast<size_t>(t.rank()) == spatial + 3 &&
         (t.dim(t.rank() - 1) == 8 || t.dim(t.rank() - 1) == 16) &&
         (t.dtype() == DType::f32 || t.dtype() == DType::bf16);
}
inline int64_t block_of(const Tensor& t) { return t.dim(t.rank() - 1); }
// [N, C/b, spatial..., b] -> [N, C, spatial...].
inline Shape logical_shape(const Tensor& t) {
  Shape s(t.shape().begin(), t.shape().end() - 1);
  s[1] *= block_of(t);
  return s;
}
// [N, C, spatial...] -> [N, C/b, spatial..., b]; C must be a multiple of b.
inline Shape blocked_shape(const Shape& logical, int64_t block) {
  Shape s = logical;
  s[1] /= block;
  s.push_back(block);
  return s;
}

}  // namespace nnaccel::grad::blocked_layout
