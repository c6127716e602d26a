#include "train/data/dataset.hpp"

#include <filesystem>

#include "core/check.hpp"
#include "nnaccel/npy.hpp"
#include "train/data/idx.hpp"

namespace nnaccel::train {

Dataset load_fashion_mnist(const std::string& dir, bool train) {
  const std::string prefix = dir + "/" + (train ? "train" : "t10k");
  const std::string images_path = prefix + "-images-idx3-ubyte.gz";
  const std::string labels_path = prefix + "-labels-idx1-ubyte.gz";
  Tensor images = read_idx_u8(images_path, 3);
  Tensor raw_labels = read_idx_u8(labels_path, 1);
  NNA_CHECK(images.dim(1) == 28 && images.dim(2) == 28, "{}: images are {}x{}, expected 28x28",
            images_path, images.dim(1), images.dim(2));
  const int64_t n = images.dim(0);
  NNA_CHECK(raw_labels.dim(0) == n, "{}: {} labels but {} has {} images", labels_path,
            raw_labels.dim(0), images_path, n);
  Tensor labels(DType::i64, {n});
  const uint8_t* src = raw_labels.data<uint8_t>();
  int64_t* dst = labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    NNA_CHECK(src[i] <= 9, "{}: label {} of sample {} is out of range 0..9", labels_path,
              int{src[i]}, i);
    dst[i] = src[i];
  }
  return Dataset{images, labels};
}

Dataset load_npy_folder(const std::string& dir) {
  const std::string inputs_path = dir + "/inputs.npy";
  const std::string labels_path = dir + "/labels.npy";
  NNA_CHECK(std::filesystem::is_regular_file(inputs_path),
            "{}: missing (an npy folder needs "
            "inputs.npy and optionally labels.npy)",
            inputs_path);
  Dataset d;
  d.inputs = load_npy(inputs_path);
  NNA_CHECK(d.inputs.rank() >= 1, "{}: inputs must have rank >= 1 (dim 0 = samples), got {}",
            inputs_path, shape_str(d.inputs.shape()));
  NNA_CHECK(d.inputs.dtype() == DType::u8 || d.inputs.dtype() == DType::f32,
            "{}: inputs dtype {} unsupported (uint8 or float32)", inputs_path,
            dtype_name(d.inputs.dtype()));
  if (!std::filesystem::exists(labels_path)) return d;
  Tensor raw = load_npy(labels_path);
  NNA_CHECK(raw.rank() == 1, "{}: labels must be rank 1 [N], got {}", labels_path,
            shape_str(raw.shape()));
  const DType t = raw.dtype();
  NNA_CHECK(t == DType::u8 || t == DType::i8 || t == DType::u16 || t == DType::i16 ||
                t == DType::u32 || t == DType::i32 || t == DType::u64 || t == DType::i64,
            "{}: labels dtype {} unsupported (an integer type)", labels_path, dtype_name(t));
  NNA_CHECK(raw.dim(0) == d.inputs.dim(0), "{}: {} labels but {} has {} samples", labels_path,
            raw.dim(0), inputs_path, d.inputs.dim(0));
  d.labels = Tensor(DType::i64, {raw.dim(0)});
  int64_t* dst = d.labels.data<int64_t>();
  for (int64_t i = 0; i < raw.numel(); ++i) {
    const int64_t v = raw.at_i64(i);
    NNA_CHECK(v >= 0, "{}: label {} of sample {} is negative", labels_path, v, i);
    dst[i] = v;
  }
  return d;
}

}  // namespace nnaccel::train
