#pragma once
// The training graph's convolutional layers on channel-blocked activations
// (autograd/blocked_layout.hpp). Plain NCHW activations cost a layout conversion before and after
// every convolution, forward and backward, and under mixed precision an f32 <-> bf16 conversion
// as well; keeping the values between convolutions blocked (and in bf16 under mixed precision)
// removes both and halves the bytes BatchNorm, ReLU and Add stream.
#include <cstdint>

#include "nnaccel/train.hpp"

namespace nnaccel {

// Rewrites `tg.graph` (standard ops) into ops of domain ai.nnaccel.training on blocked values of
// `dtype` (f32 or bf16) with `block` channels per block (8 or 16):
// - 2-D Conv without bias, group 1, output channels a multiple of the block;
// - BatchNormalization in training mode reading a blocked value, with a ReLU that is its output's
//   only reader fused;
// - Add of two blocked values of the same shape, with a ReLU likewise fused.
// Readers of those values that are not rewritten (and the graph's outputs) get ToPlain
// conversions. Value names the trainer reads (the loss, the logits, BatchNorm's running
// statistics) and the order of the other nodes are kept (tg.dropout_nodes is updated). Returns
// how many standard nodes were rewritten or fused.
int block_activations(TrainingGraph& tg, int64_t block, DType dtype);

}  // namespace nnaccel
