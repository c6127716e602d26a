#include "ops/quant_kernels.hpp"

#include "core/cast.hpp"
#include "core/dtype_dispatch.hpp"

namespace nnaccel::quant {

void quant_range(const OpContext& ctx, DType t, int64_t& lo, int64_t& hi) {
  switch (t) {
    case DType::u8:
      lo = 0, hi = 255;
      return;
    case DType::i8:
      lo = -128, hi = 127;
      return;
    case DType::u16:
      lo = 0, hi = 65535;
      return;
    case DType::i16:
      lo = -32768, hi = 32767;
      return;
    case DType::i32:
      lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
      return;
    default:
      ctx.fail("quantized element type {} is not supported", dtype_name(t));
  }
}

std::vector<int32_t> to_int32(const OpContext& ctx, const Tensor& t) {
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  switch (t.dtype()) {
    case DType::u8:
    case DType::i8:
    case DType::u16:
    case DType::i16:
    case DType::i32:
      visit_numeric(t.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* p = t.data<T>();
        for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(p[i]);
      });
      return v;
    default:
      ctx.fail("expected an integer tensor (u8, i8, u16, i16, i32), got {}", dtype_name(t.dtype()));
  }
}

std::vector<float> to_float(const OpContext& ctx, const Tensor& t) {
  if (!dtype_is_float(t.dtype()) || dtype_bits(t.dtype()) < 16)
    ctx.fail("expected a float tensor, got {}", dtype_name(t.dtype()));
  Tensor f = cast_tensor(t, DType::f32);
  return std::vector<float>(f.data<float>(), f.data<float>() + f.numel());
}

std::vector<int32_t> subtract_broadcast(const OpContext& ctx, const std::vector<int32_t>& x,
                                        const Shape& shape, const std::vector<int32_t>& zp,
                                        const Shape& zp_shape) {
  if (zp.size() == 1) {
    std::vector<int32_t> r(x.size());
    for (size_t i = 0; i < x.size(); ++i) r[i] = x[i] - zp[0];
    return r;
  }
  if (zp_shape.size() != shape.size())
    ctx.fail("zero point of shape {} does not match the operand's shape {}", shape_str(zp_shape),
             shape_str(shape));
  const size_t rank = shape.size();
  // Strides of zp, zero along broadcast dims.
  std::vector<int64_t> zstride(rank, 0);
  int64_t s = 1;
  for (size_t d = rank; d-- > 0;) {
    if (zp_shape[d] != shape[d] && zp_shape[d] != 1)
      ctx.fail("zero point of shape {} does not broadcast to the operand's shape {}",
               shape_str(zp_shape), shape_str(shape));
    zstride[d] = zp_shape[d] == 1 ? 0 : s;
    s *= zp_shape[d];
  }
  std::vector<int32_t> r(x.size());
  std::vector<int64_t> idx(rank, 0);
  int64_t zoff = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    r[i] = x[i] - zp[static_cast<size_t>(zoff)];
    for (size_t d = rank; d-- > 0;) {  // odometer increment, keeping zoff in sync
      zoff += zstride[d];
      if (++idx[d] < shape[d]) break;
      zoff -= zstride[d] * idx[d];
      idx[d] = 0;
    }
  }
  return r;
}

MatMulDims matmul_dims(const OpContext& ctx, const Shape& a, const Shape& b) {
  if (a.empty() || b.empty()) ctx.fail("matmul operands must have rank >= 1");
  MatMulDims d;
  d.a = a.size() == 1 ? Shape{1, a[0]} : a;
  d.b = b.size() == 1 ? Shape{b[0], 1} : b;
  d.M = d.a[d.a.size() - 2];
  d.K = d.a.back();
  d.N = d.b.back();
  if (d.b[d.b.size() - 2] != d.K)
    ctx.fail("inner dimensions differ: A {} and B {}", shape_str(a), shape_str(b));
  Shape ab(d.a.begin(), d.a.end() - 2), bb(d.b.begin(), d.b.end() - 2);
  try {
    d.batch = broadcast_shapes(ab, bb);
  } catch (const Error&) {
    ctx.fail("batch dimensions of A {} and B {} do not broadcast", shape_str(a), shape_str(b));
  }
  d.out = d.batch;
  if (a.size() > 1) d.out.push_back(d.M);
  if (b.size() > 1) d.out.push_back(d.N);
  return d;
}

