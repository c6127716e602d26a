// Fast kernels that work along rows: Softmax/LogSoftmax (any axis), LayerNormalization,
// ReduceSum/ReduceMean/ReduceMax over trailing axes, and Transpose for the permutations that
// are a (batched) 2-D transpose of blocks.
#include <cstring>
#include <numeric>

#include "core/cast.hpp"
#include "core/parallel.hpp"
#include "kernels/simd/simd_api.hpp"
#include "kernels/simd/simd_common.hpp"
#include "kernels/simd/simd_registration.hpp"

namespace nnaccel::simd {

namespace {

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= s[i];
  return p;
}

// Rows per parallel chunk so that a chunk touches about kParallelGrain floats.
int64_t row_grain(int64_t row_len) { return std::max<int64_t>(1, kParallelGrain / row_len); }

// An axis attribute in [-rank, rank), normalized; false when out of range.
bool normalized_axis(int64_t axis, size_t rank, size_t& out) {
  const auto r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) return false;
  out = static_cast<size_t>(axis < 0 ? axis + r : axis);
  return true;
}

class SoftmaxKernel : public Kernel {
 public:
  SoftmaxKernel(bool log, int64_t outer, int64_t len, int64_t inner)
      : log_(log), outer_(outer), len_(len), inner_(inner) {}
  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const float* x = inputs[0]->data<float>();
    float* y = outputs[0].data<float>();
    if (inner_ == 1) {
      parallel_for(outer_, row_grain(len_),
                   [&](int64_t begin, int64_t end) { softmax_rows(x, y, begin, end, len_, log_); });
      return;
    }
    // Strided axis: the work units are (outer slice, block of columns), so that a single slice
    // (softmax over C of [1, C, H, W]) still spreads over the threads.
    const int64_t blocks = (inner_ + kColumns - 1) / kColumns;
    parallel_for(outer_ * blocks, row_grain(len_ * kColumns), [&](int64_t begin, int64_t end) {
      for (int64_t u = begin; u < end; ++u) {
        const int64_t o = u / blocks, c0 = (u % blocks) * kColumns;
        const int64_t offset = o * len_ * inner_;
        softmax_columns(x + offset, y + offset, len_, inner_, c0, std::min(inner_, c0 + kColumns),
                        log_);
      }
    });
  }
  std::string name() const override {
    return kernel_name(std::string(log_ ? "LogSoftmax" : "Softmax") +
                       (inner_ == 1 ? " last axis" : " strided axis"));
  }
  int inplace_input(int output) const override { return output == 0 ? 0 : -1; }

 private:
  static constexpr int64_t kColumns = 64;  // columns per work unit: whole cache lines
  bool log_;
  int64_t outer_, len_, inner_;
};

std::unique_ptr<Kernel> make_softmax_kind(KernelRequest& r, bool log) {
  if (!simd_enabled() || r.inputs.size() != 1 || !is_plain_f32(r.inputs[0])) return nullptr;
  const Shape& s = r.inputs[0]->shape;
  size_t axis = 0;
  if (!normalized_axis(r.node.attr_int("axis", -1), s.size(), axis)) return nullptr;
  return std::make_unique<SoftmaxKernel>(log, product(s, 0, axis), s[axis],
                                         product(s, axis + 1, s.size()));
}

std::unique_ptr<Kernel> make_softmax(KernelRequest& r) { return make_softmax_kind(r, false); }
std::unique_ptr<Kernel> make_log_softmax(KernelRequest& r) { return make_softmax_kind(r, true); }

class LayerNormKernel : public Kernel {
 public:
  LayerNormKernel(int64_t rows, int64_t len, float epsilon)
      : rows_(rows), len_(len), epsilon_(epsilon) {}
  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const float* x = inputs[0]->data<float>();
    const float* scale = inputs[1]->data<float>();
    const float* bias =
        inputs.size() > 2 && inputs[2] != nullptr ? inputs[2]->data<float>() : nullptr;
    float* y = outputs[0].data<float>();
    float* mean = outputs.size() > 1 && outputs[1].defined() ? outputs[1].data<float>() : nullptr;
    float* inv = outputs.size() > 2 && outputs[2].defined() ? outputs[2].data<float>() : nullptr;
    parallel_for(rows_, row_grain(len_), [&](int64_t begin, int64_t end) {
      layer_norm(x, y, begin, end, len_, scale, bias, epsilon_, mean, inv);
    });
  }
  std::string name() const override { return kernel_name("LayerNormalization"); }
  int inplace_input(int output) const override { return output == 0 ? 0 : -1; }

 private:
  int64_t rows_, len_;
  float epsilon_;
};

