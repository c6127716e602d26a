#include "kernels/dnnl/dnnl_layout.hpp"

#include "core/check.hpp"
#include "kernels/dnnl/dnnl_common.hpp"

namespace nnaccel::dnnl_kernels {

namespace {

ValueDesc blocked_value(const Shape& shape, int64_t block) {
  if (shape.size() < 3 || shape.size() > 5 || (block != 8 && block != 16))
    fail("channel-blocked layout needs rank 3 to 5 and block 8 or 16, got {} block {}",
         shape_str(shape), block);
  ValueDesc v;
  v.dtype = DType::f32;
  v.shape = shape;
  v.block = block;
  return v;
}

void reorder(const Tensor& from, const dnnl::memory::desc& from_md, Tensor& to,
             const dnnl::memory::desc& to_md) {
  if (from.dtype() != DType::f32 || to.dtype() != DType::f32)
    fail("layout reorders are f32 only, got {} -> {}", dtype_name(from.dtype()),
         dtype_name(to.dtype()));
  if (from.nbytes() < from_md.get_size() || to.nbytes() < to_md.get_size())
    fail("layout reorder: tensor sizes {} -> {} do not match the layouts", shape_str(from.shape()),
         shape_str(to.shape()));
  dnnl::memory src(from_md, cpu_engine(), const_cast<void*>(from.raw()));
  dnnl::memory dst(to_md, cpu_engine(), to.raw());
  dnnl::reorder(src, dst).execute(cpu_stream(), src, dst);
  cpu_stream().wait();
}

}  // namespace

void reorder_plain_to_blocked(const Tensor& plain, int64_t block, Tensor& out) {
  ValueDesc v = blocked_value(plain.shape(), block);
  reorder(plain, plain_desc(plain.shape(), dnnl::memory::data_type::f32), out, desc_of(v));
}

void reorder_blocked_to_plain(const Tensor& blocked, int64_t block, Tensor& out) {
  ValueDesc v = blocked_value(out.shape(), block);
  reorder(blocked, desc_of(v), out, plain_desc(out.shape(), dnnl::memory::data_type::f32));
}

Tensor reorder_plain_to_blocked(const Tensor& plain, int64_t block) {
  Tensor out(DType::f32, blocked_value(plain.shape(), block).physical_shape());
  reorder_plain_to_blocked(plain, block, out);
  return out;
}

Tensor reorder_blocked_to_plain(const Tensor& blocked, const Shape& shape, int64_t block) {
  Tensor out(DType::f32, shape);
  reorder_blocked_to_plain(blocked, block, out);
  return out;
}

}  // namespace nnaccel::dnnl_kernels
