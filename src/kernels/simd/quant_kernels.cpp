// Fast kernels for QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, ai.nnaccel QAdd and
// Cast of integers to float (vector code in quant_impl.cpp), bit-exact with the reference kernels
// except QAdd, which computes in float what the reference computes in double (within 1 LSB,
// INT8_CONTRACT.md).
// Converting to or from the channels-last integer layout is quant_layout.cpp's, tried first.
// Otherwise per-tensor forms are layout-agnostic: a channel-blocked input gives an output blocked
// the same way, whose padding channels are then set to 0 (kernel.hpp; a quantized 0 is the zero
// point, not 0). Per-axis forms take plain layouts.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/check.hpp"
#include "core/parallel.hpp"
#include "kernels/simd/quant_api.hpp"
#include "kernels/simd/quant_layout.hpp"
#include "kernels/simd/simd_common.hpp"
#include "kernels/simd/simd_registration.hpp"
#include "ops/fused_activation.hpp"

namespace nnaccel::simd {

namespace {

bool is_quantized(DType t) { return t == DType::u8 || t == DType::i8; }

bool scalar_shape(const Shape& s) { return s.empty() || (s.size() == 1 && s[0] == 1); }

// Element i of an integer or float tensor as float.
float value_at(const Tensor& t, int64_t i) { return static_cast<float>(t.at_f64(i)); }

// Blocked values: padding channels (the last block's lanes past C) set to 0 bytes.
void zero_padding(void* data, size_t elem, const ValueDesc& d) {
  if (d.plain()) return;
  const int64_t channels = d.shape[1], block = d.block, used = channels % block;
  if (used == 0) return;
  const Shape physical = d.physical_shape();
  const int64_t n = physical[0], blocks = physical[1];
  const int64_t spatial = shape_numel(physical) / (n * blocks * block);
  char* bytes = static_cast<char*>(data);
  for (int64_t i = 0; i < n; ++i) {
    char* last = bytes + static_cast<size_t>((i * blocks + blocks - 1) * spatial * block) * elem;
    for (int64_t s = 0; s < spatial; ++s)
      std::memset(last + static_cast<size_t>(s * block + used) * elem, 0,
                  static_cast<size_t>(block - used) * elem);
  }
}

// How scale / zero point map onto x: one pair for all, or per index of `axis` with x viewed as
// [outer, channels, inner].
struct AxisSplit {
  bool per_axis = false;
  int64_t outer = 1, channels = 1, inner = 1;
};

// False when the scale's shape is neither a scalar nor [x.shape[axis]].
bool axis_split(const KernelRequest& r, const ValueDesc& x, const ValueDesc& scale,
                const ValueDesc* zp, AxisSplit& s) {
  if (zp != nullptr && zp->shape != scale.shape) return false;
  if (scalar_shape(scale.shape)) return true;
  if (scale.shape.size() != 1 || !x.plain()) return false;
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = r.node.attr_int("axis", 1);
  if (axis < -rank || axis >= rank) return false;
  if (axis < 0) axis += rank;
  s.per_axis = true;
  s.channels = x.shape[static_cast<size_t>(axis)];
  if (scale.shape[0] != s.channels) return false;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis) s.outer *= x.shape[static_cast<size_t>(d)];
    if (d > axis) s.inner *= x.shape[static_cast<size_t>(d)];
  }
  return true;
}

// QuantizeLinear / DequantizeLinear: `Span` converts a span with one (scale, zero point), or
// with per-element arrays (`SpanEach`, for a per-axis last axis).
class AffineKernel : public Kernel {
 public:
  enum class Kind { quantize_u8, quantize_i8, dequantize_u8, dequantize_i8, dequantize_i32 };