std::unique_ptr<Kernel> make_layer_norm(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.size() < 2 || !is_plain_f32(r.inputs[0])) return nullptr;
  if (r.node.attr_int("stash_type", 1) != static_cast<int64_t>(DType::f32)) return nullptr;
  const Shape& s = r.inputs[0]->shape;
  size_t axis = 0;
  if (!normalized_axis(r.node.attr_int("axis", -1), s.size(), axis)) return nullptr;
  const Shape norm =
      strip_leading_ones(Shape(s.begin() + static_cast<std::ptrdiff_t>(axis), s.end()));
  // Scale and B covering the normalized dims exactly (the usual case); broadcasting ones go to
  // the reference.
  for (size_t i = 1; i < r.inputs.size() && i < 3; ++i) {
    const ValueDesc* v = r.inputs[i];
    if (v == nullptr && i == 2) continue;
    if (!is_f32(v) || !v->plain() || strip_leading_ones(v->shape) != norm) return nullptr;
  }
  for (size_t o = 0; o < r.outputs.size(); ++o)
    if (!r.node.outputs[o].empty() && (r.outputs[o].dtype != DType::f32 || !r.outputs[o].known))
      return nullptr;
  return std::make_unique<LayerNormKernel>(product(s, 0, axis), product(s, axis, s.size()),
                                           r.node.attr_float("epsilon", 1e-5f));
}

class ReduceKernel : public Kernel {
 public:
  ReduceKernel(std::string what, ReduceKind kind, int64_t rows, int64_t len)
      : what_(std::move(what)), kind_(kind), rows_(rows), len_(len) {}
  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const float* x = inputs[0]->data<float>();
    float* y = outputs[0].data<float>();
    parallel_for(rows_, row_grain(len_),
                 [&](int64_t begin, int64_t end) { reduce_rows(x, y, begin, end, len_, kind_); });
  }
  std::string name() const override { return kernel_name(what_ + " trailing axes"); }

 private:
  std::string what_;
  ReduceKind kind_;
  int64_t rows_, len_;
};

// Reductions whose axes (attribute, or constant input 1 as in ReduceSum and opset 18) are the
// trailing axes: each output element reduces one contiguous row.
std::unique_ptr<Kernel> make_reduce(KernelRequest& r, ReduceKind kind) {
  if (!simd_enabled() || r.inputs.empty() || !is_plain_f32(r.inputs[0])) return nullptr;
  if (r.outputs.size() != 1 || r.outputs[0].dtype != DType::f32) return nullptr;
  const Shape& s = r.inputs[0]->shape;
  std::vector<int64_t> axes;
  if (r.inputs.size() > 1 && r.inputs[1] != nullptr) {
    if (r.node.has_attr("axes") || r.constants[1] == nullptr) return nullptr;
    const Tensor a = cast_tensor(*r.constants[1], DType::i64);
    axes.assign(a.data<int64_t>(), a.data<int64_t>() + a.numel());
  } else {
    axes = r.node.attr_ints("axes", {});
  }
  if (axes.empty()) {
    if (r.node.attr_int("noop_with_empty_axes", 0) != 0) return nullptr;
    axes.resize(s.size());
    std::iota(axes.begin(), axes.end(), int64_t{0});
  }
  std::vector<bool> reduced(s.size(), false);
  for (int64_t a : axes) {
    size_t n = 0;
    if (!normalized_axis(a, s.size(), n) || reduced[n]) return nullptr;
    reduced[n] = true;
  }
  const size_t first = s.size() - axes.size();
  for (size_t i = first; i < s.size(); ++i)
    if (!reduced[i]) return nullptr;
  const int64_t len = product(s, first, s.size());
  if (len == 0) return nullptr;
  return std::make_unique<ReduceKernel>(r.node.op_type, kind, product(s, 0, first), len);
}

