#pragma once
// Helpers shared by the nn, normalization and loss families: float dispatch (f16/bf16 computed
// in f32), axis normalization, multi-index iteration, and the window geometry that Conv,
// ConvTranspose and the pools share.
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/cast.hpp"
#include "core/dtype_dispatch.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel::nn {

template <typename... Args>
[[noreturn]] void node_fail(const Node& node, fmt::format_string<Args...> f, Args&&... args) {
  throw Error(node.describe() + ": " + fmt::format(f, std::forward<Args>(args)...));
}

// The element type a float reference kernel computes in: f32 and f64 as they are, f16 and bf16
// in f32 (the result is rounded back to the op's type). Other types are an error.
inline DType float_compute_dtype(const Node& node, DType t) {
  switch (t) {
    case DType::f32:
    case DType::f64:
      return t;
    case DType::f16:
    case DType::bf16:
      return DType::f32;
    default:
      node_fail(node, "element type {} is not supported (float types only)", dtype_name(t));
  }
}

inline Tensor to_dtype(const Tensor& t, DType d) { return t.dtype() == d ? t : cast_tensor(t, d); }

// Calls f(Tag<float>) or f(Tag<double>).
template <typename F>
decltype(auto) visit_float(DType t, F&& f) {
  if (t == DType::f64) return f(Tag<double>{});
  return f(Tag<float>{});
}

// Numeric types except bool, with f16/bf16 mapped to f32: the types MatMul, Gemm and Einsum
// compute in.
inline DType arith_compute_dtype(const Node& node, DType t) {
  switch (t) {
    case DType::f16:
    case DType::bf16:
      return DType::f32;
    case DType::f32:
    case DType::f64:
    case DType::i8:
    case DType::u8:
    case DType::i16:
    case DType::u16:
    case DType::i32:
    case DType::u32:
    case DType::i64:
    case DType::u64:
      return t;
    default:
      node_fail(node, "element type {} is not supported", dtype_name(t));
  }
}

// Accumulator of sums of products: double for floats (the reference is the accurate side of
// every comparison), uint64 for integers (wraps like the narrower type, without signed
// overflow UB; the final cast back is modular).
template <typename T>
using acc_t = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;

template <typename T>
inline acc_t<T> to_acc(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(v);
  } else {
    return static_cast<uint64_t>(static_cast<int64_t>(v));
  }
}

// double to T: plain conversion for floats; integers saturate (NaN gives 0) instead of UB.
template <typename T>
inline T from_double(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    if (!(v == v)) return T{};
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

// Size arithmetic on attribute values (kernel, strides, pads can be anything a file says).
inline int64_t mul_checked(const Node& node, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) node_fail(node, "size arithmetic overflows: {} * {}", a, b);
  return r;
}
inline int64_t add_checked(const Node& node, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) node_fail(node, "size arithmetic overflows: {} + {}", a, b);
  return r;
}

// Normalizes axis in [-rank, rank) to [0, rank); anything else is an error.
inline int64_t normalize_axis(const Node& node, int64_t axis, int64_t rank,
                              const char* what = "axis") {
  if (axis < -rank || axis >= rank)
    node_fail(node, "{} {} is out of range for rank {}", what, axis, rank);
  return axis < 0 ? axis + rank : axis;
}

// Advances a row-major multi-index over `dims`; returns false after the last one.
inline bool next_index(std::vector<int64_t>& idx, const std::vector<int64_t>& dims) {
  for (size_t d = idx.size(); d-- > 0;) {
    if (++idx[d] < dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

inline int64_t product(const std::vector<int64_t>& v, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t p = 1;
  for (size_t i = from; i < v.size() && i < to; ++i) p *= v[i];
  return p;
}

// Floor division (Python's //), for pad arithmetic that may go negative.
inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// ---- Shapes as int64 vectors with -1 for unknown dims (for shape functions) ----

inline std::vector<int64_t> known_dims(const TypeInfo& t) {
  std::vector<int64_t> d;
  for (const Dim& x : t.dims) d.push_back(x.known() ? x.value : -1);
  return d;
}

inline TypeInfo type_with_dims(DType dtype, const std::vector<int64_t>& dims) {
  TypeInfo t;
  t.dtype = dtype;
  t.has_shape = true;
  for (int64_t v : dims) t.dims.push_back(v >= 0 ? Dim{v, {}} : Dim{});
  return t;
}

inline TypeInfo type_unknown_shape(DType dtype) {
  TypeInfo t;
  t.dtype = dtype;
  return t;
}

// ---- Window geometry of Conv and the pools ----

enum class AutoPad { notset, same_upper, same_lower, valid };
AutoPad parse_auto_pad(const Node& node);

// Per spatial dimension: the window and where it starts. Output position o reads input
// positions o * stride - pad_begin + k * dilation for k in [0, kernel).
struct Window {
  std::vector<int64_t> in;  // input spatial sizes (-1 unknown, only in shape functions)
  std::vector<int64_t> out;
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads_begin;
  std::vector<int64_t> pads_end;
  size_t rank() const { return in.size(); }
};

// Reads and checks strides, dilations and pads (not auto_pad); in/out/kernel are left empty.
Window read_window_attrs(const Node& node, size_t rank);

// Reads strides, dilations, pads and auto_pad, checks them, and computes the output size of a
// Conv (ceil_mode false) or pool. Unknown input sizes (-1) give unknown output sizes.
Window resolve_window(const Node& node, const std::vector<int64_t>& in_spatial,
                      const std::vector<int64_t>& kernel, bool ceil_mode);

// A kernel position that lands inside the input, for one output position: flat offset into the
// kernel, into one channel of the input (row-major), and the column-major input offset (MaxPool
// indices with storage_order 1).
struct Tap {
  int64_t k;
  int64_t x;
  int64_t x_col;
};

// Builds the taps of one output position after another; holds its scratch buffers so the loop
// over output positions does not allocate.
class TapBuilder {
 public:
  explicit TapBuilder(const Window& w);
  // The taps of output position `out_pos` (row-major over the kernel). `padded_count`, when
  // given, receives how many kernel positions lie inside the padded input (count_include_pad).
  // The cost is bounded by the input, not the kernel: only positions inside are visited.
  const std::vector<Tap>& build(const std::vector<int64_t>& out_pos,
                                double* padded_count = nullptr);

 private:
  const Window& w_;
  std::vector<int64_t> k_stride_, x_stride_, col_stride_;
  std::vector<std::vector<std::pair<int64_t, int64_t>>> per_dim_;  // (k_d, x_d) inside input
  std::vector<int64_t> idx_, sizes_;
  std::vector<Tap> taps_;
};

// Kernel spatial shape of a Conv: the weight's spatial dims, checked against the kernel_shape
// attribute when it is given (unknown weight dims, -1, are taken from the attribute).
std::vector<int64_t> kernel_from_weight(const Node& node, const std::vector<int64_t>& w_spatial);

// Reads a required ints attribute of `rank` positive values (kernel_shape of the pools).
std::vector<int64_t> required_kernel_shape(const Node& node, size_t rank);

}  // namespace nnaccel::nn
