#pragma once
// Helpers shared by the data-movement ops (shape and indexing families): axis normalization,
// reading index tensors, building TypeInfos, strides and a strided element copy.
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/checked_math.hpp"
#include "core/dtype_dispatch.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel::shape_util {

inline Dim known_dim(int64_t v) { return Dim{v, {}}; }

inline TypeInfo unknown_rank(DType t) {
  TypeInfo ti;
  ti.dtype = t;
  return ti;
}

inline TypeInfo with_dims(DType t, std::vector<Dim> dims) {
  TypeInfo ti;
  ti.dtype = t;
  ti.has_shape = true;
  ti.dims = std::move(dims);
  return ti;
}

// A type of known rank whose dims are all unknown.
inline TypeInfo with_rank(DType t, size_t rank) { return with_dims(t, std::vector<Dim>(rank)); }

// The rank a declared shape-tensor length implies; a file may declare any length, so an absurd one
// is an error here rather than a huge allocation of Dims.
inline constexpr int64_t kMaxRank = 1024;
template <typename Ctx>
size_t rank_from_length(const Ctx& ctx, int64_t length) {
  if (length < 0 || length > kMaxRank)
    ctx.fail("a shape of {} dimensions is beyond the supported rank {}", length, kMaxRank);
  return static_cast<size_t>(length);
}

// Normalizes an axis in [-rank, rank) (what = "axis", "perm entry"...); fails otherwise.
template <typename Ctx>
int64_t norm_axis(const Ctx& ctx, int64_t axis, int64_t rank, const char* what = "axis") {
  if (axis < -rank || axis >= rank)
    ctx.fail("{} {} is out of range for rank {} (valid: [{}, {}])", what, axis, rank, -rank,
             rank - 1);
  return axis < 0 ? axis + rank : axis;
}

inline bool is_index_dtype(DType t) { return t == DType::i32 || t == DType::i64; }

// Values of an integer tensor (shape, axes, pads, repeats...); fails for other dtypes.
template <typename Ctx>
std::vector<int64_t> int_values(const Ctx& ctx, const Tensor& t, const char* what) {
  if (!dtype_is_signed_int(t.dtype()) && !dtype_is_unsigned_int(t.dtype()))
    ctx.fail("{} must be an integer tensor, got {}", what, dtype_name(t.dtype()));
  if (t.dtype() == DType::u64)
    for (int64_t i = 0; i < t.numel(); ++i)
      if (t.data<uint64_t>()[i] > static_cast<uint64_t>(INT64_MAX))
        ctx.fail("{} value {} is too large", what, t.data<uint64_t>()[i]);
  return t.to_i64_vector();
}

// Element i of an integer index tensor (i32 or i64), read without conversion of the whole tensor.
inline int64_t index_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::i64 ? t.data<int64_t>()[i] : t.data<int32_t>()[i];
}

// Index value i of `indices` normalized into [0, n); fails naming the index when out of range.
template <typename Ctx>
int64_t checked_index(const Ctx& ctx, const Tensor& indices, int64_t i, int64_t n, size_t axis) {
  int64_t v = index_at(indices, i);
  int64_t k = v < 0 ? v + n : v;
  if (k < 0 || k >= n)
    ctx.fail("index {} (at position {} of indices) is out of range for axis {} of size {}", v, i,
             axis, n);
  return k;
}

// The dims of a known shape.
inline std::vector<Dim> dims_of(const Shape& s) {
  std::vector<Dim> d;
  for (int64_t v : s) d.push_back(known_dim(v));
  return d;
}

template <typename Ctx>
void check_index_dtype(const Ctx& ctx, const Tensor& t, const char* what) {
  if (!is_index_dtype(t.dtype()))
    ctx.fail("{} must be int32 or int64, got {}", what, dtype_name(t.dtype()));
}

// Bytes per element of a dtype the data-movement kernels can copy (not string, not sub-byte).
template <typename Ctx>
size_t elem_bytes(const Ctx& ctx, DType t) {
  int bits = dtype_bits(t);
  if (bits == 0 || bits % 8 != 0) ctx.fail("unsupported element type {}", dtype_name(t));
  return static_cast<size_t>(bits / 8);
}