  AffineKernel(Kind kind, AxisSplit split, ValueDesc out, int64_t count, std::string node)
      : kind_(kind), split_(split), out_(std::move(out)), count_(count), node_(std::move(node)) {}

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const Tensor& x = *inputs[0];
    const Tensor& scale_t = *inputs[1];
    std::vector<float> scale(static_cast<size_t>(scale_t.numel())), zp(scale.size(), 0.0f);
    for (size_t c = 0; c < scale.size(); ++c) {
      scale[c] = value_at(scale_t, static_cast<int64_t>(c));
      if (inputs.size() > 2 && inputs[2] != nullptr)
        zp[c] = value_at(*inputs[2], static_cast<int64_t>(c));
      // A scale fed at run time: the data, not the kernel, is wrong; reported as the reference.
      if ((kind_ == Kind::quantize_u8 || kind_ == Kind::quantize_i8) && !(scale[c] != 0))
        fail("{}: scale must be non-zero, got {}", node_, scale[c]);
    }
    Tensor& y = outputs[0];
    if (!split_.per_axis) {
      parallel_for(count_, kParallelGrain, [&](int64_t begin, int64_t end) {
        convert(x, y, begin, end - begin, scale[0], zp[0]);
      });
    } else if (split_.inner == 1) {
      // The axis is the last one: each row carries every channel's pair.
      const int64_t c = split_.channels;
      parallel_for(split_.outer, std::max<int64_t>(1, kParallelGrain / c),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t o = begin; o < end; ++o)
                       convert_each(x, y, o * c, c, scale.data(), zp.data());
                   });
    } else {
      const int64_t rows = split_.outer * split_.channels, inner = split_.inner;
      parallel_for(rows, std::max<int64_t>(1, kParallelGrain / inner),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t row = begin; row < end; ++row) {
                       const size_t c = static_cast<size_t>(row % split_.channels);
                       convert(x, y, row * inner, inner, scale[c], zp[c]);
                     }
                   });
    }
    zero_padding(y.raw(), static_cast<size_t>(dtype_bits(out_.dtype) / 8), out_);
  }

  std::string name() const override {
    static const char* kNames[] = {"QuantizeLinear u8", "QuantizeLinear i8", "DequantizeLinear u8",
                                   "DequantizeLinear i8", "DequantizeLinear i32"};
    return kernel_name(std::string(kNames[static_cast<int>(kind_)]) +
                       (split_.per_axis ? " per-axis" : ""));
  }

 private:
  void convert(const Tensor& x, Tensor& y, int64_t at, int64_t n, float s, float z) const {
    switch (kind_) {
      case Kind::quantize_u8:
        quantize_to_u8(x.data<float>() + at, y.data<uint8_t>() + at, n, s, z);
        break;
      case Kind::quantize_i8:
        quantize_to_i8(x.data<float>() + at, y.data<int8_t>() + at, n, s, z);
        break;
      case Kind::dequantize_u8:
        dequantize_u8(x.data<uint8_t>() + at, y.data<float>() + at, n, s, z);
        break;
      case Kind::dequantize_i8:
        dequantize_i8(x.data<int8_t>() + at, y.data<float>() + at, n, s, z);
        break;
      case Kind::dequantize_i32:
        dequantize_i32(x.data<int32_t>() + at, y.data<float>() + at, n, s, z);
        break;
    }
  }
  void convert_each(const Tensor& x, Tensor& y, int64_t at, int64_t n, const float* s,
                    const float* z) const {
    switch (kind_) {
      case Kind::quantize_u8:
        quantize_to_u8_each(x.data<float>() + at, y.data<uint8_t>() + at, n, s, z);
        break;
      case Kind::quantize_i8:
        quantize_to_i8_each(x.data<float>() + at, y.data<int8_t>() + at, n, s, z);
        break;
      case Kind::dequantize_u8:
        dequantize_u8_each(x.data<uint8_t>() + at, y.data<float>() + at, n, s, z);
        break;
      case Kind::dequantize_i8:
        dequantize_i8_each(x.data<int8_t>() + at, y.data<float>() + at, n, s, z);
        break;
      case Kind::dequantize_i32:
        dequantize_i32_each(x.data<int32_t>() + at, y.data<float>() + at, n, s, z);
        break;
    }
  }

  Kind kind_;
  AxisSplit split_;
  ValueDesc out_;
  int64_t count_;
  std::string node_;
};

std::unique_ptr<Kernel> make_quantize(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.size() < 2 || r.outputs.size() != 1) return nullptr;
  const ValueDesc* x = r.inputs[0];
  const ValueDesc* scale = r.inputs[1];
  const ValueDesc* zp = r.inputs.size() > 2 ? r.inputs[2] : nullptr;
  if (!is_f32(x) || shape_numel(x->shape) == 0 || scale == nullptr || !is_f32(scale))
    return nullptr;
  const DType out = zp != nullptr ? zp->dtype : DType::u8;
  if (!is_quantized(out) || (zp != nullptr && (!zp->plain() || !zp->known)) || !scale->plain())
    return nullptr;
  if (auto k = make_quantize_channels_last(r, out)) return k;
  AxisSplit split;
  if (!axis_split(r, *x, *scale, zp, split)) return nullptr;
  r.outputs[0].dtype = out;
  r.outputs[0].block = x->block;
  return std::make_unique<AffineKernel>(
      out == DType::u8 ? AffineKernel::Kind::quantize_u8 : AffineKernel::Kind::quantize_i8, split,
      r.outputs[0], shape_numel(x->physical_shape()), r.node.describe());
}

