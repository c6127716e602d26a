#include "runtime/builtin_kernels.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/check.hpp"
#include "core/parallel.hpp"
#include "runtime/executor.hpp"

namespace nnaccel {

namespace {

// Whether t's bytes overlap any input's.
class ReferenceKernel final : public Kernel {
 public:
  ReferenceKernel(const Node& node, const OpSchema& schema, std::vector<std::string> outer_names,
                  Executor* subgraphs)
      : node_(node), schema_(schema), outer_names_(std::move(outer_names)),
        subgraphs_(subgraphs) {}

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    size_t own = node_.inputs.size();
    std::vector<const Tensor*> ins(inputs.begin(), inputs.begin() + static_cast<ptrdiff_t>(own));
    SubgraphRunner runner = [&](const Graph& body, const std::vector<Tensor>& in) {
      Scope scope;
      for (size_t k = 0; k < outer_names_.size(); ++k)
        if (inputs[own + k] != nullptr) scope.set(outer_names_[k], *inputs[own + k]);
      return subgraphs_->run_graph(body, in, &scope);
    };
    OpContext ctx(node_, std::move(ins), &runner);
    schema_.run(ctx);
    for (size_t o = 0; o < outputs.size(); ++o) {
      if (!ctx.has_output(static_cast<int>(o))) continue;
      if (!ctx.outputs[o].defined())
        fail("{}: output '{}' was not produced", node_.describe(), node_.outputs[o]);
      outputs[o] = std::move(ctx.outputs[o]);
      // Reference kernels may return their input's storage (a same-type Cast, a Reshape); the
      // plan sees a new value and frees the input's arena buffer after this step, so the bytes
      // must be the output's own.
      if (shares_input_bytes(outputs[o], inputs)) outputs[o] = outputs[o].clone();
    }
  }
  std::string name() const override { return "reference"; }

 private:
  const Node& node_;
  const OpSchema& schema_;
  std::vector<std::string> outer_names_;
  Executor* subgraphs_;
};

// Plain [N, C, S...] <-> blocked [N, ceil(C/b), S..., b] (b channels innermost, zero padded).
class ReorderKernel final : public Kernel {
 public:
  ReorderKernel(const ValueDesc& src, const ValueDesc& dst) : src_(src), dst_(dst) {
    const ValueDesc& blocked = src.plain() ? dst : src;
    block_ = blocked.block;
    n_ = blocked.shape[0];
    c_ = blocked.shape[1];
    spatial_ = 1;
    for (size_t i = 2; i < blocked.shape.size(); ++i) spatial_ *= blocked.shape[i];
    NNA_CHECK(dtype_bits(blocked.dtype) % 8 == 0, "blocked layout of a sub-byte dtype");
    elem_ = dtype_bits(blocked.dtype) / 8;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const char* src = static_cast<const char*>(inputs[0]->raw());
    char* dst = static_cast<char*>(outputs[0].raw());
    const int64_t cb = (c_ + block_ - 1) / block_;
    const bool to_blocked = src_.plain();
    if (to_blocked) std::memset(dst, 0, outputs[0].nbytes());
    const int64_t b = block_, sp = spatial_, c = c_, e = elem_;
    // One task per (n, channel block): each writes a disjoint region.
    parallel_for(n_ * cb, std::max<int64_t>(1, (int64_t{1} << 18) / std::max<int64_t>(1, sp * b)),
                 [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        int64_t n = t / cb, blk = t % cb;
        int64_t channels = std::min(b, c - blk * b);
        for (int64_t k = 0; k < channels; ++k) {
          int64_t ch = blk * b + k;
          const int64_t plain_base = (n * c + ch) * sp;
          const int64_t blocked_base = (n * cb + blk) * sp * b + k;
          // Typed copies for f32 and the int8 types (u8/i8 values are channel-blocked or
          // channels-last, block == C, between the int8 kernels); memcpy per element otherwise.
          auto copy = [&](auto* type_tag) {
            using T = std::remove_pointer_t<decltype(type_tag)>;
            if (to_blocked) {
              const T* s = reinterpret_cast<const T*>(src) + plain_base;
              T* d = reinterpret_cast<T*>(dst) + blocked_base;
              for (int64_t i = 0; i < sp; ++i) d[i * b] = s[i];
            } else {
              const T* s = reinterpret_cast<const T*>(src) + blocked_base;
              T* d = reinterpret_cast<T*>(dst) + plain_base;
              for (int64_t i = 0; i < sp; ++i) d[i] = s[i * b];
            }
          };
          if (e == 4) {
            copy(static_cast<uint32_t*>(nullptr));
          } else if (e == 1) {
            copy(static_cast<uint8_t*>(nullptr));
          } else {
            for (int64_t i = 0; i < sp; ++i) {
              int64_t pi = plain_base + i, bi = blocked_base + i * b;
              if (to_blocked) std::memcpy(dst + bi * e, src + pi * e, static_cast<size_t>(e));
              else std::memcpy(dst + pi * e, src + bi * e, static_cast<size_t>(e));
            }
          }
        }
      }
    });
  }
  std::string name() const override {
    return src_.plain() ? fmt::format("reorder plain->blocked{}", dst_.block)
                        : fmt::format("reorder blocked{}->plain", src_.block);
  }

 private:
  ValueDesc src_, dst_;
  int64_t block_ = 0, n_ = 0, c_ = 0, spatial_ = 0, elem_ = 4;
};

}  // namespace

bool shares_input_bytes(const Tensor& t, std::span<const Tensor* const> inputs) {
  const char* begin = static_cast<const char*>(t.raw());
  if (begin == nullptr || t.nbytes() == 0) return false;
  for (const Tensor* in : inputs) {
    if (in == nullptr || in->raw() == nullptr) continue;
    const char* b = static_cast<const char*>(in->raw());
    if (begin < b + in->nbytes() && b < begin + t.nbytes()) return true;
  }
  return false;
}

std::unique_ptr<Kernel> make_reference_kernel(const Node& node, const OpSchema& schema,
                                              std::vector<std::string> outer_names,
                                              Executor* subgraphs) {
  return std::make_unique<ReferenceKernel>(node, schema, std::move(outer_names), subgraphs);
}

std::unique_ptr<Kernel> make_reorder_kernel(const ValueDesc& src, const ValueDesc& dst) {
  NNA_CHECK(src.plain() != dst.plain() && src.shape == dst.shape && src.dtype == dst.dtype,
            "reorder between {} and {}: not a plain/blocked pair", shape_str(src.shape),
            shape_str(dst.shape));
  return std::make_unique<ReorderKernel>(src, dst);
}

}  // namespace nnaccel
