// Data-movement kernels that the transformer graphs run often: Concat, Split and Slice (step 1)
// as runs of memcpy over contiguous blocks, split across threads. Plain layouts; f32, i32 and
// i64 (no quantized types: their parameters would not follow the bytes).
#include <cstring>

#include "core/cast.hpp"
#include "core/parallel.hpp"
#include "kernels/simd/elementwise_kernels.hpp"
#include "kernels/simd/simd_common.hpp"

namespace nnaccel::simd {

namespace {

bool copyable(const ValueDesc* v) {
  return v != nullptr && v->known && v->plain() &&
         (v->dtype == DType::f32 || v->dtype == DType::i32 || v->dtype == DType::i64);
}

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= s[i];
  return p;
}

bool axis_of(int64_t axis, size_t rank, size_t& out) {
  const auto r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) return false;
  out = static_cast<size_t>(axis < 0 ? axis + r : axis);
  return true;
}

// Concat (parts are the inputs, whole the output) and Split (the reverse) along one axis: for
// each of `outer` rows, part i is one contiguous run of bytes_[i] inside the whole's row.
class ConcatSplitKernel : public Kernel {
 public:
  ConcatSplitKernel(bool split, int64_t outer, std::vector<int64_t> part_bytes)
      : split_(split), outer_(outer), part_bytes_(std::move(part_bytes)) {
    for (int64_t b : part_bytes_) row_bytes_ += b;
  }
  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const size_t parts = part_bytes_.size();
    std::vector<char*> part(parts);
    char* whole = nullptr;
    for (size_t i = 0; i < parts; ++i)
      part[i] = split_ ? static_cast<char*>(outputs[i].raw())
                       : const_cast<char*>(static_cast<const char*>(inputs[i]->raw()));
    whole = split_ ? const_cast<char*>(static_cast<const char*>(inputs[0]->raw()))
                   : static_cast<char*>(outputs[0].raw());
    const int64_t grain =
        std::max<int64_t>(1, (kParallelGrain * 4) / std::max<int64_t>(1, row_bytes_));
    parallel_for(outer_, grain, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        char* row = whole + o * row_bytes_;
        for (size_t i = 0; i < parts; ++i) {
          const int64_t n = part_bytes_[i];
          if (n == 0) continue;  // an empty part may have no storage at all
          char* p = part[i] + o * n;
          if (split_) {
            std::memcpy(p, row, static_cast<size_t>(n));
          } else {
            std::memcpy(row, p, static_cast<size_t>(n));
          }
          row += n;
        }
      }
    });
  }
  std::string name() const override { return kernel_name(split_ ? "Split" : "Concat"); }

 private:
  bool split_;
  int64_t outer_;
  std::vector<int64_t> part_bytes_;
  int64_t row_bytes_ = 0;
};

// Parts' shapes equal the whole's except along `axis`, where they add up to it.
std::unique_ptr<Kernel> make_concat_split(const std::vector<const ValueDesc*>& parts,
                                          const ValueDesc& whole, int64_t axis_attr, bool split) {
  if (!copyable(&whole) || parts.empty()) return nullptr;
  size_t axis = 0;
  if (!axis_of(axis_attr, whole.shape.size(), axis)) return nullptr;
  const int64_t inner = product(whole.shape, axis + 1, whole.shape.size());
  const int64_t elem = dtype_bits(whole.dtype) / 8;
  std::vector<int64_t> bytes;
  int64_t total = 0;
  for (const ValueDesc* p : parts) {
    if (!copyable(p) || p->dtype != whole.dtype || p->shape.size() != whole.shape.size())
      return nullptr;
    for (size_t d = 0; d < whole.shape.size(); ++d)
      if (d != axis && p->shape[d] != whole.shape[d]) return nullptr;
    total += p->shape[axis];
    bytes.push_back(p->shape[axis] * inner * elem);
  }
  if (total != whole.shape[axis] || shape_numel(whole.shape) == 0) return nullptr;
  return std::make_unique<ConcatSplitKernel>(split, product(whole.shape, 0, axis),
                                             std::move(bytes));
}

