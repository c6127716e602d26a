#include "nnaccel/tensor.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <string_view>

#include "core/check.hpp"
#include "core/checked_math.hpp"

namespace nnaccel {

namespace {
std::atomic<uint64_t> g_max_alloc{0};
}

void set_max_allocation_bytes(uint64_t bytes) { g_max_alloc = bytes; }
uint64_t max_allocation_bytes() { return g_max_alloc; }

uint64_t physical_memory_bytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

int64_t shape_numel(const Shape& shape) {
  // The product of the non-zero dims must fit too: kernels compute strides from them even when
  // another dim is 0 and the tensor is empty.
  int64_t nonzero = 1;
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) fail("negative dimension {} in shape {}", d, shape_str(shape));
    if (d == 0) empty = true;
    else nonzero = checked_mul(nonzero, d, "tensor element count");
  }
  return empty ? 0 : nonzero;
}

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ",")); }

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (dtype == DType::undefined) fail("cannot create a tensor of undefined type");
  if (dtype == DType::string) fail("string tensors are not supported");
  numel_ = shape_numel(shape_);
  int64_t bits = checked_mul(numel_, dtype_bits(dtype), "tensor byte size");
  uint64_t bytes = static_cast<uint64_t>((bits + 7) / 8);
  uint64_t cap = g_max_alloc.load();
  if (cap != 0 && bytes > cap)
    fail("tensor of shape {} {} needs {} bytes, over the memory cap of {} bytes",
         shape_str(shape_), dtype_name(dtype), bytes, cap);
  if (bytes > (uint64_t{1} << 46)) fail("tensor of shape {} is too large", shape_str(shape_));
  size_t alloc = (static_cast<size_t>(bytes) + 63) / 64 * 64;
  if (alloc == 0) alloc = 64;
  void* p = std::aligned_alloc(64, alloc);
  if (p == nullptr) fail("out of memory allocating {} bytes for shape {}", bytes, shape_str(shape_));
  std::memset(p, 0, alloc);
  storage_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  data_ = p;
}

Tensor Tensor::view(DType dtype, Shape shape, std::shared_ptr<void> owner, void* data) {
  if (dtype == DType::undefined) fail("cannot create a tensor of undefined type");
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  t.storage_ = std::move(owner);
  t.data_ = data;
  return t;
}

size_t Tensor::nbytes() const { return dtype_storage_bytes(dtype_, numel_); }

size_t Tensor::bytes_hash() const {
  return std::hash<std::string_view>{}(std::string_view(static_cast<const char*>(data_), nbytes()));
}

Tensor Tensor::scalar_f32(float v) {
  Tensor t(DType::f32, {});
  *t.data<float>() = v;
  return t;
}
Tensor Tensor::scalar_i64(int64_t v) {
  Tensor t(DType::i64, {});
  *t.data<int64_t>() = v;
  return t;
}
Tensor Tensor::from_f32(Shape shape, const std::vector<float>& values) {
  Tensor t(DType::f32, std::move(shape));
  NNA_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "from_f32: {} values for {} elements",
            values.size(), t.numel());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  return t;
}
Tensor Tensor::from_i64(Shape shape, const std::vector<int64_t>& values) {
  Tensor t(DType::i64, std::move(shape));
  NNA_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "from_i64: {} values for {} elements",
            values.size(), t.numel());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(int64_t));
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t(dtype_, shape_);
  std::memcpy(t.raw(), raw(), nbytes());
  t.quant = quant;
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  int64_t n = shape_numel(shape);
  if (n != numel_)
    fail("cannot reshape {} ({} elements) to {} ({} elements)", shape_str(shape_), numel_,
         shape_str(shape), n);
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

double Tensor::at_f64(int64_t i) const {
  switch (dtype_) {
    case DType::f32: return data<float>()[i];
    case DType::f64: return data<double>()[i];
    case DType::f16: return f16_to_f32(data<uint16_t>()[i]);
    case DType::bf16: return bf16_to_f32(data<uint16_t>()[i]);
    case DType::i8: return data<int8_t>()[i];
    case DType::u8: return data<uint8_t>()[i];
    case DType::boolean: return data<uint8_t>()[i] != 0;
    case DType::i16: return data<int16_t>()[i];
    case DType::u16: return data<uint16_t>()[i];
    case DType::i32: return data<int32_t>()[i];
    case DType::u32: return data<uint32_t>()[i];
    case DType::i64: return static_cast<double>(data<int64_t>()[i]);
    case DType::u64: return static_cast<double>(data<uint64_t>()[i]);
    default: fail("at_f64: unsupported dtype {}", dtype_name(dtype_));
  }
}

int64_t Tensor::at_i64(int64_t i) const {
  switch (dtype_) {
    case DType::i64: return data<int64_t>()[i];
    case DType::i32: return data<int32_t>()[i];
    case DType::i16: return data<int16_t>()[i];
    case DType::i8: return data<int8_t>()[i];
    case DType::u8: return data<uint8_t>()[i];
    case DType::boolean: return data<uint8_t>()[i] != 0;
    case DType::u16: return data<uint16_t>()[i];
    case DType::u32: return data<uint32_t>()[i];
    case DType::u64: return static_cast<int64_t>(data<uint64_t>()[i]);
    default: {
      double v = at_f64(i);
      if (!(v >= -9.2e18 && v <= 9.2e18)) fail("value {} does not fit in int64", v);
      return static_cast<int64_t>(v);
    }
  }
}

std::vector<int64_t> Tensor::to_i64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[static_cast<size_t>(i)] = at_i64(i);
  return v;
}
std::vector<float> Tensor::to_f32_vector() const {
  std::vector<float> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[static_cast<size_t>(i)] = static_cast<float>(at_f64(i));
  return v;
}

}  // namespace nnaccel
