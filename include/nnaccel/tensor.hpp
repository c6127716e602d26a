#pragma once
// A dense tensor: dtype, shape and a shared, 64-byte aligned buffer. Always contiguous, row-major.
// Copies share the buffer (like a shared_ptr); clone() makes a deep copy.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nnaccel/dtype.hpp"

namespace nnaccel {

using Shape = std::vector<int64_t>;

// Quantization parameters attached to a tensor that holds quantized values. Granularity is a
// block size along an axis: axis = -1 means per-tensor; block_size = 0 with an axis means
// per-axis (per-channel); block_size > 0 means per-group along that axis.
class Tensor;
struct QuantParams {
  std::shared_ptr<const Tensor> scale;
  std::shared_ptr<const Tensor> zero_point;  // may be null (symmetric)
  int64_t axis = -1;
  int64_t block_size = 0;
};

// Upper bound, in bytes, of any single allocation (set from --max-memory); 0 means no limit.
void set_max_allocation_bytes(uint64_t bytes);
uint64_t max_allocation_bytes();
uint64_t physical_memory_bytes();

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-filled storage; throws Error when the size overflows or exceeds the cap.
  Tensor(DType dtype, Shape shape);

  static Tensor scalar_f32(float v);
  static Tensor scalar_i64(int64_t v);
  static Tensor from_f32(Shape shape, const std::vector<float>& values);
  static Tensor from_i64(Shape shape, const std::vector<int64_t>& values);
  // A tensor over memory owned by `owner` (an arena, a packed-weight buffer): `data` must hold
  // the shape's bytes and stay valid while `owner` lives. The memory is not cleared.
  static Tensor view(DType dtype, Shape shape, std::shared_ptr<void> owner, void* data);

  bool defined() const { return dtype_ != DType::undefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(static_cast<size_t>(i)); }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const;
  // A hash of the element bytes: equal tensors hash alike (for finding copies of one weight).
  size_t bytes_hash() const;

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <typename T>
  T* data() {
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }

  Tensor clone() const;
  // Same buffer, new shape of the same element count (throws Error otherwise).
  Tensor reshaped(Shape shape) const;
  // Element i converted to double / int64 (any numeric dtype); slow, for attributes and tests.
  double at_f64(int64_t i) const;
  int64_t at_i64(int64_t i) const;
  std::vector<int64_t> to_i64_vector() const;
  std::vector<float> to_f32_vector() const;

  std::shared_ptr<const QuantParams> quant;

 private:
  DType dtype_ = DType::undefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
};

// Checked element count of a shape: throws Error on negative dims or overflow.
int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[1,3,224,224]"

}  // namespace nnaccel
