#pragma once
#include "nnaccel/tensor.hpp"

namespace nnaccel {

// Converts every element to `to` with ONNX Cast semantics: float to float rounds to nearest even
// (f32->bf16 and f32->f16 included), float to integer truncates toward zero, to bool is != 0.
Tensor cast_tensor(const Tensor& src, DType to);

}  // namespace nnaccel