bool infer_matmul_dims(const InferContext& ctx, const TypeInfo& a, const TypeInfo& b,
                       std::vector<Dim>& out) {
  if (!a.has_shape || !b.has_shape) return false;
  if (a.dims.empty() || b.dims.empty()) ctx.fail("matmul operands must have rank >= 1");
  std::vector<Dim> ad = a.dims, bd = b.dims;
  if (ad.size() == 1) ad.insert(ad.begin(), Dim{1, {}});
  if (bd.size() == 1) bd.push_back(Dim{1, {}});
  const Dim& k1 = ad.back();
  const Dim& k2 = bd[bd.size() - 2];
  if (k1.known() && k2.known() && k1.value != k2.value)
    ctx.fail("inner dimensions differ: {} and {}", k1.value, k2.value);
  TypeInfo ab{a.dtype, true, std::vector<Dim>(ad.begin(), ad.end() - 2)};
  TypeInfo bb{b.dtype, true, std::vector<Dim>(bd.begin(), bd.end() - 2)};
  out = broadcast_dims(ctx, {&ab, &bb});
  if (a.dims.size() > 1) out.push_back(ad[ad.size() - 2]);
  if (b.dims.size() > 1) out.push_back(bd.back());
  return true;
}

std::vector<int32_t> matmul_int32(const MatMulDims& d, const std::vector<int32_t>& a,
                                  const std::vector<int32_t>& b) {
  const int64_t batches = shape_numel(d.batch);
  const size_t rank = d.batch.size();
  // Batch strides (in matrices) of A and B, zero along broadcast dims.
  auto strides_of = [&](const Shape& full) {
    Shape bdims(full.begin(), full.end() - 2);
    std::vector<int64_t> st(rank, 0);
    int64_t s = 1;
    for (size_t i = bdims.size(); i-- > 0;) {
      size_t o = rank - bdims.size() + i;
      st[o] = bdims[i] == 1 ? 0 : s;
      s *= bdims[i];
    }
    return st;
  };
  std::vector<int64_t> sa = strides_of(d.a), sb = strides_of(d.b);
  const int64_t M = d.M, K = d.K, N = d.N;
  std::vector<int32_t> out(static_cast<size_t>(batches * M * N));
  std::vector<int64_t> acc(static_cast<size_t>(N));
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t ia = 0, ib = 0, rem = bi;
    for (size_t i = rank; i-- > 0;) {
      int64_t idx = rem % d.batch[i];
      rem /= d.batch[i];
      ia += idx * sa[i];
      ib += idx * sb[i];
    }
    const int32_t* pa = a.data() + ia * M * K;
    const int32_t* pb = b.data() + ib * K * N;
    int32_t* po = out.data() + bi * M * N;
    for (int64_t m = 0; m < M; ++m) {
      std::fill(acc.begin(), acc.end(), 0);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t av = pa[m * K + k];
        const int32_t* brow = pb + k * N;
        for (int64_t n = 0; n < N; ++n) acc[static_cast<size_t>(n)] += av * brow[n];
      }
      for (int64_t n = 0; n < N; ++n)
        po[m * N + n] = static_cast<int32_t>(static_cast<uint32_t>(acc[static_cast<size_t>(n)]));
    }
  }
  return out;
}

// Bound on pads, strides, dilations and kernel sizes so that size arithmetic cannot overflow.
constexpr int64_t kMaxConvAttr = int64_t{1} << 31;