std::unique_ptr<Kernel> make_concat(KernelRequest& r) {
  if (!simd_enabled() || r.outputs.size() != 1 || r.inputs.empty()) return nullptr;
  return make_concat_split(r.inputs, r.outputs[0], r.node.attr_int("axis", 0), false);
}

std::unique_ptr<Kernel> make_split(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.empty() || r.inputs[0] == nullptr) return nullptr;
  std::vector<const ValueDesc*> parts;
  for (size_t o = 0; o < r.outputs.size(); ++o) {
    if (r.node.outputs[o].empty()) return nullptr;
    parts.push_back(&r.outputs[o]);
  }
  return make_concat_split(parts, *r.inputs[0], r.node.attr_int("axis", 0), true);
}

// Slice with unit steps: the output is a box of the input; its innermost rows are memcpy'd.
class SliceKernel : public Kernel {
 public:
  SliceKernel(Shape in, Shape out, std::vector<int64_t> start, int64_t elem)
      : in_(std::move(in)), out_(std::move(out)), start_(std::move(start)), elem_(elem) {}
  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const char* x = static_cast<const char*>(inputs[0]->raw());
    char* y = static_cast<char*>(outputs[0].raw());
    const size_t rank = out_.size();
    const int64_t row = out_[rank - 1];
    const int64_t rows = shape_numel(out_) / row;
    const size_t row_bytes = static_cast<size_t>(row * elem_);
    parallel_for(rows, std::max<int64_t>(1, kParallelGrain / row), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        // Input offset of output row i: its index digits shifted by the starts.
        int64_t rem = i, offset = start_[rank - 1], stride = in_[rank - 1];
        for (size_t d = rank - 1; d-- > 0;) {
          offset += (rem % out_[d] + start_[d]) * stride;
          rem /= out_[d];
          stride *= in_[d];
        }
        std::memcpy(y + i * row * elem_, x + offset * elem_, row_bytes);
      }
    });
  }
  std::string name() const override { return kernel_name("Slice"); }

 private:
  Shape in_, out_;
  std::vector<int64_t> start_;
  int64_t elem_;
};

std::unique_ptr<Kernel> make_slice(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.size() < 3 || r.outputs.size() != 1) return nullptr;
  const ValueDesc* x = r.inputs[0];
  if (!copyable(x) || !copyable(&r.outputs[0]) || x->shape.empty()) return nullptr;
  auto ints = [&](size_t i, std::vector<int64_t>& out) {
    if (i >= r.inputs.size() || r.inputs[i] == nullptr) return true;  // absent
    if (r.constants[i] == nullptr) return false;
    out = cast_tensor(*r.constants[i], DType::i64).to_i64_vector();
    return true;
  };
  std::vector<int64_t> starts, ends, axes, steps;
  if (!ints(1, starts) || !ints(2, ends) || !ints(3, axes) || !ints(4, steps)) return nullptr;
  if (starts.size() != ends.size()) return nullptr;
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (axes.size() != starts.size() || (!steps.empty() && steps.size() != starts.size()))
    return nullptr;
  const Shape& s = x->shape;
  std::vector<int64_t> begin(s.size(), 0);
  Shape out = s;
  std::vector<bool> seen(s.size(), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = 0;
    if (!axis_of(axes[i], s.size(), a) || seen[a]) return nullptr;
    seen[a] = true;
    if (!steps.empty() && steps[i] != 1) return nullptr;
    const int64_t dim = s[a];
    auto clamp = [&](int64_t v) {
      if (v < 0) v += dim;
      return std::min(std::max<int64_t>(v, 0), dim);
    };
    begin[a] = clamp(starts[i]);
    out[a] = std::max<int64_t>(0, clamp(ends[i]) - begin[a]);
  }
  // The shape inference agrees, or something is off: leave it to the reference.
  if (out != r.outputs[0].shape || shape_numel(out) == 0) return nullptr;
  return std::make_unique<SliceKernel>(s, out, std::move(begin), dtype_bits(x->dtype) / 8);
}

}  // namespace

void register_copy_kernels(KernelRegistry& reg) {
  reg.add({"", "Concat", "simd", make_concat});
  reg.add({"", "Split", "simd", make_split});
  reg.add({"", "Slice", "simd", make_slice});
}

}  // namespace nnaccel::simd
