// The channels-last QuantizeLinear / DequantizeLinear kernels (quant_layout.hpp). Without them an
// int8 chain's edges paid a reorder each: MobileNetV2's input QuantizeLinear wrote plain u8 that
// the first QConv converted to nhwc, and the last QConv converted its nhwc result to plain for the
// DequantizeLinear after it.
#include "kernels/simd/quant_layout.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "core/check.hpp"
#include "core/parallel.hpp"
#include "kernels/dnnl/dnnl_common.hpp"
#include "kernels/dnnl/dnnl_int8.hpp"
#include "kernels/simd/quant_api.hpp"
#include "kernels/simd/simd_common.hpp"

namespace nnaccel::simd {

namespace {

bool scalar_shape(const Shape& s) { return s.empty() || (s.size() == 1 && s[0] == 1); }

// Scale (and zero point) of one value, or of one per channel along axis 1; false otherwise.
bool per_channel_or_tensor(const KernelRequest& r, const ValueDesc& x, const ValueDesc& scale,
                           const ValueDesc* zp, bool& per_channel) {
  if (!scale.known || !scale.plain() || scale.dtype != DType::f32) return false;
  if (zp != nullptr && (zp->shape != scale.shape || !zp->known || !zp->plain())) return false;
  per_channel = false;
  if (scalar_shape(scale.shape)) return true;
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = r.node.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis != 1 || scale.shape.size() != 1 || scale.shape[0] != x.shape[1]) return false;
  per_channel = true;
  return true;
}

class ChannelsLastKernel : public Kernel {
 public:
  // quantize: float x (plain, or blocked by `block`) -> channels-last integers of `type`; else
  // channels-last integers of `type` -> float y (plain, or blocked by `block`).
  ChannelsLastKernel(bool quantize, DType type, const ValueDesc& x, int64_t block, std::string node)
      : quantize_(quantize), type_(type), block_(block), node_(std::move(node)) {
    batch_ = x.shape[0];
    channels_ = x.shape[1];
    pixels_ = shape_numel(x.shape) / (batch_ * channels_);
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const int64_t padded = block_ > 0 ? (channels_ + block_ - 1) / block_ * block_ : channels_;
    std::vector<float> scale(static_cast<size_t>(padded), 1.0f), zp(scale.size(), 0.0f);
    const Tensor& scale_t = *inputs[1];
    const Tensor* zp_t = inputs.size() > 2 ? inputs[2] : nullptr;
    const bool each = scale_t.numel() > 1;
    for (int64_t c = 0; c < channels_; ++c) {
      const int64_t at = each ? c : 0;
      scale[static_cast<size_t>(c)] = static_cast<float>(scale_t.at_f64(at));
      if (zp_t != nullptr) zp[static_cast<size_t>(c)] = static_cast<float>(zp_t->at_f64(at));
      // A scale fed at run time: the data, not the kernel, is wrong; reported as the reference.
      if (quantize_ && !(scale[static_cast<size_t>(c)] != 0))
        fail("{}: scale must be non-zero, got {}", node_, scale[static_cast<size_t>(c)]);
    }
    const char* x = static_cast<const char*>(inputs[0]->raw());
    char* y = static_cast<char*>(outputs[0].raw());
    const int64_t x_image = inputs[0]->nbytes() / batch_, y_image = outputs[0].nbytes() / batch_;
    // Work units: (image, run of pixels), each about kParallelGrain floats when there is work.
    const int64_t run = std::max<int64_t>(64, kParallelGrain / 8 / channels_ / 16 * 16);
    const int64_t runs = (pixels_ + run - 1) / run;
    const int64_t grain = std::max<int64_t>(1, kParallelGrain / (run * channels_));
    parallel_for(batch_ * runs, grain, [&](int64_t begin, int64_t end) {
      for (int64_t u = begin; u < end; ++u) {
        const int64_t n = u / runs, first = (u % runs) * run;
        ChannelsLastSpan s;
        s.channels = channels_;
        s.pixels = pixels_;
        s.block = block_;
        s.begin = first;
        s.end = std::min(pixels_, first + run);
        s.scale = scale.data();
        s.zero_point = zp.data();
        const char* xi = x + n * x_image;
        char* yi = y + n * y_image;
        convert(xi, yi, s);
      }
    });
  }

  std::string name() const override {
    const std::string side = block_ > 0 ? fmt::format("blocked{}", block_) : "plain";
    const std::string t = type_ == DType::u8 ? "u8" : "i8";
    return kernel_name(quantize_ ? fmt::format("QuantizeLinear {} {}->nhwc", t, side)
                                 : fmt::format("DequantizeLinear {} nhwc->{}", t, side));
  }