template <typename Ctx>
ConvGeometry conv_geometry(const Ctx& ctx, const std::vector<int64_t>& x,
                           const std::vector<int64_t>& w) {
  if (x.size() < 3 || x.size() > 5)
    ctx.fail("input must have rank 3 to 5 (N, C, 1 to 3 spatial dims), got rank {}", x.size());
  if (w.size() != x.size())
    ctx.fail("weight rank {} differs from input rank {}", w.size(), x.size());
  const size_t S = x.size() - 2;
  ConvGeometry g;
  g.N = x[0];
  g.C = x[1];
  g.M = w[0];
  g.group = ctx.node.attr_int("group", 1);
  if (g.group < 1) ctx.fail("group must be >= 1, got {}", g.group);
  if (g.C >= 0 && w[1] >= 0 && (g.C % g.group != 0 || g.C / g.group != w[1]))
    ctx.fail("input has {} channels but weight expects {} x group {}", g.C, w[1], g.group);
  if (g.M >= 0 && g.M % g.group != 0)
    ctx.fail("{} output channels are not divisible by group {}", g.M, g.group);
  g.in.assign(x.begin() + 2, x.end());
  g.kernel.assign(w.begin() + 2, w.end());
  std::vector<int64_t> ks = ctx.node.attr_ints("kernel_shape");
  if (!ks.empty()) {
    if (ks.size() != S) ctx.fail("kernel_shape has {} values for {} spatial dims", ks.size(), S);
    for (size_t i = 0; i < S; ++i) {
      if (ks[i] < 1 || ks[i] > kMaxConvAttr)
        ctx.fail("kernel_shape value {} is out of range", ks[i]);
      if (g.kernel[i] >= 0 && ks[i] != g.kernel[i])
        ctx.fail("kernel_shape {} does not match the weight's spatial dims", fmt::join(ks, ","));
      g.kernel[i] = ks[i];
    }
  }
  auto list = [&](const char* name, size_t n, int64_t def, int64_t min) {
    std::vector<int64_t> v = ctx.node.attr_ints(name);
    if (v.empty()) v.assign(n, def);
    if (v.size() != n) ctx.fail("{} has {} values, expected {}", name, v.size(), n);
    for (int64_t e : v)
      if (e < min || e > kMaxConvAttr)
        ctx.fail("{} value {} must be in [{}, {}]", name, e, min, kMaxConvAttr);
    return v;
  };
  g.strides = list("strides", S, 1, 1);
  g.dilations = list("dilations", S, 1, 1);
  std::vector<int64_t> pads = list("pads", 2 * S, 0, 0);
  g.pad_begin.assign(pads.begin(), pads.begin() + static_cast<int64_t>(S));
  g.pad_end.assign(pads.begin() + static_cast<int64_t>(S), pads.end());
  const std::string auto_pad = ctx.node.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER")
    ctx.fail("unknown auto_pad '{}'", auto_pad);
  g.out.assign(S, -1);
  for (size_t i = 0; i < S; ++i) {
    if (g.kernel[i] == 0) ctx.fail("kernel dimension {} is 0", i);
    const int64_t in = g.in[i], k = g.kernel[i];
    if (in < 0 || k < 0) continue;
    // Dims come from the file and may be near 2^63: every step is overflow-checked.
    auto checked = [&](bool overflowed) {
      if (overflowed) ctx.fail("spatial dim {} sizes overflow (input {}, kernel {})", i, in, k);
    };
    int64_t span, tmp;
    checked(__builtin_mul_overflow(k - 1, g.dilations[i], &span) ||
            __builtin_add_overflow(span, 1, &span));
    checked(__builtin_add_overflow(in, g.pad_begin[i], &tmp) ||
            __builtin_add_overflow(tmp, g.pad_end[i], &tmp) ||
            __builtin_add_overflow(in, g.strides[i], &tmp));
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in + g.strides[i] - 1) / g.strides[i];
      int64_t total;
      checked(__builtin_mul_overflow(out - 1, g.strides[i], &total) ||
              __builtin_add_overflow(total, span - in, &total));
      total = std::max<int64_t>(0, total);
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
    } else if (auto_pad == "VALID") {
      g.pad_begin[i] = g.pad_end[i] = 0;
    }
    const int64_t padded = in + g.pad_begin[i] + g.pad_end[i];
    if (padded < span)
      ctx.fail("kernel extent {} exceeds the padded input size {} along spatial dim {}", span,
               padded, i);
    g.out[i] = (padded - span) / g.strides[i] + 1;
  }
  return g;
}

template ConvGeometry conv_geometry(const OpContext&, const std::vector<int64_t>&,
                                    const std::vector<int64_t>&);
template ConvGeometry conv_geometry(const InferContext&, const std::vector<int64_t>&,
                                    const std::vector<int64_t>&);

