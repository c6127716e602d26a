// Ops of the 'vision' family (see ops.def): NonMaxSuppression, RoiAlign and GridSample (4-D).
// Where the spec leaves details open (RoiAlign's max mode, GridSample's padding of coordinates)
// we follow ONNX's reference implementation, which is what the conformance data encodes.
#include <algorithm>
#include <cmath>

#include "core/cast.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

namespace {

// Float tensors (f16/bf16 through f32) as the working type; the result is cast back.
DType working_type(const OpContext& ctx, const Tensor& t, const char* name) {
  if (!dtype_is_float(t.dtype()) || dtype_bits(t.dtype()) < 16)
    ctx.fail("{} must be a float tensor, got {}", name, dtype_name(t.dtype()));
  return t.dtype() == DType::f64 ? DType::f64 : DType::f32;
}

template <typename F>
void with_float_type(DType work, F&& f) {
  if (work == DType::f64)
    f(0.0);
  else
    f(0.0f);
}

// --- NonMaxSuppression --------------------------------------------------------------------------

void infer_nms(InferContext& ctx) {
  TypeInfo t;
  t.dtype = DType::i64;
  t.has_shape = true;
  t.dims = {Dim{}, Dim{3, {}}};
  ctx.outputs[0] = t;
}

// Box edges as (min, max) along each axis, whatever the corner order or encoding.
struct Box {
  float y0, x0, y1, x1;
};

Box decode_box(const float* b, bool center_point) {
  if (center_point) {  // [x_center, y_center, width, height]
    const float hw = b[2] / 2, hh = b[3] / 2;
    return {b[1] - hh, b[0] - hw, b[1] + hh, b[0] + hw};
  }
  // [y1, x1, y2, x2], any diagonal pair of corners
  return {std::min(b[0], b[2]), std::min(b[1], b[3]), std::max(b[0], b[2]), std::max(b[1], b[3])};
}

// True when the boxes overlap with IoU above the threshold; degenerate boxes never suppress.
bool suppresses(const Box& a, const Box& b, float iou_threshold) {
  const float ix0 = std::max(a.x0, b.x0), ix1 = std::min(a.x1, b.x1);
  const float iy0 = std::max(a.y0, b.y0), iy1 = std::min(a.y1, b.y1);
  if (ix1 <= ix0 || iy1 <= iy0) return false;
  const float inter = (ix1 - ix0) * (iy1 - iy0);
  const float area_a = (a.x1 - a.x0) * (a.y1 - a.y0), area_b = (b.x1 - b.x0) * (b.y1 - b.y0);
  const float uni = area_a + area_b - inter;
  if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > iou_threshold;
}

float optional_scalar_f32(const OpContext& ctx, int i, float def, const char* name) {
  if (!ctx.has_input(i)) return def;
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1) ctx.fail("{} must be a scalar, got shape {}", name, shape_str(t.shape()));
  return static_cast<float>(t.at_f64(0));
}

