#pragma once
// Batches of a Dataset, produced on demand (memory: one batch at a time).
//
// Order: each epoch visits a permutation of 0..N-1 (identity without shuffle). The permutation of
// epoch e is a Fisher-Yates shuffle driven by std::mt19937_64 seeded from (seed, e) through
// std::seed_seq, both of which the C++ standard fully specifies, so the order is the same on every
// platform. Augmentation draws come from a generator seeded from (seed, epoch, position in the
// epoch), so a run resumed from a saved LoaderState reproduces exactly the batches it would have
// produced without interruption.
//
// Each sample is converted to f32 as (x * scale - mean) / std, laid out NCHW: inputs [N,H,W]
// become [B,1,H,W], [N,C,H,W] stay [B,C,H,W]. With crop_padding p > 0 the sample is padded by p
// zeros (raw pixel value 0) on each side and a random HxW window is cut out (offsets dy, dx in
// 0..2p); with hflip it is then mirrored left-right with probability 1/2.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "train/data/dataset.hpp"

namespace nnaccel::train {

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  uint64_t seed = 0;
  bool drop_last = false;  // drop the last partial batch of an epoch instead of yielding it
  float scale = 1.0f / 255.0f;
  float mean = 0.0f;
  float std = 1.0f;
  int64_t crop_padding = 0;  // 0: no random crop
  bool hflip = false;
};

struct Batch {
  Tensor inputs;                 // f32 [B,C,H,W]
  Tensor labels;                 // i64 [B], undefined when the dataset has none
  std::vector<int64_t> indices;  // dataset index of each sample
};

// Where a loader is: the next batch starts at sample `position` of epoch `epoch`'s order.
struct LoaderState {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int64_t position = 0;
  std::string to_string() const;                   // "nnaccel-loader-v1 seed=S epoch=E position=P"
  static LoaderState parse(const std::string& s);  // throws Error on malformed text
};

// Per-sample augmentation parameters.
struct Augment {
  int64_t dy = 0, dx = 0;  // window offset into the padded image, 0..2*crop_padding
  bool flip = false;
};

class DataLoader {
 public:
  // Throws Error on bad options (batch_size < 1, std <= 0, negative padding) or an unsupported
  // dataset (inputs not u8/f32 of rank 3 or 4, labels not i64 [N]).
  DataLoader(Dataset data, LoaderOptions options);

  // The next batch of the current epoch, or nullopt when the epoch is exhausted; that call also
  // moves to the next epoch (position 0), so the following call starts it.
  std::optional<Batch> next();

  int64_t batches_per_epoch() const;
  int64_t epoch() const { return epoch_; }
  int64_t position() const { return position_; }
  LoaderState state() const { return {options_.seed, epoch_, position_}; }
  // Continues from a saved state; throws Error when its seed differs from the options' seed or
  // its position is outside 0..N.
  void restore(const LoaderState& s);

  const std::vector<int64_t>& order() const { return order_; }  // current epoch's permutation
  Augment augment_for(int64_t epoch, int64_t position) const;
  // Writes sample `index`, transformed, to out (C*H*W floats).
  void render(int64_t index, const Augment& a, float* out) const;
  const Dataset& dataset() const { return data_; }

 private:
  void build_order();

  Dataset data_;
  LoaderOptions options_;
  int64_t n_ = 0, c_ = 1, h_ = 0, w_ = 0;
  int64_t epoch_ = 0;
  int64_t position_ = 0;
  int64_t order_epoch_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace nnaccel::train
