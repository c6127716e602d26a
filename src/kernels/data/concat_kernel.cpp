#include <algorithm>
#include <climits>
#include <cstring>

#include "core/parallel.hpp"
#include "kernels/data/data_kernels.hpp"

namespace nnaccel {

namespace {

class ConcatKernel final : public Kernel {
 public:
  ConcatKernel(std::vector<int64_t> chunk_bytes, int64_t outer, bool blocked)
      : chunk_bytes_(std::move(chunk_bytes)), outer_(outer), blocked_(blocked) {
    for (int64_t c : chunk_bytes_) row_bytes_ += c;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    char* dst = static_cast<char*>(outputs[0].raw());
    // Rows in parallel when the copy is large enough to pay for the threads.
    parallel_for(outer_, std::max<int64_t>(1, kParallelBytes / std::max<int64_t>(1, row_bytes_)),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t o = begin; o < end; ++o) {
                     char* row = dst + o * row_bytes_;
                     for (size_t i = 0; i < chunk_bytes_.size(); ++i) {
                       const char* src = static_cast<const char*>(inputs[i]->raw());
                       std::memcpy(row, src + o * chunk_bytes_[i],
                                   static_cast<size_t>(chunk_bytes_[i]));
                       row += chunk_bytes_[i];
                     }
                   }
                 });
  }
  std::string name() const override { return blocked_ ? "data concat (blocked)" : "data concat"; }

 private:
  std::vector<int64_t> chunk_bytes_;
  int64_t outer_;
  bool blocked_;
  int64_t row_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_concat_kernel(KernelRequest& req) {
  if (req.inputs.empty() || req.outputs.size() != 1 || !req.outputs[0].known) return nullptr;
  const ValueDesc* first = req.inputs[0];
  if (first == nullptr || !first->known) return nullptr;
  const int64_t rank = static_cast<int64_t>(first->shape.size());
  int64_t axis = req.node.attr_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return nullptr;
  const int64_t block = first->block;
  for (const ValueDesc* in : req.inputs) {
    if (in == nullptr || !in->known || in->dtype != first->dtype || in->block != block)
      return nullptr;
    if (dtype_bits(in->dtype) % 8 != 0) return nullptr;
    if (block != 0 && (axis != 1 || in->shape[1] % block != 0)) return nullptr;
  }
  const int64_t elem = dtype_bits(first->dtype) / 8;
  // On physical shapes: a blocked concat on channels is a concat on the channel-block axis.
  int64_t outer = 1;
  Shape p0 = first->physical_shape();
  for (int64_t d = 0; d < axis; ++d) outer *= p0[static_cast<size_t>(d)];
  std::vector<int64_t> chunks;
  for (const ValueDesc* in : req.inputs) {
    Shape p = in->physical_shape();
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(axis); d < p.size(); ++d) inner *= p[d];
    chunks.push_back(inner * elem);
  }
  if (block != 0) req.outputs[0].block = block;
  return std::make_unique<ConcatKernel>(std::move(chunks), outer, block != 0);
}

}  // namespace nnaccel