void run_nms(OpContext& ctx) {
  const Tensor& boxes_in = ctx.input(0);
  const Tensor& scores_in = ctx.input(1);
  working_type(ctx, boxes_in, "boxes");
  working_type(ctx, scores_in, "scores");
  if (boxes_in.rank() != 3 || boxes_in.dim(2) != 4)
    ctx.fail("boxes must have shape [batch, boxes, 4], got {}", shape_str(boxes_in.shape()));
  if (scores_in.rank() != 3 || scores_in.dim(0) != boxes_in.dim(0) ||
      scores_in.dim(2) != boxes_in.dim(1))
    ctx.fail("scores must have shape [{}, classes, {}], got {}", boxes_in.dim(0), boxes_in.dim(1),
             shape_str(scores_in.shape()));
  int64_t max_per_class = 0;
  if (ctx.has_input(2)) {
    const Tensor& m = ctx.input(2);
    if (m.numel() != 1)
      ctx.fail("max_output_boxes_per_class must be a scalar, got shape {}", shape_str(m.shape()));
    max_per_class = std::max<int64_t>(0, m.at_i64(0));
  }
  const float iou_threshold = optional_scalar_f32(ctx, 3, 0.0f, "iou_threshold");
  if (!(iou_threshold >= 0 && iou_threshold <= 1))
    ctx.fail("iou_threshold must be in [0, 1], got {}", iou_threshold);
  const bool has_score_threshold = ctx.has_input(4);
  const float score_threshold = optional_scalar_f32(ctx, 4, 0.0f, "score_threshold");
  const int64_t center = ctx.attr_int("center_point_box", 0);
  if (center != 0 && center != 1) ctx.fail("center_point_box must be 0 or 1, got {}", center);

  Tensor boxes = cast_tensor(boxes_in, DType::f32), scores = cast_tensor(scores_in, DType::f32);
  for (int64_t i = 0; i < scores.numel(); ++i)
    if (std::isnan(scores.data<float>()[i])) ctx.fail("scores contain NaN at index {}", i);
  const int64_t batches = boxes.dim(0), num_boxes = boxes.dim(1), classes = scores.dim(1);
  std::vector<int64_t> selected;  // triples (batch, class, box)
  std::vector<Box> decoded(static_cast<size_t>(num_boxes));
  std::vector<int64_t> order;
  std::vector<int64_t> kept;
  for (int64_t b = 0; b < batches; ++b) {
    const float* bb = boxes.data<float>() + b * num_boxes * 4;
    for (int64_t i = 0; i < num_boxes; ++i)
      decoded[static_cast<size_t>(i)] = decode_box(bb + i * 4, center == 1);
    for (int64_t c = 0; c < classes; ++c) {
      const float* sc = scores.data<float>() + (b * classes + c) * num_boxes;
      order.clear();
      for (int64_t i = 0; i < num_boxes; ++i)
        if (!has_score_threshold || sc[i] > score_threshold) order.push_back(i);
      // Highest score first; equal scores keep the lower index first.
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t x, int64_t y) { return sc[x] > sc[y]; });
      kept.clear();
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= max_per_class) break;
        bool keep = true;
        for (int64_t k : kept)
          if (suppresses(decoded[static_cast<size_t>(i)], decoded[static_cast<size_t>(k)],
                         iou_threshold)) {
            keep = false;
            break;
          }
        if (keep) kept.push_back(i);
      }
      for (int64_t k : kept) selected.insert(selected.end(), {b, c, k});
    }
  }
  Tensor out(DType::i64, {static_cast<int64_t>(selected.size() / 3), 3});
  std::copy(selected.begin(), selected.end(), out.data<int64_t>());
  ctx.outputs[0] = out;
}

// --- RoiAlign -----------------------------------------------------------------------------------

void infer_roi_align(InferContext& ctx) {
  const TypeInfo& x = ctx.type(0);
  TypeInfo t;
  t.dtype = x.dtype;
  const int64_t oh = ctx.node.attr_int("output_height", 1),
                ow = ctx.node.attr_int("output_width", 1);
  if (oh < 1 || ow < 1)
    ctx.fail("output_height and output_width must be >= 1, got {} and {}", oh, ow);
  Dim rois{};
  if (ctx.type(1).has_shape && !ctx.type(1).dims.empty()) rois = ctx.type(1).dims[0];
  if (x.has_shape) {
    if (x.dims.size() != 4) ctx.fail("X must have rank 4, got rank {}", x.dims.size());
    t.has_shape = true;
    t.dims = {rois, x.dims[1], Dim{oh, {}}, Dim{ow, {}}};
  }
  ctx.outputs[0] = t;
}

