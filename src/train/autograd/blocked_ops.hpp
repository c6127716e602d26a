#pragma once
// The non-product layers of training on channel-blocked activations (blocked_layout.hpp), through
// oneDNN: BatchNormalization in training mode (ReLU optionally fused), Add (ReLU optionally
// fused) and the conversions between blocked and plain values, with their gradients. Values are
// f32 or bf16; statistics, scales and their gradients are f32. The convolutions themselves are in
// dnnl_ops.hpp, which takes blocked activations too.
#include "nnaccel/tensor.hpp"

namespace nnaccel::grad {

struct BlockedBatchNorm {
  Tensor y;          // like x
  Tensor mean, var;  // f32 [C]: this batch's statistics (biased variance), kept for backward
  Tensor workspace;  // u8: oneDNN's record of the fused ReLU, kept for backward (empty without)
};

// y = scale * (x - mean) / sqrt(var + eps) + shift over the batch's statistics, then ReLU when
// `relu`; x blocked [N, C/b, H, W, b], scale and shift f32 [C].
BlockedBatchNorm blocked_batch_norm_forward(const Tensor& x, const Tensor& scale,
                                            const Tensor& shift, float eps, bool relu);

// Gradients of the forward above (null: not wanted).
void blocked_batch_norm_backward(const Tensor& x, const Tensor& scale, const Tensor& shift,
                                 const BlockedBatchNorm& fwd, const Tensor& dy, float eps,
                                 bool relu, Tensor* dx, Tensor* dscale, Tensor* dshift);

// a + b, then ReLU when `relu`; a and b of one shape and type (f32 or bf16), any layout.
Tensor blocked_add(const Tensor& a, const Tensor& b, bool relu);

// dy where y > 0, else 0: the gradient of a ReLU from its output. Same shape and type.
Tensor relu_backward_from_output(const Tensor& y, const Tensor& dy);

// A blocked value as plain f32 [N, C, spatial...], and a plain f32 value as blocked `type`.
Tensor blocked_to_plain(const Tensor& x);
Tensor plain_to_blocked(const Tensor& x, int64_t block, DType type);

}  // namespace nnaccel::grad