// a * b for sizes (both >= 0), failing with the node's name on overflow.
template <typename Ctx>
int64_t mul_size(const Ctx& ctx, int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
    ctx.fail("size overflow in {} ({} x {})", what, a, b);
  return r;
}

// Element count of a shape, failing with the node's name on negative dims or overflow.
template <typename Ctx>
int64_t numel_checked(const Ctx& ctx, const Shape& s, const char* what) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) ctx.fail("{} {} has a negative dimension", what, shape_str(s));
    n = mul_size(ctx, n, d, what);
  }
  return n;
}

// A new zero-filled tensor; allocation failures (memory cap, overflow) name the node.
template <typename Ctx>
Tensor new_tensor(const Ctx& ctx, DType t, const Shape& s) {
  try {
    return Tensor(t, s);
  } catch (const Error& e) {
    ctx.fail("{}", e.what());
  }
}

// A 1-D tensor holding `v` (any length, including 0).
template <typename T>
Tensor vector_tensor(DType dtype, const std::vector<T>& v) {
  Tensor t(dtype, {static_cast<int64_t>(v.size())});
  if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * sizeof(T));
  return t;
}

// Row-major element strides of a shape.
inline Shape strides_of(const Shape& shape) {
  Shape s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

inline int64_t prod(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= s[i];
  return p;
}

template <typename T>
void strided_copy_t(const Shape& shape, const T* src, int64_t src_off, const Shape& src_strides,
                    T* dst, int64_t dst_off, const Shape& dst_strides) {
  const size_t r = shape.size();
  for (int64_t d : shape)
    if (d == 0) return;
  if (r == 0) {
    dst[dst_off] = src[src_off];
    return;
  }
  const int64_t inner = shape[r - 1], si = src_strides[r - 1], di = dst_strides[r - 1];
  std::vector<int64_t> idx(r, 0);
  int64_t s = src_off, d = dst_off;
  while (true) {
    for (int64_t i = 0; i < inner; ++i) dst[d + i * di] = src[s + i * si];
    int k = static_cast<int>(r) - 2;
    for (; k >= 0; --k) {
      const auto ku = static_cast<size_t>(k);
      ++idx[ku];
      s += src_strides[ku];
      d += dst_strides[ku];
      if (idx[ku] < shape[ku]) break;
      s -= src_strides[ku] * shape[ku];
      d -= dst_strides[ku] * shape[ku];
      idx[ku] = 0;
    }
    if (k < 0) return;
  }
}

// dst[dst_off + sum(i_k * dst_strides_k)] = src[src_off + sum(i_k * src_strides_k)] for every
// index i of `shape`; strides are in elements and may be zero (broadcast) or negative.
inline void strided_copy(DType dtype, const Shape& shape, const void* src, int64_t src_off,
                         const Shape& src_strides, void* dst, int64_t dst_off,
                         const Shape& dst_strides) {
  visit_by_size(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    strided_copy_t<T>(shape, static_cast<const T*>(src), src_off, src_strides, static_cast<T*>(dst),
                      dst_off, dst_strides);
  });
}

// Copies src (laid out as `shape` with `src_strides`) into a new contiguous tensor of `shape`.
template <typename Ctx>
Tensor gather_strided(const Ctx& ctx, const Tensor& src, const Shape& shape, int64_t src_off,
                      const Shape& src_strides) {
  Tensor out = new_tensor(ctx, src.dtype(), shape);
  strided_copy(src.dtype(), shape, src.raw(), src_off, src_strides, out.raw(), 0,
               strides_of(shape));
  return out;
}

// Transposed copy: out dim i is input dim perm[i].
template <typename Ctx>
Tensor transpose_tensor(const Ctx& ctx, const Tensor& in, const std::vector<int64_t>& perm) {
  Shape in_strides = strides_of(in.shape());
  Shape out_shape(perm.size()), src_strides(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    out_shape[i] = in.shape()[static_cast<size_t>(perm[i])];
    src_strides[i] = in_strides[static_cast<size_t>(perm[i])];
  }
  return gather_strided(ctx, in, out_shape, 0, src_strides);
}

// Dims of input i when its rank is known, else null.
inline const std::vector<Dim>* dims_if_known(const InferContext& ctx, int i) {
  const TypeInfo& t = ctx.type(i);
  return t.has_shape ? &t.dims : nullptr;
}

}  // namespace nnaccel::shape_util
