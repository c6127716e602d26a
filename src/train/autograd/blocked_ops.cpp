#include "train/autograd/blocked_ops.hpp"

#include <cstring>
#include <dnnl.hpp>
#include <functional>
#include <map>
#include <memory>

#include "core/check.hpp"
#include "core/parallel.hpp"  // thread_count
#include "kernels/dnnl/dnnl_common.hpp"
#include "kernels/dnnl/dnnl_int8.hpp"  // dnnl_type
#include "train/autograd/blocked_layout.hpp"
#include "train/autograd/grad_util.hpp"

namespace nnaccel::grad {

namespace {

using dnnl::memory;
using dnnl_kernels::cpu_engine;
using dnnl_kernels::cpu_stream;
using dnnl_kernels::dnnl_type;
using dt = memory::data_type;
using Flags = dnnl::normalization_flags;

// The descriptor of a blocked value [N, C/b, spatial..., b].
memory::desc blocked_md(const Tensor& t) {
  return dnnl_kernels::blocked_desc(blocked_layout::logical_shape(t), blocked_layout::block_of(t),
                                    dnnl_type(t.dtype()));
}

// Per-channel f32 values: statistics, scales, shifts and their gradients.
memory::desc channel_md(int64_t channels) { return {{channels}, dt::f32, memory::format_tag::x}; }

memory bind(const memory::desc& md, const void* data) {
  return memory(md, cpu_engine(), const_cast<void*>(data));
}

// Primitives of this thread by what they compute: a training step runs the same shapes each time.
template <typename T>
T& cached(std::vector<int64_t> key, const std::function<T()>& make) {
  thread_local std::map<std::vector<int64_t>, std::shared_ptr<void>> cache;
  if (cache.size() > 256) cache.clear();  // the test suite runs many shapes
  key.push_back(thread_count());
  auto& slot = cache[key];
  if (!slot) slot = std::make_shared<T>(make());
  return *static_cast<T*>(slot.get());
}

std::vector<int64_t> key_of(int64_t kind, const Tensor& t, int64_t extra) {
  std::vector<int64_t> k = {kind, static_cast<int64_t>(t.dtype()), extra};
  k.insert(k.end(), t.shape().begin(), t.shape().end());
  return k;
}

// Runs `prim` on two inputs and a new output like `in0`, all laid out as `md`.
Tensor run_binary_like(const dnnl::primitive& prim, const memory::desc& md, int in0_arg,
                       const Tensor& in0, int in1_arg, const Tensor& in1, int out_arg) {
  Tensor out = uninitialized(in0.dtype(), in0.shape());
  prim.execute(cpu_stream(), {{in0_arg, bind(md, in0.raw())},
                              {in1_arg, bind(md, in1.raw())},
                              {out_arg, bind(md, out.raw())}});
  cpu_stream().wait();
  return out;
}

struct BatchNormPrims {
  dnnl::batch_normalization_forward::primitive_desc fwd_pd;
  dnnl::batch_normalization_forward fwd;
  dnnl::batch_normalization_backward::primitive_desc bwd_pd;
  dnnl::batch_normalization_backward bwd;
};

BatchNormPrims& batch_norm_prims(const Tensor& x, float eps, bool relu) {
  uint32_t eps_bits = 0;
  std::memcpy(&eps_bits, &eps, sizeof eps);
  return cached<BatchNormPrims>(key_of(1, x, (relu ? 1 : 0) + 2 * int64_t{eps_bits}), [&] {
    const memory::desc md = blocked_md(x);
    Flags flags = Flags::use_scale | Flags::use_shift;
    if (relu) flags = flags | Flags::fuse_norm_relu;
    BatchNormPrims p;
    p.fwd_pd = dnnl::batch_normalization_forward::primitive_desc(
        {dnnl::prop_kind::forward_training, md, eps, flags}, cpu_engine());
    p.fwd = dnnl::batch_normalization_forward(p.fwd_pd);
    p.bwd_pd = dnnl::batch_normalization_backward::primitive_desc(
        {dnnl::prop_kind::backward, md, md, eps, flags}, cpu_engine(), p.fwd_pd);
    p.bwd = dnnl::batch_normalization_backward(p.bwd_pd);
    return p;
  });
}

}  // namespace

BlockedBatchNorm blocked_batch_norm_forward(const Tensor& x, const Tensor& scale,
                                            const Tensor& shift, float eps, bool relu) {
  BatchNormPrims& p = batch_norm_prims(x, eps, relu);
  const memory::desc md = blocked_md(x);
  const int64_t channels = blocked_layout::logical_shape(x)[1];
  BlockedBatchNorm r;
  r.y = uninitialized(x.dtype(), x.shape());
  r.mean = uninitialized(DType::f32, {channels});
  r.var = uninitialized(DType::f32, {channels});
  const memory::desc stat = channel_md(channels);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, bind(md, x.raw())},         {DNNL_ARG_DST, bind(md, r.y.raw())},
      {DNNL_ARG_SCALE, bind(stat, scale.raw())}, {DNNL_ARG_SHIFT, bind(stat, shift.raw())},
      {DNNL_ARG_MEAN, bind(stat, r.mean.raw())}, {DNNL_ARG_VARIANCE, bind(stat, r.var.raw())}};
  if (relu) {
    const memory::desc ws = p.fwd_pd.workspace_desc();
    r.workspace = uninitialized(DType::u8, {static_cast<int64_t>(ws.get_size())});
    args[DNNL_ARG_WORKSPACE] = bind(ws, r.workspace.raw());
  }
  p.fwd.execute(cpu_stream(), args);
  cpu_stream().wait();
  return r;
}