std::vector<int32_t> conv_int32(const ConvGeometry& g, const std::vector<int32_t>& x,
                                const std::vector<int32_t>& w) {
  // Pad the spatial dims to three (D, H, W) with size-1 leading dims: one loop nest for all.
  const size_t S = g.in.size();
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1}, st[3] = {1, 1, 1},
          dl[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
  for (size_t i = 0; i < S; ++i) {
    size_t o = 3 - S + i;
    in[o] = g.in[i], k[o] = g.kernel[i], out[o] = g.out[i];
    st[o] = g.strides[i], dl[o] = g.dilations[i], pb[o] = g.pad_begin[i];
  }
  const int64_t in_size = in[0] * in[1] * in[2], k_size = k[0] * k[1] * k[2];
  const int64_t out_size = out[0] * out[1] * out[2];
  const int64_t cg = g.C / g.group, mg = g.M / g.group;
  std::vector<int32_t> y(static_cast<size_t>(g.N * g.M * out_size));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t m = 0; m < g.M; ++m) {
      const int64_t grp = m / mg;
      const int32_t* wm = w.data() + m * cg * k_size;
      int32_t* ym = y.data() + (n * g.M + m) * out_size;
      for (int64_t od = 0; od < out[0]; ++od)
        for (int64_t oh = 0; oh < out[1]; ++oh)
          for (int64_t ow = 0; ow < out[2]; ++ow) {
            int64_t acc = 0;
            for (int64_t c = 0; c < cg; ++c) {
              const int32_t* xc = x.data() + (n * g.C + grp * cg + c) * in_size;
              const int32_t* wc = wm + c * k_size;
              for (int64_t kd = 0; kd < k[0]; ++kd) {
                const int64_t id = od * st[0] - pb[0] + kd * dl[0];
                if (id < 0 || id >= in[0]) continue;
                for (int64_t kh = 0; kh < k[1]; ++kh) {
                  const int64_t ih = oh * st[1] - pb[1] + kh * dl[1];
                  if (ih < 0 || ih >= in[1]) continue;
                  for (int64_t kw = 0; kw < k[2]; ++kw) {
                    const int64_t iw = ow * st[2] - pb[2] + kw * dl[2];
                    if (iw < 0 || iw >= in[2]) continue;
                    acc += static_cast<int64_t>(xc[(id * in[1] + ih) * in[2] + iw]) *
                           wc[(kd * k[1] + kh) * k[2] + kw];
                  }
                }
              }
            }
            ym[(od * out[1] + oh) * out[2] + ow] = static_cast<int32_t>(static_cast<uint32_t>(acc));
          }
    }
  return y;
}

void infer_conv_output(InferContext& ctx, int x_index, int w_index, DType out_dtype) {
  const TypeInfo& xt = ctx.type(x_index);
  const TypeInfo& wt = ctx.type(w_index);
  TypeInfo t;
  t.dtype = out_dtype;
  if (xt.has_shape && wt.has_shape) {
    std::vector<int64_t> xd, wd;
    for (const Dim& d : xt.dims) xd.push_back(d.value);
    for (const Dim& d : wt.dims) wd.push_back(d.value);
    ConvGeometry g = conv_geometry(ctx, xd, wd);
    t.has_shape = true;
    t.dims.push_back(xt.dims[0]);
    t.dims.push_back(wt.dims[0]);
    for (int64_t o : g.out) t.dims.push_back(o >= 0 ? Dim{o, {}} : Dim{});
  }
  ctx.outputs[0] = t;
}

std::optional<Tensor> centered_s8(const Tensor& w, const Tensor* zero_point, int axis) {
  if ((w.dtype() != DType::i8 && w.dtype() != DType::u8) || axis < 0 || axis >= w.rank())
    return std::nullopt;
  const Tensor* zp = zero_point;
  const int64_t channels = w.dim(axis);
  if (zp != nullptr && (zp->dtype() != w.dtype() ||
                        (zp->numel() != 1 && !(zp->rank() == 1 && zp->numel() == channels))))
    return std::nullopt;
  bool zero = true;
  for (int64_t k = 0; zp != nullptr && k < zp->numel(); ++k) zero = zero && zp->at_i64(k) == 0;
  if (w.dtype() == DType::i8 && zero) return w;
  int64_t inner = 1;
  for (int d = axis + 1; d < w.rank(); ++d) inner *= w.dim(d);
  Tensor out(DType::i8, w.shape());
  int8_t* o = out.data<int8_t>();
  for (int64_t k = 0; k < w.numel(); ++k) {
    const int64_t c = zp == nullptr || zp->numel() == 1 ? 0 : (k / inner) % channels;
    const int64_t v = w.at_i64(k) - (zp == nullptr ? 0 : zp->at_i64(c));
    if (v < -128 || v > 127) return std::nullopt;
    o[k] = static_cast<int8_t>(v);
  }
  return out;
}

}  // namespace nnaccel::quant
