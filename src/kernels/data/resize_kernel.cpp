#include <algorithm>
#include <climits>
#include <cstring>

#include "core/parallel.hpp"
#include "kernels/data/data_kernels.hpp"
#include "ops/resize_taps.hpp"

namespace nnaccel {

namespace {

// Resize of the trailing two axes of f32 planes: output row y mixes `ty` input rows, each
// output column `tx` input columns, with the reference's taps.
class ResizeKernel final : public Kernel {
 public:
  ResizeKernel(ResizeTaps taps, int64_t planes, int64_t in_h, int64_t in_w)
      : taps_(std::move(taps)), planes_(planes), in_h_(in_h), in_w_(in_w) {}

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const float* src = inputs[0]->data<float>();
    float* dst = outputs[0].data<float>();
    const size_t r = taps_.out.size();
    const ResizeAxisTaps& ay = taps_.axes[r - 2];
    const ResizeAxisTaps& ax = taps_.axes[r - 1];
    const int64_t oh = taps_.out[r - 2], ow = taps_.out[r - 1];
    const int ty = ay.taps, tx = ax.taps;
    const bool nearest = taps_.nearest;
    parallel_for(planes_ * oh, std::max<int64_t>(1, 2048 / std::max<int64_t>(1, ow)),
                 [&](int64_t begin, int64_t end) {
      std::vector<float> row(static_cast<size_t>(in_w_));
      for (int64_t t = begin; t < end; ++t) {
        const int64_t p = t / oh, y = t % oh;
        const float* plane = src + p * in_h_ * in_w_;
        float* out = dst + (p * oh + y) * ow;
        if (nearest) {
          const float* in_row = plane + ay.index[static_cast<size_t>(y)] * in_w_;
          const int64_t* ix = ax.index.data();
          for (int64_t x = 0; x < ow; ++x) out[x] = in_row[ix[x]];
          continue;
        }
        // Vertical mix into one row, then horizontal taps.
        std::fill(row.begin(), row.end(), 0.0f);
        for (int k = 0; k < ty; ++k) {
          const float w = ay.weight[static_cast<size_t>(y * ty + k)];
          if (w == 0.0f) continue;
          const float* in_row = plane + ay.index[static_cast<size_t>(y * ty + k)] * in_w_;
          for (int64_t i = 0; i < in_w_; ++i) row[static_cast<size_t>(i)] += w * in_row[i];
        }
        for (int64_t x = 0; x < ow; ++x) {
          float acc = 0.0f;
          for (int k = 0; k < tx; ++k) {
            const size_t j = static_cast<size_t>(x * tx + k);
            acc += ax.weight[j] * row[static_cast<size_t>(ax.index[j])];
          }
          out[x] = acc;
        }
      }
    });
  }
  std::string name() const override {
    return taps_.nearest ? "data resize nearest (2-D)" : "data resize interpolating (2-D)";
  }

 private:
  ResizeTaps taps_;
  int64_t planes_, in_h_, in_w_;
};

}  // namespace

std::unique_ptr<Kernel> make_resize_kernel(KernelRequest& req) {
  const ValueDesc* x = req.inputs.empty() ? nullptr : req.inputs[0];
  if (x == nullptr || !x->plain() || !x->known || x->dtype != DType::f32 || x->shape.size() < 2)
    return nullptr;
  if (req.outputs.size() != 1 || !req.outputs[0].known) return nullptr;
  for (size_t i = 1; i < req.inputs.size(); ++i)
    if (req.inputs[i] != nullptr && req.constants[i] == nullptr) return nullptr;
  auto constant = [&](size_t i) { return i < req.constants.size() ? req.constants[i] : nullptr; };
  ResizeTaps taps;
  if (!resize_taps(req.node, x->shape, constant(1), constant(2), constant(3), taps)) return nullptr;
  const size_t r = x->shape.size();
  int64_t planes = 1;
  for (size_t d = 0; d + 2 < r; ++d) {
    // Leading axes must map each output index to the same input index with weight 1.
    if (taps.out[d] != x->shape[d]) return nullptr;
    const ResizeAxisTaps& a = taps.axes[d];
    for (int64_t i = 0; i < taps.out[d]; ++i)
      for (int k = 0; k < a.taps; ++k) {
        const size_t j = static_cast<size_t>(i * a.taps + k);
        if (a.weight[j] != 0.0f && (a.index[j] != i || a.weight[j] != 1.0f)) return nullptr;
      }
    planes *= x->shape[d];
  }
  if (taps.out != req.outputs[0].shape || shape_numel(taps.out) == 0) return nullptr;
  return std::make_unique<ResizeKernel>(std::move(taps), planes, x->shape[r - 2], x->shape[r - 1]);
}

}  // namespace nnaccel
