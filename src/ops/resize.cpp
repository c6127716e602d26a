// Ops of the 'resize' family (see ops.def): Resize in its opset-13 form (inputs X, roi, scales,
// sizes). The importer rewrites Upsample and Resize-10/11 into this form.
//
// Interpolation is separable: along each axis, every output coordinate maps to a few input
// taps (1 for nearest, 2 for linear, 4 for cubic) with weights, and an output element is the
// sum over the product of the per-axis taps. The taps of each axis are computed once.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "core/cast.hpp"
#include "core/dtype_dispatch.hpp"
#include "ops/op_registry.hpp"
#include "ops/resize_taps.hpp"

namespace nnaccel {

namespace {

enum class Mode { nearest, linear, cubic };
enum class CoordMode {
  half_pixel,
  pytorch_half_pixel,
  align_corners,
  asymmetric,
  tf_half_pixel_for_nn,
  tf_crop_and_resize
};
enum class NearestMode { round_prefer_floor, round_prefer_ceil, floor, ceil };

struct ResizeAttrs {
  Mode mode = Mode::nearest;
  CoordMode coord = CoordMode::half_pixel;
  NearestMode nearest = NearestMode::round_prefer_floor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0.0;
};

// The value of string attribute `name` among `choices`; anything else is an error.
template <typename Ctx, typename E>
E parse_choice(const Ctx& ctx, const Node& node, const char* name, const char* def,
               std::initializer_list<std::pair<const char*, E>> choices) {
  const std::string v = node.attr_string(name, def);
  std::string names;
  for (const auto& [text, value] : choices) {
    if (v == text) return value;
    names += names.empty() ? text : std::string(", ") + text;
  }
  ctx.fail("unknown {} '{}' (expected one of {})", name, v, names);
}

template <typename Ctx>
ResizeAttrs read_attrs(const Ctx& ctx, const Node& node) {
  ResizeAttrs a;
  a.mode = parse_choice<Ctx, Mode>(
      ctx, node, "mode", "nearest",
      {{"nearest", Mode::nearest}, {"linear", Mode::linear}, {"cubic", Mode::cubic}});
  a.coord = parse_choice<Ctx, CoordMode>(ctx, node, "coordinate_transformation_mode", "half_pixel",
                                         {{"half_pixel", CoordMode::half_pixel},
                                          {"pytorch_half_pixel", CoordMode::pytorch_half_pixel},
                                          {"align_corners", CoordMode::align_corners},
                                          {"asymmetric", CoordMode::asymmetric},
                                          {"tf_half_pixel_for_nn", CoordMode::tf_half_pixel_for_nn},
                                          {"tf_crop_and_resize", CoordMode::tf_crop_and_resize}});
  a.nearest =
      parse_choice<Ctx, NearestMode>(ctx, node, "nearest_mode", "round_prefer_floor",
                                     {{"round_prefer_floor", NearestMode::round_prefer_floor},
                                      {"round_prefer_ceil", NearestMode::round_prefer_ceil},
                                      {"floor", NearestMode::floor},
                                      {"ceil", NearestMode::ceil}});
  a.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
  a.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
  a.extrapolation = node.attr_float("extrapolation_value", 0.0f);
  return a;
}

// An input that is present and not empty: Resize-11 passes empty tensors for unused inputs.
bool given(const Tensor* t) { return t != nullptr && t->numel() > 0; }

// Output shape and per-axis scales from either `scales` or `sizes` (exactly one of them).
struct Geometry {
  Shape out;
  std::vector<double> scales;
  // length_resized of the spec's coordinate formulas: scale * length_original when scales are
  // given (not rounded to the output length, as ONNX's reference and expected data do), the
  // exact size when sizes are.
  std::vector<double> resized_len;
};

template <typename Ctx>
Geometry geometry(const Ctx& ctx, const Shape& in, const Tensor* scales, const Tensor* sizes) {
  const size_t rank = in.size();
  if (given(scales) == given(sizes))
    ctx.fail("exactly one of 'scales' and 'sizes' must be given (got {})",
             given(scales) ? "both" : "neither");
  Geometry g;
  if (given(scales)) {
    if (scales->dtype() != DType::f32)
      ctx.fail("scales must be float32, got {}", dtype_name(scales->dtype()));
    if (static_cast<size_t>(scales->numel()) != rank)
      ctx.fail("scales has {} elements but the input has rank {}", scales->numel(), rank);
    for (size_t i = 0; i < rank; ++i) {
      const double s = scales->data<float>()[i];
      if (!(s > 0) || !std::isfinite(s)) ctx.fail("scale {} of axis {} is not positive", s, i);
      const double len = std::floor(static_cast<double>(in[i]) * s);
      if (len > 9.0e18) ctx.fail("scale {} of axis {} gives an output too large", s, i);
      g.out.push_back(static_cast<int64_t>(len));
      g.scales.push_back(s);
      g.resized_len.push_back(static_cast<double>(in[i]) * s);
    }
  } else {
    if (sizes->dtype() != DType::i64)
      ctx.fail("sizes must be int64, got {}", dtype_name(sizes->dtype()));
    if (static_cast<size_t>(sizes->numel()) != rank)
      ctx.fail("sizes has {} elements but the input has rank {}", sizes->numel(), rank);
    for (size_t i = 0; i < rank; ++i) {
      const int64_t n = sizes->data<int64_t>()[i];
      if (n < 0) ctx.fail("size {} of axis {} is negative", n, i);
      g.out.push_back(n);
      // scale = length_resized / length_original; 1 for an empty input axis (unused then).
      g.scales.push_back(in[i] > 0 ? static_cast<double>(n) / static_cast<double>(in[i]) : 1.0);
      g.resized_len.push_back(static_cast<double>(n));
    }
  }
  return g;
}

// Input taps of one output coordinate along one axis. `outside` marks a tf_crop_and_resize
// coordinate beyond the input: the whole output element is then extrapolation_value.
struct Taps {
  int64_t index[4];
  double weight[4];
  int count = 0;
  bool outside = false;
};

double cubic_weight(double d, double a) {  // Keys' kernel at distance |d|
  d = std::fabs(d);
  if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0;
}

// Maps output coordinate x along an axis of input length `in_len` to the input (the spec's
// coordinate_transformation_mode formulas). For pytorch_half_pixel with length_resized 1 the
// spec says 0 (and ONNX Runtime agrees); ONNX 1.12's Python reference uses -0.5, which gives the
// same linear result but a different cubic one. We follow the spec.
double original_coordinate(const ResizeAttrs& a, int64_t x, int64_t in_len, double resized_len,
                           double scale, double roi_start, double roi_end) {
  const double xr = static_cast<double>(x);
  const double in_l = static_cast<double>(in_len);
  switch (a.coord) {
    case CoordMode::half_pixel:
      return (xr + 0.5) / scale - 0.5;
    case CoordMode::pytorch_half_pixel:
      return resized_len > 1 ? (xr + 0.5) / scale - 0.5 : 0.0;
    case CoordMode::align_corners:
      return resized_len > 1 ? xr * (in_l - 1) / (resized_len - 1) : 0.0;
    case CoordMode::asymmetric:
      return xr / scale;
    case CoordMode::tf_half_pixel_for_nn:
      return (xr + 0.5) / scale;
    case CoordMode::tf_crop_and_resize:
      if (resized_len > 1)
        return roi_start * (in_l - 1) + xr * (roi_end - roi_start) * (in_l - 1) / (resized_len - 1);
      return 0.5 * (roi_start + roi_end) * (in_l - 1);
  }
  return 0;
}

int64_t clamp_index(int64_t i, int64_t len) { return i < 0 ? 0 : (i >= len ? len - 1 : i); }

Taps make_taps(const ResizeAttrs& a, double xo, int64_t in_len) {
  Taps t;
  if (a.coord == CoordMode::tf_crop_and_resize &&
      (xo < 0 || xo > static_cast<double>(in_len - 1))) {
    t.outside = true;
    return t;
  }
  const double fl = std::floor(xo);
  const int64_t i0 = static_cast<int64_t>(fl);
  const double frac = xo - fl;
  if (a.mode == Mode::nearest) {
    int64_t i = i0;
    if (frac > 0) {
      bool up = false;
      switch (a.nearest) {
        case NearestMode::round_prefer_floor:
          up = frac > 0.5;
          break;
        case NearestMode::round_prefer_ceil:
          up = frac >= 0.5;
          break;
        case NearestMode::floor:
          up = false;
          break;
        case NearestMode::ceil:
          up = true;
          break;
      }
      i = up ? i0 + 1 : i0;
    }
    t.index[0] = clamp_index(i, in_len);
    t.weight[0] = 1;
    t.count = 1;
    return t;
  }
  // Linear: taps i0, i0+1; cubic: i0-1 .. i0+2. Out-of-range taps take the edge value, or
  // with exclude_outside get weight 0 and the rest is renormalized.
  int64_t first;
  int n;
  double w[4];
  if (a.mode == Mode::linear) {
    first = i0;
    n = 2;
    w[0] = 1 - frac;
    w[1] = frac;
  } else {
    first = i0 - 1;
    n = 4;
    for (int k = 0; k < 4; ++k) w[k] = cubic_weight(frac + 1 - k, a.cubic_a);
  }
  double total = 0;
  for (int k = 0; k < n; ++k) {
    const int64_t i = first + k;
    if (a.exclude_outside && (i < 0 || i >= in_len)) w[k] = 0;
    total += w[k];
  }
  if (a.exclude_outside && total != 0)
    for (int k = 0; k < n; ++k) w[k] /= total;
  for (int k = 0; k < n; ++k) {
    if (w[k] == 0) continue;  // exact zeros only: they cannot change the sum
    t.index[t.count] = clamp_index(first + k, in_len);
    t.weight[t.count] = w[k];
    ++t.count;
  }
  return t;
}

// The taps of every output coordinate along one axis.
struct AxisTaps {
  std::vector<Taps> taps;  // one per output coordinate
  int64_t in_stride = 1;
};

template <typename T>
T from_double(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    // Integer images: round to nearest and saturate (interpolation may overshoot with cubic).
    if (std::isnan(v)) return T{0};
    v = std::round(v);
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

// Interpolating kernel over any number of axes: for each output element, the weighted sum over
// all combinations of its per-axis taps.
template <typename T, typename Src>
void interpolate(const Src* src, T* dst, const Shape& out, const std::vector<AxisTaps>& axes,
                 double extrapolation) {
  const size_t rank = out.size();
  std::vector<int64_t> idx(rank, 0);
  std::vector<int> tap(rank, 0);
  std::vector<const Taps*> cur(rank);
  const int64_t total = shape_numel(out);
  for (int64_t o = 0; o < total; ++o) {
    bool outside = false;
    for (size_t d = 0; d < rank; ++d) {
      cur[d] = &axes[d].taps[static_cast<size_t>(idx[d])];
      outside = outside || cur[d]->outside;
    }
    if (outside) {
      dst[o] = from_double<T>(extrapolation);
    } else {
      double sum = 0;
      std::fill(tap.begin(), tap.end(), 0);
      for (;;) {
        double w = 1;
        int64_t off = 0;
        for (size_t d = 0; d < rank; ++d) {
          w *= cur[d]->weight[tap[d]];
          off += cur[d]->index[tap[d]] * axes[d].in_stride;
        }
        sum += w * static_cast<double>(src[off]);
        size_t d = rank;  // next combination, last axis fastest; d == 0 when all are done
        for (; d > 0; --d) {
          if (++tap[d - 1] < cur[d - 1]->count) break;
          tap[d - 1] = 0;
        }
        if (d == 0) break;
      }
      dst[o] = from_double<T>(sum);
    }
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
}

// Nearest: a gather, so it works on any element type by size (no arithmetic).
template <typename E>
void gather_nearest(const E* src, E* dst, const Shape& out, const std::vector<AxisTaps>& axes,
                    E extrapolation) {
  const size_t rank = out.size();
  std::vector<int64_t> idx(rank, 0);
  const int64_t total = shape_numel(out);
  for (int64_t o = 0; o < total; ++o) {
    int64_t off = 0;
    bool outside = false;
    for (size_t d = 0; d < rank; ++d) {
      const Taps& t = axes[d].taps[static_cast<size_t>(idx[d])];
      outside = outside || t.outside;
      if (!t.outside) off += t.index[0] * axes[d].in_stride;
    }
    dst[o] = outside ? extrapolation : src[off];
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
}

// extrapolation_value in the element type, as raw bits of the element's size.
template <typename E>
E extrapolation_bits(DType t, double v) {
  Tensor one = cast_tensor(Tensor::scalar_f32(static_cast<float>(v)), t);
  return *one.data<E>();
}

void run_resize(OpContext& ctx) {
  const Tensor& x_in = ctx.input(0);
  const ResizeAttrs a = read_attrs(ctx, ctx.node);
  const Tensor* roi = ctx.has_input(1) ? &ctx.input(1) : nullptr;
  const Tensor* scales = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const Tensor* sizes = ctx.has_input(3) ? &ctx.input(3) : nullptr;
  const Shape& in = x_in.shape();
  const size_t rank = in.size();
  Geometry g = geometry(ctx, in, scales, sizes);

  std::vector<double> roi_v;
  if (a.coord == CoordMode::tf_crop_and_resize) {
    if (!given(roi)) ctx.fail("tf_crop_and_resize needs the 'roi' input");
    if (!dtype_is_float(roi->dtype()))
      ctx.fail("roi must be a float tensor, got {}", dtype_name(roi->dtype()));
    if (static_cast<size_t>(roi->numel()) != 2 * rank)
      ctx.fail("roi has {} elements, expected 2 * rank = {}", roi->numel(), 2 * rank);
    for (int64_t i = 0; i < roi->numel(); ++i) {
      roi_v.push_back(roi->at_f64(i));
      if (!std::isfinite(roi_v.back())) ctx.fail("roi[{}] = {} is not finite", i, roi_v.back());
    }
  }

  Tensor y(x_in.dtype(), g.out);
  if (y.numel() == 0) {
    ctx.outputs[0] = y;
    return;
  }
  for (size_t d = 0; d < rank; ++d)
    if (in[d] == 0) ctx.fail("cannot resize axis {} of length 0 to length {}", d, g.out[d]);

  std::vector<AxisTaps> axes(rank);
  int64_t stride = 1;
  for (size_t d = rank; d-- > 0;) {
    axes[d].in_stride = stride;
    stride *= in[d];
    const double rs = roi_v.empty() ? 0.0 : roi_v[d];
    const double re = roi_v.empty() ? 1.0 : roi_v[d + rank];
    axes[d].taps.reserve(static_cast<size_t>(g.out[d]));
    for (int64_t x = 0; x < g.out[d]; ++x) {
      const double xo = original_coordinate(a, x, in[d], g.resized_len[d], g.scales[d], rs, re);
      axes[d].taps.push_back(make_taps(a, xo, in[d]));
    }
  }

  if (a.mode == Mode::nearest) {
    visit_by_size(x_in.dtype(), [&](auto tag) {
      using E = typename decltype(tag)::type;
      const E ext = a.coord == CoordMode::tf_crop_and_resize
                        ? extrapolation_bits<E>(x_in.dtype(), a.extrapolation)
                        : E{};
      gather_nearest<E>(x_in.data<E>(), y.data<E>(), g.out, axes, ext);
    });
  } else if (x_in.dtype() == DType::f16 || x_in.dtype() == DType::bf16) {
    Tensor xf = cast_tensor(x_in, DType::f32);
    Tensor yf(DType::f32, g.out);
    interpolate<float>(xf.data<float>(), yf.data<float>(), g.out, axes, a.extrapolation);
    y = cast_tensor(yf, x_in.dtype());
  } else {
    if (x_in.dtype() == DType::boolean)
      ctx.fail("{} mode does not support bool input", a.mode == Mode::linear ? "linear" : "cubic");
    visit_numeric(x_in.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (!std::is_same_v<T, bool>)
        interpolate<T>(x_in.data<T>(), y.data<T>(), g.out, axes, a.extrapolation);
    });
  }
  ctx.outputs[0] = y;
}

void infer_resize(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  (void)read_attrs(ctx, ctx.node);  // rejects unknown modes at load time
  TypeInfo out;
  out.dtype = in.dtype;
  if (!in.has_shape) {
    ctx.outputs[0] = out;
    return;
  }
  const size_t rank = in.dims.size();
  const Tensor* scales = ctx.value(2);
  const Tensor* sizes = ctx.value(3);
  out.has_shape = true;
  out.dims.assign(rank, Dim{});
  // An input that is absent or known to be empty counts as "not given".
  const bool scales_absent = !ctx.has_input(2) || (scales != nullptr && scales->numel() == 0);
  const bool sizes_absent = !ctx.has_input(3) || (sizes != nullptr && sizes->numel() == 0);
  if (given(sizes) && (scales_absent || given(scales))) {
    Shape fake(rank, 1);  // sizes alone fix the output; the input dims do not matter
    Geometry g = geometry(ctx, fake, scales_absent ? nullptr : scales, sizes);
    for (size_t i = 0; i < rank; ++i) out.dims[i] = Dim{g.out[i], {}};
  } else if (given(scales) && sizes_absent) {
    Shape dims(rank, 1);
    for (size_t i = 0; i < rank; ++i) dims[i] = in.dims[i].known() ? in.dims[i].value : 1;
    Geometry g = geometry(ctx, dims, scales, nullptr);
    for (size_t i = 0; i < rank; ++i)
      if (in.dims[i].known()) out.dims[i] = Dim{g.out[i], {}};
  }
  ctx.outputs[0] = out;
}

}  // namespace

namespace {
// Errors of the fast path's set-up, named after the node like OpContext's.
struct NodeErrors {
  const Node& node;
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error(node.describe() + ": " + fmt::format(f, std::forward<Args>(args)...));
  }
};
}  // namespace

bool resize_taps(const Node& node, const Shape& in, const Tensor* /*roi*/, const Tensor* scales,
                 const Tensor* sizes, ResizeTaps& result) {
  NodeErrors ctx{node};
  const ResizeAttrs a = read_attrs(ctx, node);
  if (a.coord == CoordMode::tf_crop_and_resize) return false;
  Geometry g = geometry(ctx, in, scales, sizes);
  result.out = g.out;
  result.nearest = a.mode == Mode::nearest;
  result.axes.assign(in.size(), ResizeAxisTaps{});
  for (size_t d = 0; d < in.size(); ++d) {
    if (in[d] == 0) return false;
    ResizeAxisTaps& axis = result.axes[d];
    axis.taps = a.mode == Mode::nearest ? 1 : (a.mode == Mode::linear ? 2 : 4);
    for (int64_t x = 0; x < g.out[d]; ++x) {
      const double xo = original_coordinate(a, x, in[d], g.resized_len[d], g.scales[d], 0.0, 1.0);
      const Taps t = make_taps(a, xo, in[d]);
      for (int k = 0; k < axis.taps; ++k) {
        axis.index.push_back(k < t.count ? t.index[k] : t.index[0]);
        axis.weight.push_back(k < t.count ? static_cast<float>(t.weight[k]) : 0.0f);
      }
    }
  }
  return true;
}

void register_resize_ops(OpRegistry& r) { r.add({"Resize", "", infer_resize, run_resize}); }

}  // namespace nnaccel
