#pragma once
// In-memory datasets for training and quantization calibration.
//
// A Dataset is a pair of tensors sharing their first dim N: inputs [N, ...] (u8 or f32) and
// labels [N] (i64 class indices), or no labels (labels undefined, e.g. calibration inputs).
#include <cstdint>
#include <string>

#include "nnaccel/tensor.hpp"

namespace nnaccel::train {

struct Dataset {
  Tensor inputs;
  Tensor labels;  // i64 [N], or undefined
  int64_t size() const { return inputs.defined() ? inputs.dim(0) : 0; }
};

// Where Debian's fashion-mnist package puts the files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Fashion-MNIST split from DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz:
// inputs u8 [N,28,28] (train N = 60000, test N = 10000), labels i64 [N] in 0..9.
// Throws Error on missing/corrupt files, non-28x28 images, count mismatch or a label > 9.
Dataset load_fashion_mnist(const std::string& dir, bool train);

// Folder of .npy files. Convention:
//   DIR/inputs.npy  required; any rank >= 1, dtype u8 or f32; dim 0 is the sample count N.
//   DIR/labels.npy  optional; rank 1 [N], any integer dtype (converted to i64), values >= 0.
//                   When absent the dataset has no labels (calibration data).
// Throws Error when inputs.npy is missing or malformed, the dtypes are unsupported, or the
// label count differs from N.
Dataset load_npy_folder(const std::string& dir);

}  // namespace nnaccel::train