template <typename T>
void roi_align(const OpContext& ctx, const T* X, int64_t C, int64_t H, int64_t W, const T* rois,
               const int64_t* batch, int64_t num_rois, int64_t OH, int64_t OW,
               int64_t sampling_ratio, T spatial_scale, bool half_pixel, bool max_mode, T* Y) {
  // One bilinear sample: four taps with weights (zero weights outside the feature map).
  struct Sample {
    int64_t pos[4];
    T w[4];
  };
  std::vector<Sample> samples;
  for (int64_t n = 0; n < num_rois; ++n) {
    const T* r = rois + n * 4;
    const T offset = half_pixel ? T(0.5) : T(0);
    const T start_w = r[0] * spatial_scale - offset, start_h = r[1] * spatial_scale - offset;
    const T end_w = r[2] * spatial_scale - offset, end_h = r[3] * spatial_scale - offset;
    T roi_w = end_w - start_w, roi_h = end_h - start_h;
    if (!half_pixel) {  // the legacy mode forces malformed ROIs to 1x1
      roi_w = std::max(roi_w, T(1));
      roi_h = std::max(roi_h, T(1));
    }
    const T bin_h = roi_h / static_cast<T>(OH), bin_w = roi_w / static_cast<T>(OW);
    // Adaptive sampling takes ceil(extent / bins) samples per bin.
    auto grid_of = [&](T extent, int64_t bins) -> int64_t {
      if (sampling_ratio > 0) return sampling_ratio;
      const T g = std::ceil(extent / static_cast<T>(bins));
      if (!(g <= T(1 << 26)))
        ctx.fail("roi {} spans {} pixels; too many samples per bin", n, extent);
      return g > 0 ? static_cast<int64_t>(g) : 0;
    };
    const int64_t gh = grid_of(roi_h, OH), gw = grid_of(roi_w, OW);
    if (gh > 0 && gw > 0 && gh > (int64_t{1} << 26) / gw / (OH * OW))
      ctx.fail("roi {} needs {}x{} samples per bin; too many", n, gh, gw);
    const T count = static_cast<T>(std::max<int64_t>(gh * gw, 1));

    // Sample positions and weights are shared by all channels.
    samples.assign(static_cast<size_t>(OH * OW * gh * gw), Sample{});
    size_t si = 0;
    for (int64_t ph = 0; ph < OH; ++ph)
      for (int64_t pw = 0; pw < OW; ++pw)
        for (int64_t iy = 0; iy < gh; ++iy) {
          const T yy = start_h + static_cast<T>(ph) * bin_h +
                       (static_cast<T>(iy) + T(0.5)) * bin_h / static_cast<T>(gh);
          for (int64_t ix = 0; ix < gw; ++ix, ++si) {
            T x = start_w + static_cast<T>(pw) * bin_w +
                  (static_cast<T>(ix) + T(0.5)) * bin_w / static_cast<T>(gw);
            T y = yy;
            Sample& s = samples[si];
            if (!(y >= T(-1) && y <= static_cast<T>(H) && x >= T(-1) && x <= static_cast<T>(W)))
              continue;  // outside the feature map (or NaN): zero weights
            y = std::max(y, T(0));
            x = std::max(x, T(0));
            int64_t y_lo = static_cast<int64_t>(y), x_lo = static_cast<int64_t>(x), y_hi, x_hi;
            if (y_lo >= H - 1) {
              y_hi = y_lo = H - 1;
              y = static_cast<T>(y_lo);
            } else {
              y_hi = y_lo + 1;
            }
            if (x_lo >= W - 1) {
              x_hi = x_lo = W - 1;
              x = static_cast<T>(x_lo);
            } else {
              x_hi = x_lo + 1;
            }
            const T ly = y - static_cast<T>(y_lo), lx = x - static_cast<T>(x_lo);
            const T hy = T(1) - ly, hx = T(1) - lx;
            s = Sample{{y_lo * W + x_lo, y_lo * W + x_hi, y_hi * W + x_lo, y_hi * W + x_hi},
                       {hy * hx, hy * lx, ly * hx, ly * lx}};
          }
        }

    const int64_t per_bin = gh * gw;
    for (int64_t c = 0; c < C; ++c) {
      const T* img = X + (batch[n] * C + c) * H * W;
      T* out = Y + (n * C + c) * OH * OW;
      for (int64_t bin = 0; bin < OH * OW; ++bin) {
        const Sample* s = samples.data() + bin * per_bin;
        T v = 0;
        if (!max_mode) {
          for (int64_t k = 0; k < per_bin; ++k)
            for (int q = 0; q < 4; ++q) v += s[k].w[q] * img[s[k].pos[q]];
          v /= count;
        } else {
          // ONNX's reference: the largest weighted tap over all samples of the bin.
          for (int64_t k = 0; k < per_bin; ++k) {
            T m = s[k].w[0] * img[s[k].pos[0]];
            for (int q = 1; q < 4; ++q) m = std::max(m, s[k].w[q] * img[s[k].pos[q]]);
            v = k == 0 ? m : std::max(v, m);
          }
        }
        out[bin] = v;
      }
    }
  }
}

