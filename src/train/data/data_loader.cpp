#include "train/data/data_loader.hpp"

#include <cstdio>
#include <random>

#include "core/check.hpp"

namespace nnaccel::train {
namespace {

// Uniform integer in [0, bound) from the standard-specified mt19937_64 (rejection sampling, so
// unbiased and identical across standard libraries, unlike std::uniform_int_distribution).
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  for (;;) {
    const uint64_t r = rng();
    if (r < limit) return r % bound;
  }
}

std::mt19937_64 make_rng(uint64_t seed, int64_t epoch, int64_t position, uint32_t stream) {
  const auto e = static_cast<uint64_t>(epoch), p = static_cast<uint64_t>(position);
  std::seed_seq seq{static_cast<uint32_t>(seed),
                    static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(e),
                    static_cast<uint32_t>(e >> 32),
                    static_cast<uint32_t>(p),
                    static_cast<uint32_t>(p >> 32),
                    stream};
  return std::mt19937_64(seq);
}

}  // namespace

std::string LoaderState::to_string() const {
  return fmt::format("nnaccel-loader-v1 seed={} epoch={} position={}", seed, epoch, position);
}

LoaderState LoaderState::parse(const std::string& s) {
  LoaderState st;
  unsigned long long seed = 0;
  long long epoch = 0, position = 0;
  int consumed = 0;
  const int got = std::sscanf(s.c_str(), "nnaccel-loader-v1 seed=%llu epoch=%lld position=%lld%n",
                              &seed, &epoch, &position, &consumed);
  NNA_CHECK(got == 3 && static_cast<size_t>(consumed) == s.size() && epoch >= 0 && position >= 0,
            "malformed data loader state '{}' (expected 'nnaccel-loader-v1 seed=S epoch=E "
            "position=P')",
            s);
  st.seed = seed;
  st.epoch = epoch;
  st.position = position;
  return st;
}

DataLoader::DataLoader(Dataset data, LoaderOptions options)
    : data_(std::move(data)), options_(options) {
  NNA_CHECK(options_.batch_size >= 1, "data loader: batch_size must be >= 1, got {}",
            options_.batch_size);
  NNA_CHECK(options_.std > 0.0f, "data loader: std must be > 0, got {}", options_.std);
  NNA_CHECK(options_.crop_padding >= 0, "data loader: crop_padding must be >= 0, got {}",
            options_.crop_padding);
  const Tensor& x = data_.inputs;
  NNA_CHECK(x.defined() && (x.dtype() == DType::u8 || x.dtype() == DType::f32),
            "data loader: inputs must be uint8 or float32");
  NNA_CHECK(x.rank() == 3 || x.rank() == 4,
            "data loader: inputs must be [N,H,W] or [N,C,H,W], got {}", shape_str(x.shape()));
  n_ = x.dim(0);
  c_ = x.rank() == 4 ? x.dim(1) : 1;
  h_ = x.dim(x.rank() - 2);
  w_ = x.dim(x.rank() - 1);
  if (data_.labels.defined()) {
    NNA_CHECK(
        data_.labels.dtype() == DType::i64 && data_.labels.rank() == 1 && data_.labels.dim(0) == n_,
        "data loader: labels must be int64 [{}], got {} {}", n_, dtype_name(data_.labels.dtype()),
        shape_str(data_.labels.shape()));
  }
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t b = options_.batch_size;
  return options_.drop_last ? n_ / b : (n_ + b - 1) / b;
}

void DataLoader::restore(const LoaderState& s) {
  NNA_CHECK(s.seed == options_.seed, "data loader: state was saved with seed {}, loader has {}",
            s.seed, options_.seed);
  NNA_CHECK(s.epoch >= 0 && s.position >= 0 && s.position <= n_,
            "data loader: state epoch {} position {} out of range (N = {})", s.epoch, s.position,
            n_);
  epoch_ = s.epoch;
  position_ = s.position;
}

