#include <algorithm>
#include <climits>
#include <cstring>

#include "core/parallel.hpp"
#include "kernels/data/data_kernels.hpp"

namespace nnaccel {

namespace {

// Output element (i0, ..., ik) reads input element (start0 + i0*step0, ...): a strided copy,
// with the innermost axis copied as one run when its step is 1.
class SliceKernel final : public Kernel {
 public:
  SliceKernel(Shape in, Shape out, std::vector<int64_t> start, std::vector<int64_t> step,
              int64_t elem)
      : in_(std::move(in)), out_(std::move(out)), start_(std::move(start)),
        step_(std::move(step)), elem_(elem) {
    const size_t r = in_.size();
    in_stride_.assign(r, 1);
    for (size_t d = r - 1; d-- > 0;) in_stride_[d] = in_stride_[d + 1] * in_[d + 1];
    rows_ = 1;
    for (size_t d = 0; d + 1 < r; ++d) rows_ *= out_[d];
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const char* src = static_cast<const char*>(inputs[0]->raw());
    char* dst = static_cast<char*>(outputs[0].raw());
    const size_t r = in_.size();
    const int64_t len = out_[r - 1];
    const int64_t last_step = step_[r - 1];
    const int64_t e = elem_;
    parallel_for(rows_, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, len)),
                 [&](int64_t begin, int64_t end) {
      std::vector<int64_t> idx(r, 0);
      for (int64_t row = begin; row < end; ++row) {
        int64_t rem = row, offset = 0;
        for (size_t d = r - 1; d-- > 0;) {
          int64_t i = rem % out_[d];
          rem /= out_[d];
          offset += (start_[d] + i * step_[d]) * in_stride_[d];
        }
        offset += start_[r - 1];
        const char* s = src + offset * e;
        char* t = dst + row * len * e;
        if (last_step == 1) {
          std::memcpy(t, s, static_cast<size_t>(len * e));
        } else {
          for (int64_t i = 0; i < len; ++i)
            std::memcpy(t + i * e, s + i * last_step * e, static_cast<size_t>(e));
        }
      }
    });
  }
  std::string name() const override { return "data slice"; }

 private:
  Shape in_, out_;
  std::vector<int64_t> start_, step_, in_stride_;
  int64_t elem_;
  int64_t rows_ = 1;
};

std::vector<int64_t> ints_of(const Tensor* t) { return t ? t->to_i64_vector() : std::vector<int64_t>{}; }

}  // namespace

std::unique_ptr<Kernel> make_slice_kernel(KernelRequest& req) {
  if (req.inputs.size() < 3 || req.outputs.size() != 1) return nullptr;
  const ValueDesc* x = req.inputs[0];
  if (x == nullptr || !x->plain() || !x->known || !req.outputs[0].known) return nullptr;
  if (x->shape.empty() || dtype_bits(x->dtype) % 8 != 0) return nullptr;
  for (size_t i = 1; i < req.inputs.size(); ++i)
    if (req.inputs[i] != nullptr && req.constants[i] == nullptr) return nullptr;
  const Shape& in = x->shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> starts = ints_of(req.constants[1]), ends = ints_of(req.constants[2]);
  std::vector<int64_t> axes = req.inputs.size() > 3 ? ints_of(req.constants[3]) : std::vector<int64_t>{};
  std::vector<int64_t> steps = req.inputs.size() > 4 ? ints_of(req.constants[4]) : std::vector<int64_t>{};
  if (axes.empty())
    for (int64_t i = 0; i < static_cast<int64_t>(starts.size()); ++i) axes.push_back(i);
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return nullptr;
  std::vector<int64_t> start(in.size(), 0), step(in.size(), 1);
  Shape out = in;
  for (size_t k = 0; k < axes.size(); ++k) {
    int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
    if (a < 0 || a >= rank || steps[k] == 0) return nullptr;
    const int64_t dim = in[static_cast<size_t>(a)];
    int64_t s = starts[k], e = ends[k];
    if (s < 0) s += dim;
    if (e < 0 && e > INT64_MIN / 2) e += dim;
    if (steps[k] > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      out[static_cast<size_t>(a)] = e > s ? (e - s + steps[k] - 1) / steps[k] : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      out[static_cast<size_t>(a)] = s > e ? (s - e - steps[k] - 1) / (-steps[k]) : 0;
    }
    start[static_cast<size_t>(a)] = s;
    step[static_cast<size_t>(a)] = steps[k];
  }
  // The shape function is the referee: any disagreement leaves the node to the reference.
  if (out != req.outputs[0].shape || shape_numel(out) == 0) return nullptr;
  return std::make_unique<SliceKernel>(in, out, start, step, dtype_bits(x->dtype) / 8);
}

}  // namespace nnaccel