void run_roi_align(OpContext& ctx) {
  const Tensor& x_in = ctx.input(0);
  const Tensor& rois_in = ctx.input(1);
  const Tensor& bi = ctx.input(2);
  const DType work = working_type(ctx, x_in, "X");
  if (x_in.rank() != 4) ctx.fail("X must have rank 4, got shape {}", shape_str(x_in.shape()));
  if (rois_in.rank() != 2 || rois_in.dim(1) != 4)
    ctx.fail("rois must have shape [num_rois, 4], got {}", shape_str(rois_in.shape()));
  working_type(ctx, rois_in, "rois");
  const int64_t num_rois = rois_in.dim(0);
  if (bi.rank() != 1 || bi.dim(0) != num_rois)
    ctx.fail("batch_indices must have shape [{}], got {}", num_rois, shape_str(bi.shape()));
  if (bi.dtype() != DType::i64 && bi.dtype() != DType::i32)
    ctx.fail("batch_indices must be int64, got {}", dtype_name(bi.dtype()));
  std::vector<int64_t> batch = bi.to_i64_vector();
  for (int64_t b : batch)
    if (b < 0 || b >= x_in.dim(0))
      ctx.fail("batch index {} is out of range [0, {})", b, x_in.dim(0));
  const std::string mode = ctx.attr_string("mode", "avg");
  if (mode != "avg" && mode != "max") ctx.fail("mode must be avg or max, got '{}'", mode);
  const std::string ctm = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
  if (ctm != "half_pixel" && ctm != "output_half_pixel")
    ctx.fail("coordinate_transformation_mode must be half_pixel or output_half_pixel, got '{}'",
             ctm);
  const int64_t OH = ctx.attr_int("output_height", 1), OW = ctx.attr_int("output_width", 1);
  if (OH < 1 || OW < 1)
    ctx.fail("output_height and output_width must be >= 1, got {} and {}", OH, OW);
  if (OH > (int64_t{1} << 26) / OW) ctx.fail("output size {}x{} is too large", OH, OW);
  const int64_t sampling_ratio = ctx.attr_int("sampling_ratio", 0);
  if (sampling_ratio < 0) ctx.fail("sampling_ratio must be >= 0, got {}", sampling_ratio);
  const float spatial_scale = ctx.attr_float("spatial_scale", 1.0f);

  Tensor X = cast_tensor(x_in, work), rois = cast_tensor(rois_in, work);
  for (int64_t i = 0; i < rois.numel(); ++i)
    if (!std::isfinite(rois.at_f64(i))) ctx.fail("rois contain a non-finite value at index {}", i);
  if (!std::isfinite(spatial_scale))
    ctx.fail("spatial_scale must be finite, got {}", spatial_scale);
  Tensor Y(work, {num_rois, X.dim(1), OH, OW});
  with_float_type(work, [&](auto zero) {
    using T = decltype(zero);
    roi_align<T>(ctx, X.data<T>(), X.dim(1), X.dim(2), X.dim(3), rois.data<T>(), batch.data(),
                 num_rois, OH, OW, sampling_ratio, static_cast<T>(spatial_scale),
                 ctm == "half_pixel", mode == "max", Y.data<T>());
  });
  ctx.outputs[0] = cast_tensor(Y, x_in.dtype());
}

// --- GridSample ---------------------------------------------------------------------------------

void infer_grid_sample(InferContext& ctx) {
  const TypeInfo& x = ctx.type(0);
  const TypeInfo& g = ctx.type(1);
  TypeInfo t;
  t.dtype = x.dtype;
  if (x.has_shape && x.dims.size() != 4) ctx.fail("X must have rank 4, got rank {}", x.dims.size());
  if (g.has_shape && (g.dims.size() != 4 || (g.dims[3].known() && g.dims[3].value != 2)))
    ctx.fail("grid must have shape [N, H_out, W_out, 2]");
  if (x.has_shape && g.has_shape) {
    t.has_shape = true;
    t.dims = {x.dims[0].known() ? x.dims[0] : g.dims[0], x.dims[1], g.dims[1], g.dims[2]};
  }
  ctx.outputs[0] = t;
}

