#pragma once
// NumPy .npy files (format 1.0-3.0, little-endian, C order).
#include <string>

#include "nnaccel/tensor.hpp"

namespace nnaccel {

Tensor load_npy(const std::string& path);
void save_npy(const Tensor& t, const std::string& path);  // atomic

}  // namespace nnaccel