std::unique_ptr<Kernel> make_dequantize(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.size() < 2 || r.outputs.size() != 1) return nullptr;
  const ValueDesc* x = r.inputs[0];
  const ValueDesc* scale = r.inputs[1];
  const ValueDesc* zp = r.inputs.size() > 2 ? r.inputs[2] : nullptr;
  if (x == nullptr || !x->known || shape_numel(x->shape) == 0 || scale == nullptr ||
      scale->dtype != DType::f32 || !scale->known || !scale->plain())
    return nullptr;
  if (!is_quantized(x->dtype) && x->dtype != DType::i32) return nullptr;
  if (auto k = make_dequantize_channels_last(r)) return k;
  if (zp != nullptr && (zp->dtype != x->dtype || !zp->plain() || !zp->known)) return nullptr;
  if (x->dtype == DType::i32 && zp != nullptr) {
    // The reference requires a zero point of 0 for int32: only a constant one is known here.
    const Tensor* z = r.constants[2];
    if (z == nullptr) return nullptr;
    for (int64_t i = 0; i < z->numel(); ++i)
      if (z->at_f64(i) != 0) return nullptr;
  }
  AxisSplit split;
  if (!axis_split(r, *x, *scale, zp, split)) return nullptr;
  r.outputs[0].dtype = DType::f32;
  r.outputs[0].block = x->block;
  const AffineKernel::Kind kind = x->dtype == DType::u8   ? AffineKernel::Kind::dequantize_u8
                                  : x->dtype == DType::i8 ? AffineKernel::Kind::dequantize_i8
                                                          : AffineKernel::Kind::dequantize_i32;
  return std::make_unique<AffineKernel>(kind, split, r.outputs[0], shape_numel(x->physical_shape()),
                                        r.node.describe());
}

// Cast of u8 / i8 / i32 to f32 (a dynamically quantized layer's MatMulInteger output is cast
// before its scales are applied): the dequantize spans with scale 1 and zero point 0, which
// compute (float(x) - 0) * 1 = float(x), the reference's conversion exactly. Layout-agnostic: a
// blocked input's padding (0) converts to 0.
class CastToFloatKernel : public Kernel {
 public:
  CastToFloatKernel(DType from, int64_t count) : from_(from), count_(count) {}

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const Tensor& x = *inputs[0];
    float* y = outputs[0].data<float>();
    parallel_for(count_, kParallelGrain, [&](int64_t begin, int64_t end) {
      const int64_t n = end - begin;
      if (from_ == DType::u8)
        dequantize_u8(x.data<uint8_t>() + begin, y + begin, n, 1.0f, 0.0f);
      else if (from_ == DType::i8)
        dequantize_i8(x.data<int8_t>() + begin, y + begin, n, 1.0f, 0.0f);
      else
        dequantize_i32(x.data<int32_t>() + begin, y + begin, n, 1.0f, 0.0f);
    });
  }

  std::string name() const override {
    return kernel_name(std::string("Cast ") + dtype_name(from_) + " -> float32");
  }

 private:
  DType from_;
  int64_t count_;
};

std::unique_ptr<Kernel> make_cast_to_float(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.size() != 1 || r.outputs.size() != 1) return nullptr;
  const ValueDesc* x = r.inputs[0];
  if (x == nullptr || !x->known || shape_numel(x->shape) == 0) return nullptr;
  if (!is_quantized(x->dtype) && x->dtype != DType::i32) return nullptr;
  if (r.node.attr_int("to", 0) != 1) return nullptr;  // TensorProto FLOAT
  r.outputs[0].dtype = DType::f32;
  r.outputs[0].block = x->block;
  return std::make_unique<CastToFloatKernel>(x->dtype, shape_numel(x->physical_shape()));
}

