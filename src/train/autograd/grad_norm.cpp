// Gradient rules of BatchNormalization, LayerNormalization and Dropout.
//
// Normalizing a group of D values by their own statistics, xhat = (x - mean) * inv_std, has
//   dx = inv_std / D * (D * g - sum(g) - xhat * sum(g * xhat)),  g = dy * scale
// (the gradient through the mean and the variance included). BatchNormalization in training
// mode normalizes each channel over the batch and spatial axes; LayerNormalization each row
// over the trailing axes. Statistics are computed in double as the reference kernels do; f32
// BatchNormalization sums each plane in f32 partials (plane_sums.hpp), the totals in double.
#include <cmath>

#include "core/parallel.hpp"
#include "train/autograd/grad_util.hpp"
#include "train/autograd/plane_sums.hpp"

namespace nnaccel {

namespace {

using namespace grad;

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.at_f64(i);
  return v;
}

Tensor tensor_like(const Tensor& like, const std::vector<double>& v) {
  Tensor t(like.dtype(), like.shape());
  visit_numeric(like.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (size_t i = 0; i < v.size(); ++i) t.data<T>()[i] = static_cast<T>(v[i]);
  });
  return t;
}

// Optional output gradient as doubles (empty when it does not reach the loss).
std::vector<double> optional_grad(const GradContext& c, size_t o) {
  if (o >= c.grad_outputs.size() || c.grad_outputs[o] == nullptr) return {};
  return as_doubles(*c.grad_outputs[o]);
}

// grad_batch_norm for f32: the same formulas with each plane's sums in f32 partials and the
// elementwise passes in f32 (coefficients in double).
void batch_norm_grad_f32(const Tensor& x, const Tensor& dy, bool training, double eps,
                         double momentum, const std::vector<double>& scale,
                         const std::vector<double>& in_mean, const std::vector<double>& in_var,
                         const std::vector<double>& d_run_mean,
                         const std::vector<double>& d_run_var, Tensor& dx,
                         std::vector<double>& dscale, std::vector<double>& dbias,
                         std::vector<double>& dmean, std::vector<double>& dvar) {
  const int64_t n = x.dim(0), ch = x.dim(1), spatial = x.numel() / std::max<int64_t>(1, n * ch);
  const double count = static_cast<double>(n * spatial);
  const float* xd = x.data<float>();
  const float* g = dy.data<float>();
  float* d = dx.data<float>();
  parallel_for(ch, 1, [&](int64_t k_begin, int64_t k_end) {
    for (int64_t k = k_begin; k < k_end; ++k) {
      const size_t kk = static_cast<size_t>(k);
      auto plane = [&](int64_t b) { return (b * ch + k) * spatial; };
      double mean = in_mean[kk], var = in_var[kk];
      if (training) {
        double sum = 0, sq = 0;
        for (int64_t b = 0; b < n; ++b) sum += plane_sum(xd + plane(b), spatial);
        mean = count > 0 ? sum / count : 0.0;
        for (int64_t b = 0; b < n; ++b)
          sq += plane_sum_sq_dev(xd + plane(b), spatial, static_cast<float>(mean));
        var = count > 0 ? sq / count : 0.0;
      }
      const double inv = 1 / std::sqrt(var + eps);
      double sum_g = 0, sum_gx = 0;
      for (int64_t b = 0; b < n; ++b)
        plane_sum_g_gx(g + plane(b), xd + plane(b), spatial, static_cast<float>(mean), sum_g,
                       sum_gx);
      const double sum_g_xhat = sum_gx * inv;
      dscale[kk] = sum_g_xhat;
      dbias[kk] = sum_g;
      const double drm = d_run_mean.empty() ? 0.0 : d_run_mean[kk];
      const double drv = d_run_var.empty() ? 0.0 : d_run_var[kk];
      if (training) {
        dmean[kk] = drm * momentum;
        dvar[kk] = drv * momentum;
        // grad_batch_norm's training formula as dx = A g + B x + C.
        const double a = scale[kk] * inv / count;
        const double bx = -a * inv * sum_g_xhat + (1 - momentum) * 2 * drv / count;
        const double cst = -a * sum_g + (1 - momentum) * drm / count - bx * mean;
        for (int64_t b = 0; b < n; ++b)
          plane_affine(g + plane(b), static_cast<float>(a * count), xd + plane(b),
                       static_cast<float>(bx), static_cast<float>(cst), d + plane(b), spatial);
      } else {
        dmean[kk] = drm - sum_g * scale[kk] * inv;
        dvar[kk] = drv - 0.5 * scale[kk] * inv * inv * sum_g_xhat;
        for (int64_t b = 0; b < n; ++b)
          plane_affine(g + plane(b), static_cast<float>(scale[kk] * inv), nullptr, 0.0f, 0.0f,
                       d + plane(b), spatial);
      }
    }
  });
}

