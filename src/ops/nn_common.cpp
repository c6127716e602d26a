#include "ops/nn_common.hpp"

#include <algorithm>

namespace nnaccel::nn {

AutoPad parse_auto_pad(const Node& node) {
  std::string s = node.attr_string("auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::notset;
  if (s == "SAME_UPPER") return AutoPad::same_upper;
  if (s == "SAME_LOWER") return AutoPad::same_lower;
  if (s == "VALID") return AutoPad::valid;
  node_fail(node, "auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", s);
}

namespace {

std::vector<int64_t> positive_ints(const Node& node, const char* name, size_t rank) {
  std::vector<int64_t> v = node.attr_ints(name);
  if (v.empty()) v.assign(rank, 1);
  if (v.size() != rank)
    node_fail(node, "{} has {} values, expected {} (one per spatial dimension)", name, v.size(),
              rank);
  for (int64_t x : v)
    if (x < 1) node_fail(node, "{} {} must be positive", name, fmt::join(v, ","));
  return v;
}

}  // namespace

Window read_window_attrs(const Node& node, size_t rank) {
  Window w;
  w.strides = positive_ints(node, "strides", rank);
  w.dilations = positive_ints(node, "dilations", rank);
  std::vector<int64_t> pads = node.attr_ints("pads");
  if (pads.empty()) pads.assign(2 * rank, 0);
  if (pads.size() != 2 * rank)
    node_fail(node, "pads has {} values, expected {}", pads.size(), 2 * rank);
  for (int64_t p : pads)
    if (p < 0) node_fail(node, "pads {} must not be negative", fmt::join(pads, ","));
  w.pads_begin.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(rank));
  w.pads_end.assign(pads.begin() + static_cast<std::ptrdiff_t>(rank), pads.end());
  return w;
}

Window resolve_window(const Node& node, const std::vector<int64_t>& in_spatial,
                      const std::vector<int64_t>& kernel, bool ceil_mode) {
  const size_t r = in_spatial.size();
  if (kernel.size() != r)
    node_fail(node, "kernel has {} dimensions, the input has {} spatial dimensions", kernel.size(),
              r);
  for (int64_t k : kernel)
    if (k < 1) node_fail(node, "kernel shape {} must be positive", fmt::join(kernel, ","));
  Window w = read_window_attrs(node, r);
  w.in = in_spatial;
  w.kernel = kernel;
  const AutoPad ap = parse_auto_pad(node);
  if (ap != AutoPad::notset) {
    w.pads_begin.assign(r, 0);
    w.pads_end.assign(r, 0);
  }
  w.out.assign(r, -1);
  for (size_t i = 0; i < r; ++i) {
    // Effective kernel extent.
    const int64_t ek = add_checked(node, mul_checked(node, kernel[i] - 1, w.dilations[i]), 1);
    const int64_t in = in_spatial[i];
    const int64_t s = w.strides[i];
    if (in < 0) continue;
    if (ap == AutoPad::same_upper || ap == AutoPad::same_lower) {
      w.out[i] = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (w.out[i] - 1) * s + ek - in);
      // The odd pixel of padding goes to the end for SAME_UPPER, to the beginning otherwise.
      w.pads_begin[i] = ap == AutoPad::same_upper ? total / 2 : total - total / 2;
      w.pads_end[i] = total - w.pads_begin[i];
      continue;
    }
    const int64_t padded = add_checked(node, add_checked(node, in, w.pads_begin[i]), w.pads_end[i]);
    const int64_t span = padded - ek;
    if (span < 0)
      node_fail(node,
                "the window (extent {} along spatial axis {}) is larger than the padded input ({})",
                ek, i, padded);
    w.out[i] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    // A window that would start in the end padding is dropped (PyTorch's ceil_mode rule).
    if (ceil_mode && (w.out[i] - 1) * s >= in + w.pads_begin[i]) --w.out[i];
  }
  return w;
}