std::unique_ptr<Kernel> make_reduce_sum(KernelRequest& r) {
  return make_reduce(r, ReduceKind::sum);
}
std::unique_ptr<Kernel> make_reduce_mean(KernelRequest& r) {
  return make_reduce(r, ReduceKind::mean);
}
std::unique_ptr<Kernel> make_reduce_max(KernelRequest& r) {
  return make_reduce(r, ReduceKind::max);
}

// x as [batch, rows, cols, block] -> y as [batch, cols, rows, block].
class TransposeKernel : public Kernel {
 public:
  TransposeKernel(int64_t batch, int64_t rows, int64_t cols, int64_t block)
      : batch_(batch), rows_(rows), cols_(cols), block_(block) {}
  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const float* x = inputs[0]->data<float>();
    float* y = outputs[0].data<float>();
    const int64_t matrix = rows_ * cols_ * block_;
    parallel_for(batch_ * rows_, row_grain(cols_ * block_), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end;) {
        const int64_t b = i / rows_, r0 = i % rows_;
        const int64_t r1 = std::min(rows_, r0 + (end - i));
        const float* xb = x + b * matrix;
        float* yb = y + b * matrix;
        if (block_ == 1) {
          transpose_2d(xb, yb, rows_, cols_, r0, r1);
        } else {
          const size_t bytes = static_cast<size_t>(block_) * sizeof(float);
          for (int64_t r = r0; r < r1; ++r)
            for (int64_t c = 0; c < cols_; ++c)
              std::memcpy(yb + (c * rows_ + r) * block_, xb + (r * cols_ + c) * block_, bytes);
        }
        i += r1 - r0;
      }
    });
  }
  std::string name() const override { return kernel_name("Transpose"); }

 private:
  int64_t batch_, rows_, cols_, block_;
};

// Permutations that keep a leading run of axes (batch) and a trailing run (block) in place and
// swap the two groups in between: [0,2,1,3], [0,2,3,1], [1,0], [0,3,1,2], ...
std::unique_ptr<Kernel> make_transpose(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.size() != 1 || !is_plain_f32(r.inputs[0])) return nullptr;
  const Shape& s = r.inputs[0]->shape;
  const size_t rank = s.size();
  if (rank < 2 || rank > 4) return nullptr;
  std::vector<int64_t> perm = r.node.attr_ints("perm", {});
  if (perm.empty())
    for (size_t i = rank; i-- > 0;) perm.push_back(static_cast<int64_t>(i));
  if (perm.size() != rank) return nullptr;
  size_t lead = 0;
  while (lead < rank && perm[lead] == static_cast<int64_t>(lead)) ++lead;
  size_t tail = rank;
  while (tail > lead && perm[tail - 1] == static_cast<int64_t>(tail - 1)) --tail;
  if (lead == tail) return nullptr;  // identity: nothing worth a kernel
  // perm[lead, tail) must be [lead + k, ..., tail - 1, lead, ..., lead + k - 1] for some k.
  const int64_t k = perm[lead] - static_cast<int64_t>(lead);
  if (k <= 0) return nullptr;
  for (size_t i = lead; i < tail; ++i) {
    const int64_t rel = static_cast<int64_t>(i - lead);
    const int64_t width = static_cast<int64_t>(tail - lead);
    if (perm[i] != static_cast<int64_t>(lead) + (rel + k) % width) return nullptr;
  }
  const size_t split = lead + static_cast<size_t>(k);
  return std::make_unique<TransposeKernel>(product(s, 0, lead), product(s, lead, split),
                                           product(s, split, tail), product(s, tail, rank));
}

}  // namespace

void register_row_kernels(KernelRegistry& reg) {
  const auto add = [&](const char* op, KernelFactory f) { reg.add({"", op, "simd", f}); };
  add("Softmax", make_softmax);
  add("LogSoftmax", make_log_softmax);
  add("LayerNormalization", make_layer_norm);
  add("ReduceSum", make_reduce_sum);
  add("ReduceMean", make_reduce_mean);
  add("ReduceMax", make_reduce_max);
  add("Transpose", make_transpose);
}

}  // namespace nnaccel::simd