enum class Padding { zeros, border, reflection };

// Reflects x into [lo, hi] by folding at the borders as often as needed (float arithmetic
// only, so huge coordinates cannot overflow an integer).
template <typename T>
T reflect(T x, T lo, T hi) {
  const T range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo || x > hi) {
    const T dx = x < lo ? lo - x : x - hi;
    const T folds = std::floor(dx / range);
    const T r = std::clamp(dx - folds * range, T(0), range);
    const bool even = std::fmod(folds, T(2)) == 0;
    if (x < lo) return even ? lo + r : hi - r;
    return even ? hi - r : lo + r;
  }
  return x;
}

template <typename T>
struct GridSampler {
  const T* img;  // one [H, W] plane
  int64_t H, W;
  Padding padding;
  T x_lo, x_hi, y_lo, y_hi;  // the borders: [-0.5, size - 0.5], or [0, size - 1] aligned

  T pixel(int64_t y, int64_t x) const {
    switch (padding) {
      case Padding::zeros:
        return (y >= 0 && y < H && x >= 0 && x < W) ? img[y * W + x] : T(0);
      case Padding::border:
        return img[std::clamp<int64_t>(y, 0, H - 1) * W + std::clamp<int64_t>(x, 0, W - 1)];
      case Padding::reflection: {
        const int64_t ry = static_cast<int64_t>(reflect(static_cast<T>(y), y_lo, y_hi));
        const int64_t rx = static_cast<int64_t>(reflect(static_cast<T>(x), x_lo, x_hi));
        return img[std::clamp<int64_t>(ry, 0, H - 1) * W + std::clamp<int64_t>(rx, 0, W - 1)];
      }
    }
    return T(0);
  }
};