void DataLoader::build_order() {
  if (order_epoch_ == epoch_) return;
  order_.resize(static_cast<size_t>(n_));
  for (int64_t i = 0; i < n_; ++i) order_[static_cast<size_t>(i)] = i;
  if (options_.shuffle) {
    std::mt19937_64 rng = make_rng(options_.seed, epoch_, 0, 0);
    for (int64_t i = n_ - 1; i > 0; --i) {
      const auto j = static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(i) + 1));
      std::swap(order_[static_cast<size_t>(i)], order_[static_cast<size_t>(j)]);
    }
  }
  order_epoch_ = epoch_;
}

Augment DataLoader::augment_for(int64_t epoch, int64_t position) const {
  Augment a;
  if (options_.crop_padding == 0 && !options_.hflip) return a;
  std::mt19937_64 rng = make_rng(options_.seed, epoch, position, 1);
  const int64_t p = options_.crop_padding;
  if (p > 0) {
    a.dy = static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(2 * p + 1)));
    a.dx = static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(2 * p + 1)));
  } else {
    a.dy = a.dx = 0;
  }
  if (options_.hflip) a.flip = (rng() >> 63) != 0;
  return a;
}

void DataLoader::render(int64_t index, const Augment& a, float* out) const {
  NNA_CHECK(index >= 0 && index < n_, "data loader: sample {} out of range (N = {})", index, n_);
  const int64_t p = options_.crop_padding;
  NNA_CHECK(a.dy >= 0 && a.dy <= 2 * p && a.dx >= 0 && a.dx <= 2 * p,
            "data loader: crop offset ({}, {}) outside 0..{}", a.dy, a.dx, 2 * p);
  const float scale = options_.scale, mean = options_.mean, inv_std = 1.0f / options_.std;
  const int64_t plane = h_ * w_;
  const float pad_value = (0.0f * scale - mean) * inv_std;
  auto fill = [&](auto* src) {
    for (int64_t c = 0; c < c_; ++c) {
      const auto* in = src + (index * c_ + c) * plane;
      float* o = out + c * plane;
      for (int64_t y = 0; y < h_; ++y) {
        const int64_t sy = y + a.dy - p;
        for (int64_t x = 0; x < w_; ++x) {
          const int64_t ox = a.flip ? w_ - 1 - x : x;
          const int64_t sx = x + a.dx - p;
          float v = pad_value;
          if (sy >= 0 && sy < h_ && sx >= 0 && sx < w_) {
            v = (static_cast<float>(in[sy * w_ + sx]) * scale - mean) * inv_std;
          }
          o[y * w_ + ox] = v;
        }
      }
    }
  };
  if (data_.inputs.dtype() == DType::u8) {
    fill(data_.inputs.data<uint8_t>());
  } else {
    fill(data_.inputs.data<float>());
  }
}

std::optional<Batch> DataLoader::next() {
  const int64_t remaining = n_ - position_;
  const int64_t b = std::min(options_.batch_size, remaining);
  if (b <= 0 || (options_.drop_last && b < options_.batch_size)) {
    ++epoch_;
    position_ = 0;
    return std::nullopt;
  }
  build_order();
  Batch batch;
  batch.inputs = Tensor(DType::f32, {b, c_, h_, w_});
  if (data_.labels.defined()) batch.labels = Tensor(DType::i64, {b});
  batch.indices.resize(static_cast<size_t>(b));
  const int64_t sample = c_ * h_ * w_;
  for (int64_t i = 0; i < b; ++i) {
    const int64_t pos = position_ + i;
    const int64_t idx = order_[static_cast<size_t>(pos)];
    batch.indices[static_cast<size_t>(i)] = idx;
    render(idx, augment_for(epoch_, pos), batch.inputs.data<float>() + i * sample);
    if (data_.labels.defined()) {
      batch.labels.data<int64_t>()[i] = data_.labels.data<int64_t>()[idx];
    }
  }
  position_ += b;
  return batch;
}

}  // namespace nnaccel::train