void grad_batch_norm(GradContext& c) {
  const Tensor& x = input(c, 0);
  if (x.rank() < 2) rule_fail(c.node, "input X has rank {}, expected [N, C, ...]", x.rank());
  const int64_t n = x.dim(0), ch = x.dim(1), spatial = x.numel() / std::max<int64_t>(1, n * ch);
  const std::vector<double> scale = as_doubles(input(c, 1));
  const std::vector<double> in_mean = as_doubles(input(c, 3));
  const std::vector<double> in_var = as_doubles(input(c, 4));
  const double eps = c.node.attr_float("epsilon", 1e-5f);
  const double momentum = c.node.attr_float("momentum", 0.9f);
  const bool training = c.node.attr_int("training_mode", 0) == 1;
  const Tensor dy = grad_output(c, 0);
  const std::vector<double> d_run_mean = optional_grad(c, 1), d_run_var = optional_grad(c, 2);
  const double count = static_cast<double>(n * spatial);
  std::vector<double> dscale(static_cast<size_t>(ch)), dbias(static_cast<size_t>(ch));
  std::vector<double> dmean(static_cast<size_t>(ch)), dvar(static_cast<size_t>(ch));
  const bool f32 = x.dtype() == DType::f32 && dy.dtype() == DType::f32;
  Tensor dx = f32 ? uninitialized(DType::f32, x.shape()) : Tensor(x.dtype(), x.shape());
  if (f32) {
    batch_norm_grad_f32(x, dy, training, eps, momentum, scale, in_mean, in_var, d_run_mean,
                        d_run_var, dx, dscale, dbias, dmean, dvar);
  } else {
    visit_grad_float(c.node, x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x.data<T>();
      const T* g = dy.data<T>();
      T* d = dx.data<T>();
      // Channels are independent: each writes its own slots and elements.
      parallel_for(ch, 1, [&](int64_t k_begin, int64_t k_end) {
        for (int64_t k = k_begin; k < k_end; ++k) {
          const size_t kk = static_cast<size_t>(k);
          auto each = [&](auto body) {
            for (int64_t b = 0; b < n; ++b)
              for (int64_t s = 0; s < spatial; ++s) body((b * ch + k) * spatial + s);
          };
          double mean = in_mean[kk], var = in_var[kk];
          if (training) {
            double sum = 0, sq = 0;
            each([&](int64_t e) { sum += xd[e]; });
            mean = count > 0 ? sum / count : 0.0;
            each([&](int64_t e) { sq += (xd[e] - mean) * (xd[e] - mean); });
            var = count > 0 ? sq / count : 0.0;
          }
          const double inv = 1 / std::sqrt(var + eps);
          double sum_g = 0, sum_g_xhat = 0;
          each([&](int64_t e) {
            sum_g += g[e];
            sum_g_xhat += g[e] * (xd[e] - mean) * inv;
          });
          dscale[kk] = sum_g_xhat;
          dbias[kk] = sum_g;
          // Running statistics: input * momentum + batch * (1 - momentum) in training, the input
          // passed through otherwise.
          const double drm = d_run_mean.empty() ? 0.0 : d_run_mean[kk];
          const double drv = d_run_var.empty() ? 0.0 : d_run_var[kk];
          if (training) {
            dmean[kk] = drm * momentum;
            dvar[kk] = drv * momentum;
            const double a = scale[kk] * inv / count;
            each([&](int64_t e) {
              const double xhat = (xd[e] - mean) * inv;
              d[e] = static_cast<T>(a * (count * g[e] - sum_g - xhat * sum_g_xhat) +
                                    (1 - momentum) * (drm + drv * 2 * (xd[e] - mean)) / count);
            });
          } else {
            dmean[kk] = drm - sum_g * scale[kk] * inv;
            dvar[kk] = drv - 0.5 * scale[kk] * inv * inv * sum_g_xhat;
            each([&](int64_t e) { d[e] = static_cast<T>(g[e] * scale[kk] * inv); });
          }
        }
      });
    });
  }
  if (wants(c, 0)) c.grad_inputs[0] = dx;
  if (wants(c, 1)) c.grad_inputs[1] = tensor_like(input(c, 1), dscale);
  if (wants(c, 2)) c.grad_inputs[2] = tensor_like(input(c, 2), dbias);
  if (wants(c, 3)) c.grad_inputs[3] = tensor_like(input(c, 3), dmean);
  if (wants(c, 4)) c.grad_inputs[4] = tensor_like(input(c, 4), dvar);
}