// Keys' cubic convolution weights with a = -0.75 for a fractional offset t in [0, 1).
template <typename T>
void cubic_coeffs(T t, T c[4]) {
  const T a = T(-0.75);
  t = std::fabs(t);
  const T t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  c[0] = ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a;
  c[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  c[2] = ((a + 2) * t2 - (a + 3)) * t2 * t2 + 1;
  c[3] = ((a * t3 - 5 * a) * t3 + 8 * a) * t3 - 4 * a;
}

void run_grid_sample(OpContext& ctx) {
  const Tensor& x_in = ctx.input(0);
  const Tensor& grid_in = ctx.input(1);
  const DType work = working_type(ctx, x_in, "X");
  working_type(ctx, grid_in, "grid");
  if (x_in.rank() != 4)
    ctx.fail("X must have rank 4 (N, C, H, W), got shape {}", shape_str(x_in.shape()));
  if (grid_in.rank() != 4 || grid_in.dim(0) != x_in.dim(0) || grid_in.dim(3) != 2)
    ctx.fail("grid must have shape [{}, H_out, W_out, 2], got {}", x_in.dim(0),
             shape_str(grid_in.shape()));
  const std::string mode = ctx.attr_string("mode", "bilinear");
  if (mode != "bilinear" && mode != "nearest" && mode != "bicubic")
    ctx.fail("mode must be bilinear, nearest or bicubic, got '{}'", mode);
  const std::string pm = ctx.attr_string("padding_mode", "zeros");
  Padding padding;
  if (pm == "zeros")
    padding = Padding::zeros;
  else if (pm == "border")
    padding = Padding::border;
  else if (pm == "reflection")
    padding = Padding::reflection;
  else
    ctx.fail("padding_mode must be zeros, border or reflection, got '{}'", pm);
  const bool align = ctx.attr_int("align_corners", 0) != 0;

  Tensor X = cast_tensor(x_in, work), G = cast_tensor(grid_in, work);
  const int64_t N = X.dim(0), C = X.dim(1), H = X.dim(2), W = X.dim(3);
  const int64_t OH = G.dim(1), OW = G.dim(2);
  Tensor Y(work, {N, C, OH, OW});
  if (H == 0 || W == 0) {
    if (Y.numel() > 0) ctx.fail("cannot sample an empty image of shape {}", shape_str(X.shape()));
    ctx.outputs[0] = cast_tensor(Y, x_in.dtype());
    return;
  }
  with_float_type(work, [&](auto zero) {
    using T = decltype(zero);
    GridSampler<T> s{nullptr, H,
                     W,       padding,
                     T(-0.5), static_cast<T>(W) - T(0.5),
                     T(-0.5), static_cast<T>(H) - T(0.5)};
    if (align) {
      s.x_lo = s.y_lo = 0;
      s.x_hi = static_cast<T>(W - 1);
      s.y_hi = static_cast<T>(H - 1);
    }
    auto denormalize = [&](T v, int64_t size) {
      return align ? (v + 1) / 2 * static_cast<T>(size - 1)
                   : ((v + 1) * static_cast<T>(size) - 1) / 2;
    };
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        s.img = X.data<T>() + (n * C + c) * H * W;
        T* out = Y.data<T>() + (n * C + c) * OH * OW;
        const T* grid = G.data<T>() + n * OH * OW * 2;
        for (int64_t p = 0; p < OH * OW; ++p) {
          T x = denormalize(grid[p * 2], W), y = denormalize(grid[p * 2 + 1], H);
          if (mode == "nearest") {
            x = std::nearbyint(x);
            y = std::nearbyint(y);
          }
          // Out-of-border coordinates are moved inside first (border / reflection). Bicubic
          // with border padding clamps each tap instead, as PyTorch (whose grid_sample the op
          // mirrors) and onnxruntime do; ONNX's Python reference clamps the point, which
          // differs only there. Reflecting the point equals reflecting each tap.
          const bool clamp_point = padding == Padding::border && mode != "bicubic";
          if (x < s.x_lo || x > s.x_hi) {
            if (clamp_point)
              x = std::clamp(x, T(0), static_cast<T>(W - 1));
            else if (padding == Padding::reflection)
              x = reflect(x, s.x_lo, s.x_hi);
          }
          if (y < s.y_lo || y > s.y_hi) {
            if (clamp_point)
              y = std::clamp(y, T(0), static_cast<T>(H - 1));
            else if (padding == Padding::reflection)
              y = reflect(y, s.y_lo, s.y_hi);
          }
          // Coordinates far outside (or NaN) read only padding; bound them before any integer
          // conversion.
          x = !(x >= T(-4)) ? T(-4) : std::min(x, static_cast<T>(W + 4));
          y = !(y >= T(-4)) ? T(-4) : std::min(y, static_cast<T>(H + 4));
          T v;
          if (mode == "nearest") {
            v = s.pixel(static_cast<int64_t>(y), static_cast<int64_t>(x));
          } else if (mode == "bilinear") {
            const T fx = std::floor(x), fy = std::floor(y);
            const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy);
            const T dx = x - fx, dy = y - fy;
            const T top = (1 - dx) * s.pixel(y0, x0) + dx * s.pixel(y0, x0 + 1);
            const T bottom = (1 - dx) * s.pixel(y0 + 1, x0) + dx * s.pixel(y0 + 1, x0 + 1);
            v = (1 - dy) * top + dy * bottom;
          } else {
            const T fx = std::floor(x), fy = std::floor(y);
            const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy);
            T cx[4], cy[4];
            cubic_coeffs(x - fx, cx);
            cubic_coeffs(y - fy, cy);
            v = 0;
            for (int i = 0; i < 4; ++i) {
              T row = 0;
              for (int j = 0; j < 4; ++j) row += cx[j] * s.pixel(y0 - 1 + i, x0 - 1 + j);
              v += cy[i] * row;
            }
          }
          out[p] = v;
        }
      }
  });
  ctx.outputs[0] = cast_tensor(Y, x_in.dtype());
}

}  // namespace

void register_vision_ops(OpRegistry& r) {
  r.add({"NonMaxSuppression", "", infer_nms, run_nms});
  r.add({"RoiAlign", "", infer_roi_align, run_roi_align});
  r.add({"GridSample", "", infer_grid_sample, run_grid_sample});
}

}  // namespace nnaccel