// DynamicQuantizeLinear: the range (with 0) in chunks over threads, then the u8 quantization,
// each step the reference's float arithmetic.
class DynamicQuantizeKernel : public Kernel {
 public:
  DynamicQuantizeKernel(std::string node, ValueDesc out, int64_t count)
      : node_(std::move(node)), out_(std::move(out)), count_(count) {}

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const float* x = inputs[0]->data<float>();
    const int64_t chunks = (count_ + kParallelGrain - 1) / kParallelGrain;
    std::vector<float> lo(static_cast<size_t>(chunks)), hi(lo.size());
    std::vector<char> nan(lo.size(), 0);
    parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        const int64_t at = c * kParallelGrain, n = std::min(kParallelGrain, count_ - at);
        bool bad = false;
        min_max(x + at, n, lo[static_cast<size_t>(c)], hi[static_cast<size_t>(c)], bad);
        nan[static_cast<size_t>(c)] = bad;
      }
    });
    float lo_all = 0, hi_all = 0;
    for (size_t c = 0; c < lo.size(); ++c) {
      // Not a kernel's invariant but the data: the reference reports it the same way.
      if (nan[c]) fail("{}: input contains NaN", node_);
      lo_all = std::min(lo_all, lo[c]);
      hi_all = std::max(hi_all, hi[c]);
    }
    const float scale = (hi_all - lo_all) / 255.0f;
    float zero_point = 0;
    Tensor& y = outputs[0];
    if (scale > 0) {
      const float z = std::nearbyint((0.0f - lo_all) / scale);
      zero_point = z > 0 ? (z >= 255 ? 255.0f : z) : 0.0f;  // NaN (inf / inf) -> 0
      parallel_for(count_, kParallelGrain, [&](int64_t begin, int64_t end) {
        quantize_to_u8(x + begin, y.data<uint8_t>() + begin, end - begin, scale, zero_point);
      });
      zero_padding(y.raw(), 1, out_);
    } else {
      std::memset(y.raw(), 0, y.nbytes());
    }
    if (outputs.size() > 1) {
      if (!outputs[1].defined()) outputs[1] = Tensor(DType::f32, {});
      outputs[1].data<float>()[0] = scale;
    }
    if (outputs.size() > 2) {
      if (!outputs[2].defined()) outputs[2] = Tensor(DType::u8, {});
      outputs[2].data<uint8_t>()[0] = static_cast<uint8_t>(zero_point);
    }
  }

  std::string name() const override { return kernel_name("DynamicQuantizeLinear"); }

 private:
  std::string node_;
  ValueDesc out_;
  int64_t count_;
};

std::unique_ptr<Kernel> make_dynamic_quantize(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.size() != 1 || r.outputs.empty() || r.outputs.size() > 3)
    return nullptr;
  const ValueDesc* x = r.inputs[0];
  if (!is_f32(x) || shape_numel(x->shape) == 0) return nullptr;
  r.outputs[0].dtype = DType::u8;
  r.outputs[0].block = x->block;
  if (r.outputs.size() > 1 && r.outputs[1].known) r.outputs[1].dtype = DType::f32;
  if (r.outputs.size() > 2 && r.outputs[2].known) r.outputs[2].dtype = DType::u8;
  return std::make_unique<DynamicQuantizeKernel>(r.node.describe(), r.outputs[0],
                                                 shape_numel(x->physical_shape()));
}

// Elements per thread worth the fork for QAdd: it moves 3 bytes per element where a float
// binary kernel moves 12, so a quarter of kParallelGrain is the same memory traffic. (With the
// float grain the Fashion-MNIST CNN's [32, 16, 28, 28] residual Add ran on one thread: 0.075 ms,
// 0.041 ms split, batch 32, 2 idle threads.)
constexpr int64_t kQAddGrain = kParallelGrain / 4;

// QAdd: a has the output's shape; b is elementwise (same shape and layout), one value, a
// trailing vector repeated, or one value per run of `inner` (per channel).
class QAddKernel : public Kernel {
 public:
  QAddKernel(DType t, QAddParams p, int a, int b, int64_t inner, int64_t k, ValueDesc out,
             int64_t count)
      : t_(t), p_(p), a_(a), b_(b), inner_(inner), k_(k), out_(std::move(out)), count_(count) {}

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const char* a = static_cast<const char*>(inputs[static_cast<size_t>(a_)]->raw());
    const char* b = static_cast<const char*>(inputs[static_cast<size_t>(b_)]->raw());
    char* y = static_cast<char*>(outputs[0].raw());
    const auto span = [&](int64_t at, int64_t n, int64_t b_at, bool b_each) {
      QAddParams p = p_;
      p.b_each = b_each;
      if (t_ == DType::u8)
        qadd_u8(reinterpret_cast<const uint8_t*>(a) + at,
                reinterpret_cast<const uint8_t*>(b) + b_at, reinterpret_cast<uint8_t*>(y) + at, n,
                p);
      else
        qadd_i8(reinterpret_cast<const int8_t*>(a) + at, reinterpret_cast<const int8_t*>(b) + b_at,
                reinterpret_cast<int8_t*>(y) + at, n, p);
    };
    if (k_ == count_) {  // same shape
      parallel_for(count_, kQAddGrain,
                   [&](int64_t begin, int64_t end) { span(begin, end - begin, begin, true); });
    } else if (k_ == 1) {
      parallel_for(count_, kQAddGrain,
                   [&](int64_t begin, int64_t end) { span(begin, end - begin, 0, false); });
    } else if (inner_ == 1) {  // b repeats every k elements
      parallel_for(count_ / k_, std::max<int64_t>(1, kQAddGrain / k_),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t row = begin; row < end; ++row) span(row * k_, k_, 0, true);
                   });
    } else {  // b[(i / inner) % k]
      parallel_for(count_ / inner_, std::max<int64_t>(1, kQAddGrain / inner_),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t run = begin; run < end; ++run)
                       span(run * inner_, inner_, run % k_, false);
                   });
    }
    zero_padding(y, 1, out_);
  }

  std::string name() const override { return kernel_name("QAdd"); }

 private:
  DType t_;
  QAddParams p_;
  int a_, b_;
  int64_t inner_, k_;
  ValueDesc out_;
  int64_t count_;
};

