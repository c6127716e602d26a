#pragma once
// The products of training through oneDNN: convolution forward, backward data and backward
// weights, and (batched) matrix products. Tensors come and go as plain row-major f32; inside,
// each product runs in the layout oneDNN's fastest kernel takes (channel-blocked for
// convolutions), with reorders in and out. f64 never comes here: it stays on the reference
// loops, which the f32 results are tested against.
//
// Mixed precision: while a Bf16Products scope is alive on the calling thread, the operands
// (inputs, weights, output gradients) are rounded to bf16 on the way in, and the products
// accumulate and return f32 (oneDNN's bf16 x bf16 -> f32 forward, bf16 diff_dst x bf16 weights
// -> f32 diff_src, bf16 src x bf16 diff_dst -> f32 diff_weights). Everything else stays f32.
//
// Primitives, reorders and their buffers are made once per shape and thread count and kept (per
// thread): a training step runs the same shapes every time.
#include "ops/nn_common.hpp"

namespace nnaccel::grad {

// Whether the f32 Conv, Gemm and MatMul of Autograd (forward and gradients) go through oneDNN
// (default true); false runs the reference loops (for comparisons and measurements).
void set_dnnl_enabled(bool enabled);
bool dnnl_enabled();

// Products on this thread take bf16 operands while one lives (`on` false: f32, e.g. to nest).
class Bf16Products {
 public:
  explicit Bf16Products(bool on);
  ~Bf16Products();
  Bf16Products(const Bf16Products&) = delete;
  Bf16Products& operator=(const Bf16Products&) = delete;

 private:
  bool previous_;
};
bool bf16_products();  // on this thread, now

// y = conv(x, w) + b (b may be null) for an f32 Conv with the resolved window. Returns false
// when oneDNN does not take it (more than 3 spatial dims, an empty tensor, fast path disabled);
// the caller then uses the reference.
bool conv_forward_dnnl(const Tensor& x, const Tensor& w, const Tensor* b, int64_t group,
                       const nn::Window& win, Tensor& y);

// d x and/or d w (null: not wanted) of an f32 Conv; same contract.
bool conv_backward_dnnl(const Tensor& x, const Tensor& w, const Tensor& dy, int64_t group,
                        const nn::Window& win, Tensor* dx, Tensor* dw);

// d x of an f32 Conv into `dx` (allocated with the input's shape), from the weight and d y
// alone: also the forward of a ConvTranspose (conv_transpose_window.hpp). Same contract.
bool conv_backward_data_dnnl(const Tensor& w, const Tensor& dy, int64_t group,
                             const nn::Window& win, Tensor& dx);

// y[b] = alpha * op(a[b]) op(b[b]) over `batch` matrices: a is [batch, m, k] (or [batch, k, m]
// when trans_a), b [batch, k, n] (or [batch, n, k]), y [batch, m, n]; all f32 row-major.
void matmul_dnnl(const float* a, bool trans_a, const float* b, bool trans_b, float* y,
                 int64_t batch, int64_t m, int64_t k, int64_t n, float alpha);

// The implementation oneDNN chose for the last product run on this thread and its operand type
// ("brg:avx512_core f32", "jit_bf16:avx512_core_bf16 bf16", ...): for tests and diagnostics.
const std::string& last_dnnl_impl();

}  // namespace nnaccel::grad
