#pragma once
// What the oneDNN-backed kernels share: the process's one engine and stream, the channel block
// of this CPU, memory descriptors for nnaccel's layouts, fused activations as post-ops, and the
// layout decision for an output (blocked only when every reader takes blocked values).
#include <cstdint>
#include <dnnl.hpp>
#include <string>
#include <vector>

#include "kernels/kernel.hpp"
#include "ops/fused_activation.hpp"

namespace nnaccel::dnnl_kernels {

// One CPU engine and one stream per process (oneDNN's OpenMP runtime makes the stream usable
// from any thread; the executor runs one node at a time).
dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

// 16 on AVX-512, 8 on AVX2, 0 below (the ISA oneDNN actually uses, after ONEDNN_MAX_CPU_ISA).
int64_t channel_block();
// True when oneDNN runs bf16 convolutions and matmuls natively here (avx512_core_bf16 or above).
bool cpu_has_bf16();

using Dims = dnnl::memory::dims;

inline Dims dims_of(const Shape& s) { return Dims(s.begin(), s.end()); }

// Row-major descriptor of `shape`.
dnnl::memory::desc plain_desc(const Shape& shape, dnnl::memory::data_type dt);
// nCw{b}c / nChw{b}c / nCdhw{b}c for the logical `shape` (rank 3 to 5, b = 8 or 16; b = C is
// channels-last, kernel.hpp).
dnnl::memory::desc blocked_desc(const Shape& shape, int64_t block, dnnl::memory::data_type dt);
// The descriptor of a value as nnaccel lays it out (f32, or bf16 between bf16 convolutions).
dnnl::memory::desc desc_of(const ValueDesc& v);

// Appends the activation as eltwise post-ops; false when oneDNN has no equivalent.
bool append_activation(dnnl::post_ops& ops, const FusedActivation& a);
// The fused activation of an ai.nnaccel Fused* node, none for the plain ONNX ops.
FusedActivation activation_of(const Node& node);

// True when every reader of output `output` takes a channel-blocked value and the value is
// not a graph output, so the producer may write it blocked.
bool consumers_take_blocked(const KernelRequest& request, int output);

// True when the plan computes convolutions in bf16 and every reader of output `output` is a
// convolution the dnnl kernel runs reading it as its input or residual (or a MaxPool whose readers
// all are), not a graph output nor read inside a subgraph: the producer may then write it in bf16,
// which halves its bytes and spares each reader its f32 -> bf16 conversion.
bool consumers_take_bf16(const KernelRequest& request, int output);

// Bytes of a descriptor rounded up to whole floats, as a Tensor to own.
Tensor buffer_for(const dnnl::memory::desc& md);

// "jit:avx512_core" etc.
std::string impl_name(const dnnl::primitive_desc_base& pd);
bool is_reference_impl(const dnnl::primitive_desc_base& pd);

// A run-time input the primitive wants in another descriptor (plain to blocked, f32 to bf16):
// reorders it into a buffer the kernel owns; otherwise passes the caller's memory through.
class InputAdapter {
 public:
  InputAdapter() = default;
  InputAdapter(const dnnl::memory::desc& given, const dnnl::memory::desc& wanted);
  // The memory to pass to the primitive for data at `ptr` (laid out as `given`).
  dnnl::memory& bind(const void* ptr);
  // The memory bind() returns, for argument maps built once (dnnl::memory copies share the one
  // object whose data handle bind() sets).
  const dnnl::memory& target() const { return reorder_ != nullptr ? wanted_ : given_; }
  bool reorders() const { return reorder_ != nullptr; }

 private:
  dnnl::memory given_, wanted_;
  Tensor buffer_;
  std::unique_ptr<dnnl::reorder> reorder_;
};

// Reorders a constant into the descriptor the primitive chose, into a tensor the kernel owns,
// shared with the plan's other readers of `t` that want the same (r.packed).
Tensor reorder_constant(const KernelRequest& r, const Tensor& t, const dnnl::memory::desc& given,
                        const dnnl::memory::desc& wanted);

// Sets the thread count of the runs while a factory creates primitives: oneDNN fixes a
// primitive's work split for the thread count at creation, and a primitive made for 2 threads
// and run on 1 ran ~10x slower here (it still starts a 2-thread team).
class CreationThreads {
 public:
  explicit CreationThreads(const CompileOptions& options);
  ~CreationThreads();
  CreationThreads(const CreationThreads&) = delete;
  CreationThreads& operator=(const CreationThreads&) = delete;

 private:
  int saved_;
};

// Primitive attributes every kernel starts from: user-owned scratchpad.
dnnl::primitive_attr base_attr();

}  // namespace nnaccel::dnnl_kernels
