#include "compress/quantize/calibration_observer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/check.hpp"

namespace nnaccel {

namespace {

struct MethodName {
  CalibrationMethod method;
  const char* name;
};
constexpr MethodName kMethods[] = {{CalibrationMethod::minmax, "minmax"},
                                   {CalibrationMethod::moving_average, "moving-average"},
                                   {CalibrationMethod::percentile, "percentile"},
                                   {CalibrationMethod::mse, "mse"},
                                   {CalibrationMethod::entropy, "entropy"}};

bool uses_histogram(CalibrationMethod m) {
  return m == CalibrationMethod::percentile || m == CalibrationMethod::mse ||
         m == CalibrationMethod::entropy;
}

}  // namespace

CalibrationMethod calibration_method_from_name(const std::string& name) {
  for (const MethodName& m : kMethods)
    if (name == m.name) return m.method;
  fail("unknown calibration method '{}' (minmax, moving-average, percentile, mse or entropy)",
       name);
}

const char* calibration_method_name(CalibrationMethod m) {
  for (const MethodName& row : kMethods)
    if (row.method == m) return row.name;
  return "?";
}

CalibrationObserver::CalibrationObserver(ObserverConfig config) : config_(config) {
  if (config_.bins < 8 || config_.bins % 4 != 0)
    fail("histogram bins must be a multiple of 4 and at least 8 (given {})", config_.bins);
  if (!(config_.percentile > 50.0 && config_.percentile <= 100.0))
    fail("percentile must be in (50, 100] (given {})", config_.percentile);
  if (!(config_.momentum > 0.0 && config_.momentum <= 1.0))
    fail("moving-average momentum must be in (0, 1] (given {})", config_.momentum);
  int32_t qmin, qmax;
  quant_grid(config_.qtype, config_.symmetric, qmin, qmax);  // checks the qtype
}

void CalibrationObserver::observe(const float* values, int64_t count) {
  if (count <= 0) return;
  float bmin = values[0], bmax = values[0];
  for (int64_t i = 0; i < count; ++i) {
    const float v = values[i];
    if (!std::isfinite(v)) fail("a calibration value is not finite ({})", v);
    bmin = std::min(bmin, v);
    bmax = std::max(bmax, v);
  }
  if (batches_ == 0) {
    min_ = avg_min_ = bmin;
    max_ = avg_max_ = bmax;
  } else {
    min_ = std::min<double>(min_, bmin);
    max_ = std::max<double>(max_, bmax);
    avg_min_ += config_.momentum * (bmin - avg_min_);
    avg_max_ += config_.momentum * (bmax - avg_max_);
  }
  ++batches_;
  if (uses_histogram(config_.method))
    add_to_histogram(values, count, std::max(std::fabs(bmin), std::fabs(bmax)));
}

void CalibrationObserver::add_to_histogram(const float* values, int64_t count, float absmax) {
  const int bins = config_.bins;
  if (hist_.empty()) {
    hist_.assign(static_cast<size_t>(bins), 0.0);
    half_width_ = absmax > 0 ? static_cast<double>(absmax) * (1.0 + 1e-6) : 1e-12;
  }
  // Doubling the range: old bin i lands in new bin bins/4 + i/2, so pairs merge exactly.
  while (static_cast<double>(absmax) >= half_width_) {
    std::vector<double> wider(static_cast<size_t>(bins), 0.0);
    for (int i = 0; i < bins; ++i) wider[static_cast<size_t>(bins / 4 + i / 2)] += hist_[static_cast<size_t>(i)];
    hist_.swap(wider);
    half_width_ *= 2.0;
  }
  const double scale = bins / (2.0 * half_width_);
  for (int64_t i = 0; i < count; ++i) {
    int64_t b = static_cast<int64_t>((static_cast<double>(values[i]) + half_width_) * scale);
    b = std::clamp<int64_t>(b, 0, bins - 1);
    hist_[static_cast<size_t>(b)] += 1.0;
  }
}

double CalibrationObserver::quantile(double q) const {
  double total = 0;
  for (double h : hist_) total += h;
  const double target = q * total;
  const double width = 2.0 * half_width_ / static_cast<double>(hist_.size());
  double seen = 0;
  for (size_t i = 0; i < hist_.size(); ++i) {
    if (seen + hist_[i] >= target && hist_[i] > 0) {
      const double frac = (target - seen) / hist_[i];
      return -half_width_ + (static_cast<double>(i) + frac) * width;
    }
    seen += hist_[i];
  }
  return half_width_;
}

QuantRange CalibrationObserver::percentile_range() const {
  const double p = config_.percentile / 100.0;
  double lo = quantile(1.0 - p), hi = quantile(p);
  lo = std::max(lo, min_);
  hi = std::min(hi, max_);
  return {static_cast<float>(lo), static_cast<float>(hi)};
}

// Expected squared error per value of quantizing a histogram onto a grid over [lo, hi]:
// uniform rounding noise (step^2 / 12) inside, the distance to the clip outside.
QuantRange CalibrationObserver::mse_range() const {
  int32_t qmin, qmax;
  quant_grid(config_.qtype, config_.symmetric, qmin, qmax);
  const double levels = qmax - qmin;
  const size_t n = hist_.size();
  const double width = 2.0 * half_width_ / static_cast<double>(n);
  auto error = [&](double lo, double hi) {
    const double step = (hi - lo) / levels;
    const double inside = step * step / 12.0;
    double e = 0;
    for (size_t i = 0; i < n; ++i) {
      if (hist_[i] == 0) continue;
      const double c = -half_width_ + (static_cast<double>(i) + 0.5) * width;
      const double d = c < lo ? lo - c : (c > hi ? c - hi : 0.0);
      e += hist_[i] * (d > 0 ? d * d : inside);
    }
    return e;
  };
  const double lo0 = std::min(min_, 0.0), hi0 = std::max(max_, 0.0);
  constexpr int kSteps = 64;
  double best = std::numeric_limits<double>::infinity(), best_lo = lo0, best_hi = hi0;
  if (config_.symmetric) {
    const double absmax = std::max(-lo0, hi0);
    for (int k = 1; k <= kSteps * 4; ++k) {
      const double t = absmax * k / (kSteps * 4);
      const double e = error(-t, t);
      if (e < best) {
        best = e;
        best_lo = -t;
        best_hi = t;
      }
    }
    return {static_cast<float>(best_lo), static_cast<float>(best_hi)};
  }
  for (int a = lo0 < 0 ? 1 : kSteps; a <= kSteps; ++a)
    for (int b = hi0 > 0 ? 1 : kSteps; b <= kSteps; ++b) {
      const double lo = lo0 * a / kSteps, hi = hi0 * b / kSteps;
      if (hi <= lo) continue;
      const double e = error(lo, hi);
      if (e < best) {
        best = e;
        best_lo = lo;
        best_hi = hi;
      }
    }
  return {static_cast<float>(best_lo), static_cast<float>(best_hi)};
}

// KL divergence calibration on the histogram of |x| (Migacz, "8-bit inference with TensorRT",
// 2017): for each candidate threshold T, the reference distribution P is the histogram clipped
// there (outliers added to the last bin), Q is P squeezed onto the quantized levels that cover
// [0, T] and spread back over the bins that were non-empty; the T with the least KL(P || Q) wins.
// The levels over [0, T] are those of the grid the range will get: half of a symmetric grid, and
// for an asymmetric one its share of [max(-T, min), T] (all 256 u8 levels when nothing is below 0:
// a HardSwish output whose negative side is 3% of T gets 248, where TensorRT's symmetric 128 would
// count twice the rounding noise there is and clip too much).
QuantRange CalibrationObserver::entropy_range() const {
  const size_t half = hist_.size() / 2;
  std::vector<double> mag(half);
  for (size_t j = 0; j < half; ++j) mag[j] = hist_[half + j] + hist_[half - 1 - j];
  int32_t qmin, qmax;
  quant_grid(config_.qtype, config_.symmetric, qmin, qmax);
  const double steps = qmax - qmin;
  const double width = half_width_ / static_cast<double>(half);
  auto levels_for = [&](double t) {
    if (config_.symmetric) return static_cast<size_t>(steps / 2) + 1;
    const double below = std::min(t, std::max(0.0, -min_));
    return static_cast<size_t>(std::lround(steps * t / (t + below))) + 1;
  };
  size_t last = half;
  while (last > 0 && mag[last - 1] == 0) --last;
  double threshold = static_cast<double>(last) * width;
  double best = std::numeric_limits<double>::infinity();
  std::vector<double> p, q;
  double outliers = 0;  // mass at and above bin i
  for (size_t j = 0; j < half; ++j) outliers += mag[j];
  for (size_t i = 1; i <= last; ++i) {
    outliers -= mag[i - 1];
    const size_t levels = levels_for(static_cast<double>(i) * width);
    if (i < levels) continue;  // finer than the histogram: nothing to measure
    p.assign(mag.begin(), mag.begin() + static_cast<std::ptrdiff_t>(i));
    p[i - 1] += outliers;
    q.assign(i, 0.0);
    for (size_t k = 0; k < levels; ++k) {
      const size_t begin = k * i / levels, end = (k + 1) * i / levels;
      double sum = 0;
      size_t nonzero = 0;
      for (size_t j = begin; j < end; ++j) {
        sum += mag[j];
        nonzero += mag[j] > 0;
      }
      for (size_t j = begin; j < end; ++j)
        if (mag[j] > 0) q[j] = sum / static_cast<double>(nonzero);
    }
    double psum = 0, qsum = 0;
    for (size_t j = 0; j < i; ++j) {
      psum += p[j];
      qsum += q[j];
    }
    if (psum == 0 || qsum == 0) continue;
    double kl = 0;
    for (size_t j = 0; j < i; ++j) {
      if (p[j] == 0) continue;
      const double pj = p[j] / psum;
      // P mass where Q has none (the clipped outliers in the last bin) is smoothed to a small
      // probability, as the reference calibrators do; otherwise a handful of outliers would
      // outweigh the resolution lost over the whole distribution.
      const double qj = q[j] > 0 ? q[j] / qsum : 1e-4;
      kl += pj * std::log(pj / qj);
    }
    if (kl < best) {
      best = kl;
      threshold = static_cast<double>(i) * width;
    }
  }
  if (min_ >= 0.0 && !config_.symmetric)
    return {static_cast<float>(min_), static_cast<float>(std::min(threshold, max_))};
  return {static_cast<float>(std::max(-threshold, min_)),
          static_cast<float>(std::min(threshold, max_))};
}

QuantRange CalibrationObserver::range() const {
  if (batches_ == 0) fail("the observer has seen no data");
  switch (config_.method) {
    case CalibrationMethod::minmax:
      return {static_cast<float>(min_), static_cast<float>(max_)};
    case CalibrationMethod::moving_average:
      return {static_cast<float>(avg_min_), static_cast<float>(avg_max_)};
    case CalibrationMethod::percentile:
      return percentile_range();
    case CalibrationMethod::mse:
      return mse_range();
    case CalibrationMethod::entropy:
      return entropy_range();
  }
  return {};
}

std::string CalibrationObserver::save() const {
  std::ostringstream out;
  out.precision(17);
  out << "nnaccel-observer 1 " << static_cast<int>(config_.method) << ' ' << config_.percentile
      << ' ' << config_.momentum << ' ' << config_.bins << ' ' << static_cast<int>(config_.qtype)
      << ' ' << config_.symmetric << ' ' << batches_ << ' ' << min_ << ' ' << max_ << ' '
      << avg_min_ << ' ' << avg_max_ << ' ' << half_width_ << ' ' << hist_.size();
  for (double h : hist_) out << ' ' << h;
  return out.str();
}

CalibrationObserver CalibrationObserver::load(const std::string& state) {
  std::istringstream in(state);
  std::string magic;
  int version = 0, method = 0, qtype = 0;
  ObserverConfig c;
  size_t n = 0;
  in >> magic >> version >> method >> c.percentile >> c.momentum >> c.bins >> qtype >> c.symmetric;
  if (!in || magic != "nnaccel-observer" || version != 1 || method < 0 || method > 4)
    fail("calibration state is not an nnaccel observer state (version 1)");
  c.method = static_cast<CalibrationMethod>(method);
  c.qtype = static_cast<DType>(qtype);
  CalibrationObserver o(c);
  in >> o.batches_ >> o.min_ >> o.max_ >> o.avg_min_ >> o.avg_max_ >> o.half_width_ >> n;
  if (!in || (n != 0 && n != static_cast<size_t>(c.bins)) || o.batches_ < 0)
    fail("calibration state is truncated or inconsistent");
  o.hist_.resize(n);
  for (double& h : o.hist_) in >> h;
  if (!in) fail("calibration state is truncated");
  return o;
}

}  // namespace nnaccel
