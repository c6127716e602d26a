// Split (transformers split fused QKV projections) as runs of memcpy over contiguous blocks,
// spread over threads. Plain layouts; f32, i32 and i64 (no quantized types: their parameters
// would not follow the bytes). Concat and Slice are the data family's (src/kernels/data).
#include <cstring>

#include "core/parallel.hpp"
#include "kernels/simd/simd_common.hpp"
#include "kernels/simd/simd_registration.hpp"

namespace nnaccel::simd {

namespace {

bool copyable(const ValueDesc* v) {
  return v != nullptr && v->known && v->plain() &&
         (v->dtype == DType::f32 || v->dtype == DType::i32 || v->dtype == DType::i64);
}

// For each of `outer` rows of the input, output i is one contiguous run of part_bytes_[i].
class SplitKernel : public Kernel {
 public:
  SplitKernel(int64_t outer, std::vector<int64_t> part_bytes)
      : outer_(outer), part_bytes_(std::move(part_bytes)) {
    for (int64_t b : part_bytes_) row_bytes_ += b;
  }
  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const char* x = static_cast<const char*>(inputs[0]->raw());
    const int64_t grain =
        std::max<int64_t>(1, kParallelGrain * 4 / std::max<int64_t>(1, row_bytes_));
    parallel_for(outer_, grain, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const char* row = x + o * row_bytes_;
        for (size_t i = 0; i < part_bytes_.size(); ++i) {
          const int64_t n = part_bytes_[i];
          if (n == 0) continue;  // an empty part may have no storage at all
          std::memcpy(static_cast<char*>(outputs[i].raw()) + o * n, row, static_cast<size_t>(n));
          row += n;
        }
      }
    });
  }
  std::string name() const override { return kernel_name("Split"); }

 private:
  int64_t outer_;
  std::vector<int64_t> part_bytes_;
  int64_t row_bytes_ = 0;
};

// The outputs' shapes (from shape inference) say where the cuts are: they equal the input's
// except along the axis, where they add up to it.
std::unique_ptr<Kernel> make_split(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.empty() || !copyable(r.inputs[0])) return nullptr;
  const Shape& s = r.inputs[0]->shape;
  const auto rank = static_cast<int64_t>(s.size());
  int64_t axis = r.node.attr_int("axis", 0);
  if (axis < -rank || axis >= rank || shape_numel(s) == 0) return nullptr;
  const auto a = static_cast<size_t>(axis < 0 ? axis + rank : axis);
  int64_t inner = dtype_bits(r.inputs[0]->dtype) / 8, outer = 1, total = 0;
  for (size_t d = a + 1; d < s.size(); ++d) inner *= s[d];
  for (size_t d = 0; d < a; ++d) outer *= s[d];
  std::vector<int64_t> bytes;
  for (size_t o = 0; o < r.outputs.size(); ++o) {
    const ValueDesc& p = r.outputs[o];
    if (r.node.outputs[o].empty() || !copyable(&p) || p.dtype != r.inputs[0]->dtype ||
        p.shape.size() != s.size())
      return nullptr;
    for (size_t d = 0; d < s.size(); ++d)
      if (d != a && p.shape[d] != s[d]) return nullptr;
    total += p.shape[a];
    bytes.push_back(p.shape[a] * inner);
  }
  if (total != s[a]) return nullptr;
  return std::make_unique<SplitKernel>(outer, std::move(bytes));
}

}  // namespace

void register_split_kernel(KernelRegistry& reg) { reg.add({"", "Split", "simd", make_split}); }

}  // namespace nnaccel::simd