void blocked_batch_norm_backward(const Tensor& x, const Tensor& scale, const Tensor& shift,
                                 const BlockedBatchNorm& fwd, const Tensor& dy, float eps,
                                 bool relu, Tensor* dx, Tensor* dscale, Tensor* dshift) {
  BatchNormPrims& p = batch_norm_prims(x, eps, relu);
  const memory::desc md = blocked_md(x);
  const int64_t channels = blocked_layout::logical_shape(x)[1];
  Tensor diff_src = uninitialized(x.dtype(), x.shape());
  Tensor diff_scale = uninitialized(DType::f32, {channels});
  Tensor diff_shift = uninitialized(DType::f32, {channels});
  const memory::desc stat = channel_md(channels);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, bind(md, x.raw())},
                                          {DNNL_ARG_MEAN, bind(stat, fwd.mean.raw())},
                                          {DNNL_ARG_VARIANCE, bind(stat, fwd.var.raw())},
                                          {DNNL_ARG_DIFF_DST, bind(md, dy.raw())},
                                          {DNNL_ARG_SCALE, bind(stat, scale.raw())},
                                          {DNNL_ARG_SHIFT, bind(stat, shift.raw())},
                                          {DNNL_ARG_DIFF_SRC, bind(md, diff_src.raw())},
                                          {DNNL_ARG_DIFF_SCALE, bind(stat, diff_scale.raw())},
                                          {DNNL_ARG_DIFF_SHIFT, bind(stat, diff_shift.raw())}};
  if (relu) args[DNNL_ARG_WORKSPACE] = bind(p.bwd_pd.workspace_desc(), fwd.workspace.raw());
  p.bwd.execute(cpu_stream(), args);
  cpu_stream().wait();
  if (dx != nullptr) *dx = diff_src;
  if (dscale != nullptr) *dscale = diff_scale;
  if (dshift != nullptr) *dshift = diff_shift;
}

Tensor blocked_add(const Tensor& a, const Tensor& b, bool relu) {
  NNA_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype(), "blocked add: {} {} and {} {} differ",
            dtype_name(a.dtype()), shape_str(a.shape()), dtype_name(b.dtype()),
            shape_str(b.shape()));
  const memory::desc md = dnnl_kernels::plain_desc(a.shape(), dnnl_type(a.dtype()));
  auto& prim = cached<dnnl::binary>(key_of(2, a, relu ? 1 : 0), [&] {
    dnnl::post_ops ops;
    if (relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    return dnnl::binary(dnnl::binary::primitive_desc({dnnl::algorithm::binary_add, md, md, md},
                                                     attr, cpu_engine()));
  });
  return run_binary_like(prim, md, DNNL_ARG_SRC_0, a, DNNL_ARG_SRC_1, b, DNNL_ARG_DST);
}

Tensor relu_backward_from_output(const Tensor& y, const Tensor& dy) {
  NNA_CHECK(y.shape() == dy.shape() && y.dtype() == dy.dtype() && y.rank() >= 1,
            "relu backward: output {} {} and gradient {} {} differ", dtype_name(y.dtype()),
            shape_str(y.shape()), dtype_name(dy.dtype()), shape_str(dy.shape()));
  const memory::desc md = dnnl_kernels::plain_desc(y.shape(), dnnl_type(y.dtype()));
  auto& prim = cached<dnnl::eltwise_backward>(key_of(5, y, 0), [&] {
    const auto alg = dnnl::algorithm::eltwise_relu_use_dst_for_bwd;
    const dnnl::eltwise_forward::primitive_desc hint(
        {dnnl::prop_kind::forward_training, alg, md, 0.0f, 0.0f}, cpu_engine());
    return dnnl::eltwise_backward(
        dnnl::eltwise_backward::primitive_desc({alg, md, md, 0.0f, 0.0f}, cpu_engine(), hint));
  });
  return run_binary_like(prim, md, DNNL_ARG_DST, y, DNNL_ARG_DIFF_DST, dy, DNNL_ARG_DIFF_SRC);
}

namespace {

void reorder(std::vector<int64_t> key, const memory::desc& from, const void* src,
             const memory::desc& to, void* dst) {
  auto& prim = cached<dnnl::reorder>(std::move(key), [&] {
    return dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), from, cpu_engine(), to));
  });
  memory in = bind(from, src), out = bind(to, dst);
  prim.execute(cpu_stream(), in, out);
  cpu_stream().wait();
}

}  // namespace

Tensor blocked_to_plain(const Tensor& x) {
  const Shape logical = blocked_layout::logical_shape(x);
  Tensor y = uninitialized(DType::f32, logical);
  reorder(key_of(3, x, 0), blocked_md(x), x.raw(), dnnl_kernels::plain_desc(logical, dt::f32),
          y.raw());
  return y;
}

Tensor plain_to_blocked(const Tensor& x, int64_t block, DType type) {
  NNA_CHECK(x.dtype() == DType::f32 && x.rank() >= 3 && x.dim(1) % block == 0,
            "plain_to_blocked: {} {} does not split into blocks of {} channels",
            dtype_name(x.dtype()), shape_str(x.shape()), block);
  Tensor y = uninitialized(type, blocked_layout::blocked_shape(x.shape(), block));
  reorder(key_of(4, x, block * 64 + static_cast<int64_t>(type)),
          dnnl_kernels::plain_desc(x.shape(), dt::f32), x.raw(), blocked_md(y), y.raw());
  return y;
}

}  // namespace nnaccel::grad