void grad_layer_norm(GradContext& c) {
  const Tensor& x = input(c, 0);
  const Tensor& scale = input(c, 1);
  const int64_t rank = x.rank();
  int64_t axis = c.node.attr_int("axis", -1);
  if (rank == 0 || axis < -rank || axis >= rank)
    rule_fail(c.node, "axis {} is out of range for rank {}", axis, rank);
  if (axis < 0) axis += rank;
  int64_t rows = 1;
  for (int64_t i = 0; i < axis; ++i) rows *= x.dim(static_cast<int>(i));
  const int64_t width = rows > 0 ? x.numel() / rows : 0;
  const double eps = c.node.attr_float("epsilon", 1e-5f);
  const Tensor dy = grad_output(c, 0);
  const Tensor scale_full = broadcast_to(scale, x.shape());
  const std::vector<double> d_mean = optional_grad(c, 1), d_inv = optional_grad(c, 2);
  Tensor dx(x.dtype(), x.shape()), dy_xhat(x.dtype(), x.shape());
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    const T* g = dy.data<T>();
    const T* s = scale_full.data<T>();
    T* d = dx.data<T>();
    T* gx = dy_xhat.data<T>();
    const double w = static_cast<double>(width);
    parallel_for(rows, 1, [&](int64_t r_begin, int64_t r_end) {
      for (int64_t r = r_begin; r < r_end; ++r) {
        const int64_t base = r * width;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < width; ++i) mean += xd[base + i];
        mean /= w;
        for (int64_t i = 0; i < width; ++i) var += (xd[base + i] - mean) * (xd[base + i] - mean);
        var /= w;
        const double inv = 1 / std::sqrt(var + eps);
        double sum_g = 0, sum_g_xhat = 0;
        for (int64_t i = 0; i < width; ++i) {
          const double gs = static_cast<double>(g[base + i]) * s[base + i];
          sum_g += gs;
          sum_g_xhat += gs * (xd[base + i] - mean) * inv;
        }
        const double dm = d_mean.empty() ? 0.0 : d_mean[static_cast<size_t>(r)];
        const double di = d_inv.empty() ? 0.0 : d_inv[static_cast<size_t>(r)];
        for (int64_t i = 0; i < width; ++i) {
          const double xc = xd[base + i] - mean, xhat = xc * inv;
          const double gs = static_cast<double>(g[base + i]) * s[base + i];
          d[base + i] = static_cast<T>(inv / w * (w * gs - sum_g - xhat * sum_g_xhat) + dm / w -
                                       di * inv * inv * inv * xc / w);
          gx[base + i] = static_cast<T>(static_cast<double>(g[base + i]) * xhat);
        }
      }
    });
  });
  if (wants(c, 0)) c.grad_inputs[0] = dx;
  if (wants(c, 1)) c.grad_inputs[1] = reduce_to_shape(dy_xhat, scale.shape());
  if (wants(c, 2)) c.grad_inputs[2] = reduce_to_shape(dy, input(c, 2).shape());
}

// Dropout: y = x * mask / (1 - ratio) in training, x otherwise. The mask output is used when
// the node names it; without it, an element was kept where y != 0 (or where x is 0, whose
// gradient cannot be told apart: it is taken as kept).
void grad_dropout(GradContext& c) {
  if (!wants(c, 0)) return;
  const Tensor& x = input(c, 0);
  const Tensor& y = output(c, 0);
  const Tensor dy = grad_output(c, 0);
  const bool training =
      c.inputs.size() > 2 && c.inputs[2] != nullptr && c.inputs[2]->at_f64(0) != 0;
  const double ratio = c.inputs.size() > 1 && c.inputs[1] != nullptr ? c.inputs[1]->at_f64(0) : 0.5;
  if (!training || ratio == 0) {
    c.grad_inputs[0] = dy;
    return;
  }
  const double scale = ratio < 1 ? 1 / (1 - ratio) : 0.0;
  const Tensor* mask = c.outputs.size() > 1 ? c.outputs[1] : nullptr;
  Tensor dx(x.dtype(), x.shape());
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    const T* yd = y.data<T>();
    const T* g = dy.data<T>();
    const bool* m = mask != nullptr ? mask->data<bool>() : nullptr;
    T* d = dx.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const bool kept = m != nullptr ? m[i] : (yd[i] != 0 || xd[i] == 0);
      d[i] = kept ? static_cast<T>(static_cast<double>(g[i]) * scale) : T(0);
    }
  });
  c.grad_inputs[0] = dx;
}

}  // namespace

void register_norm_grads(GradRegistry& r) {
  r.add("", "BatchNormalization", grad_batch_norm);
  r.add("", "LayerNormalization", grad_layer_norm);
  r.add("", "Dropout", grad_dropout);
}

}  // namespace nnaccel