 private:
  void convert(const char* x, char* y, const ChannelsLastSpan& s) const {
    // One channel or one pixel: both layouts are the same bytes, the plain kernels' spans do.
    const bool same_bytes = block_ == 0 && (channels_ == 1 || pixels_ == 1);
    const int64_t n = (s.end - s.begin) * channels_, at = s.begin * channels_;
    if (quantize_ && type_ == DType::u8) {
      const float* xf = reinterpret_cast<const float*>(x);
      uint8_t* yq = reinterpret_cast<uint8_t*>(y);
      if (!same_bytes) return quantize_to_channels_last_u8(xf, yq, s);
      if (channels_ == 1) return quantize_to_u8(xf + at, yq + at, n, s.scale[0], s.zero_point[0]);
      return quantize_to_u8_each(xf, yq, channels_, s.scale, s.zero_point);
    }
    if (quantize_) {
      const float* xf = reinterpret_cast<const float*>(x);
      int8_t* yq = reinterpret_cast<int8_t*>(y);
      if (!same_bytes) return quantize_to_channels_last_i8(xf, yq, s);
      if (channels_ == 1) return quantize_to_i8(xf + at, yq + at, n, s.scale[0], s.zero_point[0]);
      return quantize_to_i8_each(xf, yq, channels_, s.scale, s.zero_point);
    }
    float* yf = reinterpret_cast<float*>(y);
    if (type_ == DType::u8) {
      const uint8_t* xq = reinterpret_cast<const uint8_t*>(x);
      if (!same_bytes) return dequantize_channels_last_u8(xq, yf, s);
      if (channels_ == 1) return dequantize_u8(xq + at, yf + at, n, s.scale[0], s.zero_point[0]);
      return dequantize_u8_each(xq, yf, channels_, s.scale, s.zero_point);
    }
    const int8_t* xq = reinterpret_cast<const int8_t*>(x);
    if (!same_bytes) return dequantize_channels_last_i8(xq, yf, s);
    if (channels_ == 1) return dequantize_i8(xq + at, yf + at, n, s.scale[0], s.zero_point[0]);
    dequantize_i8_each(xq, yf, channels_, s.scale, s.zero_point);
  }

  bool quantize_;
  DType type_;
  int64_t block_;
  std::string node_;
  int64_t batch_ = 1, channels_ = 1, pixels_ = 1;
};

bool image_like(const ValueDesc& x) {
  return x.known && x.shape.size() >= 3 && x.shape.size() <= 5 && shape_numel(x.shape) > 0;
}

}  // namespace

std::unique_ptr<Kernel> make_quantize_channels_last(KernelRequest& r, DType out) {
  const ValueDesc* x = r.inputs[0];
  const ValueDesc* zp = r.inputs.size() > 2 ? r.inputs[2] : nullptr;
  if (!is_f32(x) || !image_like(*x) || r.inputs[1] == nullptr) return nullptr;
  // Other blocks are channels-last floats: the plain kernels keep that layout.
  if (!x->plain() && x->block != 8 && x->block != 16) return nullptr;
  bool per_channel = false;
  if (!per_channel_or_tensor(r, *x, *r.inputs[1], zp, per_channel)) return nullptr;
  r.outputs[0].dtype = out;
  if (!dnnl_kernels::readers_take_channels_last(r, 0)) return nullptr;
  r.outputs[0].block = x->shape[1];
  return std::make_unique<ChannelsLastKernel>(true, out, *x, x->block, r.node.describe());
}

std::unique_ptr<Kernel> make_dequantize_channels_last(KernelRequest& r) {
  const ValueDesc* x = r.inputs[0];
  const ValueDesc* zp = r.inputs.size() > 2 ? r.inputs[2] : nullptr;
  if (x == nullptr || !image_like(*x) || !dnnl_kernels::is_channels_last(*x)) return nullptr;
  if ((x->dtype != DType::u8 && x->dtype != DType::i8) || r.inputs[1] == nullptr) return nullptr;
  if (zp != nullptr && zp->dtype != x->dtype) return nullptr;
  bool per_channel = false;
  if (!per_channel_or_tensor(r, *x, *r.inputs[1], zp, per_channel)) return nullptr;
  r.outputs[0].dtype = DType::f32;
  // One pixel (a pooled [N, C, 1, 1]): channels-last is plain already, and blocked readers gain
  // nothing there while a reader that declines blocks would need a reorder (HardSigmoid of a
  // squeeze-excite: 0 does not map to 0).
  const bool one_pixel = shape_numel(x->shape) == x->shape[0] * x->shape[1];
  const int64_t block =
      !one_pixel && dnnl_kernels::consumers_take_blocked(r, 0) ? dnnl_kernels::channel_block() : 0;
  r.outputs[0].block = block;
  return std::make_unique<ChannelsLastKernel>(false, x->dtype, *x, block, r.node.describe());
}

}  // namespace nnaccel::simd