// A constant positive finite scalar scale, or a constant scalar zero point, as double.
bool constant_scalar_of(const KernelRequest& r, size_t i, double& v) {
  if (i >= r.constants.size() || r.constants[i] == nullptr) return false;
  const Tensor& t = *r.constants[i];
  if (t.numel() != 1 || t.rank() > 1) return false;
  v = t.at_f64(0);
  return true;
}

std::unique_ptr<Kernel> make_qadd(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.size() != 8 || r.outputs.size() != 1) return nullptr;
  for (const ValueDesc* v : r.inputs)
    if (v == nullptr || !v->known) return nullptr;
  const ValueDesc* a = r.inputs[0];
  const ValueDesc* b = r.inputs[3];
  const DType t = a->dtype;
  if (!is_quantized(t) || b->dtype != t || r.inputs[7]->dtype != t || r.inputs[2]->dtype != t ||
      r.inputs[5]->dtype != t)
    return nullptr;
  double sa = 0, sb = 0, sy = 0, za = 0, zb = 0, zy = 0;
  if (!constant_scalar_of(r, 1, sa) || !constant_scalar_of(r, 4, sb) ||
      !constant_scalar_of(r, 6, sy) || !constant_scalar_of(r, 2, za) ||
      !constant_scalar_of(r, 5, zb) || !constant_scalar_of(r, 7, zy))
    return nullptr;
  for (const size_t i : {1, 4, 6})
    if (r.constants[i]->dtype() != DType::f32) return nullptr;
  for (double s : {sa, sb, sy})
    if (!(s > 0) || !std::isfinite(s)) return nullptr;
  FusedActivation act;
  try {
    act = fused_activation_of(r.node);
  } catch (const Error&) {
    return nullptr;  // the reference reports it
  }
  QAddParams p;
  const float inf = std::numeric_limits<float>::infinity();
  p.lo = -inf;
  p.hi = inf;
  if (act.kind == ActivationKind::relu) {
    p.lo = 0;
  } else if (act.kind == ActivationKind::clip) {
    p.lo = static_cast<float>(act.alpha / sy);
    p.hi = static_cast<float>(act.beta / sy);
    if (!(p.lo <= p.hi)) return nullptr;
  } else if (act.kind != ActivationKind::none) {
    return nullptr;
  }
  const Shape& out = r.outputs[0].shape;
  int ia = 0, ib = 3;
  if (a->shape != out) {
    std::swap(ia, ib);
    std::swap(sa, sb);
    std::swap(za, zb);
    std::swap(a, b);
  }
  if (a->shape != out) return nullptr;
  int64_t inner = 1, k = 0;
  if (b->shape == out && b->block == a->block) {
    k = shape_numel(a->physical_shape());
  } else if (!a->plain() || !b->plain() || !broadcast_pattern(b->shape, out, inner, k)) {
    return nullptr;
  }
  p.ka = static_cast<float>(sa / sy);
  p.kb = static_cast<float>(sb / sy);
  p.a_zp = static_cast<float>(za);
  p.b_zp = static_cast<float>(zb);
  p.y_zp = static_cast<float>(zy);
  r.outputs[0].dtype = t;
  r.outputs[0].block = a->block;
  return std::make_unique<QAddKernel>(t, p, ia, ib, inner, k, r.outputs[0],
                                      shape_numel(a->physical_shape()));
}

}  // namespace

void register_quant_kernels(KernelRegistry& reg) {
  reg.add({"", "QuantizeLinear", "simd", make_quantize});
  reg.add({"", "DequantizeLinear", "simd", make_dequantize});
  reg.add({"", "DynamicQuantizeLinear", "simd", make_dynamic_quantize});
  reg.add({"", "Cast", "simd", make_cast_to_float});
  reg.add({"ai.nnaccel", "QAdd", "simd", make_qadd});
}

}  // namespace nnaccel::simd