TapBuilder::TapBuilder(const Window& w) : w_(w) {
  const size_t r = w.rank();
  k_stride_.assign(r, 1);
  x_stride_.assign(r, 1);
  col_stride_.assign(r, 1);
  for (size_t i = r; i-- > 1;) {
    // Kernel offsets matter only for Conv, whose kernel is a real tensor; a pool's kernel_shape
    // attribute may be huge, so this product wraps (unsigned) instead of overflowing.
    k_stride_[i - 1] = static_cast<int64_t>(static_cast<uint64_t>(k_stride_[i]) *
                                            static_cast<uint64_t>(w.kernel[i]));
    x_stride_[i - 1] = x_stride_[i] * w.in[i];
  }
  for (size_t i = 1; i < r; ++i) col_stride_[i] = col_stride_[i - 1] * w.in[i - 1];
  per_dim_.resize(r);
  int64_t max_taps = 1;
  for (size_t i = 0; i < r; ++i) {
    const int64_t n = std::min(w.kernel[i], w.in[i]);
    per_dim_[i].reserve(static_cast<size_t>(n));
    max_taps *= n;
  }
  idx_.assign(r, 0);
  sizes_.assign(r, 0);
  taps_.reserve(static_cast<size_t>(max_taps));
}

const std::vector<Tap>& TapBuilder::build(const std::vector<int64_t>& out_pos,
                                          double* padded_count) {
  const size_t r = w_.rank();
  taps_.clear();
  double padded = 1;
  bool empty = false;
  for (size_t i = 0; i < r; ++i) {
    per_dim_[i].clear();
    const int64_t d = w_.dilations[i], k_end = w_.kernel[i];
    // Kernel position k reads input position start + k * d; start >= -pad_begin.
    const int64_t start = out_pos[i] * w_.strides[i] - w_.pads_begin[i];
    const int64_t padded_last = w_.in[i] + w_.pads_end[i] - 1;  // last position of padded input
    const int64_t padded_hi =
        padded_last < start ? 0 : std::min(k_end, (padded_last - start) / d + 1);
    padded *= static_cast<double>(padded_hi);
    const int64_t lo = start >= 0 ? 0 : (-start + d - 1) / d;
    const int64_t hi = w_.in[i] - 1 < start ? 0 : std::min(k_end, (w_.in[i] - 1 - start) / d + 1);
    for (int64_t k = lo; k < hi; ++k) per_dim_[i].emplace_back(k, start + k * d);
    sizes_[i] = static_cast<int64_t>(per_dim_[i].size());
    if (sizes_[i] == 0) empty = true;
  }
  if (padded_count != nullptr) *padded_count = padded;
  if (empty) return taps_;
  std::fill(idx_.begin(), idx_.end(), 0);
  do {
    Tap t{0, 0, 0};
    for (size_t i = 0; i < r; ++i) {
      const auto& [k, p] = per_dim_[i][static_cast<size_t>(idx_[i])];
      t.k += k * k_stride_[i];
      t.x += p * x_stride_[i];
      t.x_col += p * col_stride_[i];
    }
    taps_.push_back(t);
  } while (next_index(idx_, sizes_));
  return taps_;
}

std::vector<int64_t> kernel_from_weight(const Node& node, const std::vector<int64_t>& w_spatial) {
  std::vector<int64_t> k = w_spatial;
  if (!node.has_attr("kernel_shape")) return k;
  std::vector<int64_t> a = node.attr_ints("kernel_shape");
  if (a.size() != k.size())
    node_fail(node, "kernel_shape has {} values, the weight has {} spatial dimensions", a.size(),
              k.size());
  for (size_t i = 0; i < k.size(); ++i) {
    if (k[i] < 0) {
      k[i] = a[i];
    } else if (a[i] != k[i]) {
      node_fail(node, "kernel_shape {} does not match the weight's spatial shape {}",
                fmt::join(a, ","), fmt::join(w_spatial, ","));
    }
  }
  return k;
}

std::vector<int64_t> required_kernel_shape(const Node& node, size_t rank) {
  if (!node.has_attr("kernel_shape")) node_fail(node, "attribute kernel_shape is required");
  std::vector<int64_t> k = node.attr_ints("kernel_shape");
  if (k.size() != rank)
    node_fail(node, "kernel_shape has {} values, the input has {} spatial dimensions", k.size(),
              rank);
  for (int64_t v : k)
    if (v < 1) node_fail(node, "kernel_shape {} must be positive", fmt::join(k, ","));
  return k;
}

}  // namespace nnaccel::nn
