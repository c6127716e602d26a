#pragma once
// Running a oneDNN int8 kernel the way the compiler does (constant qparams and weights, inputs
// plain or channels-last, a reader that makes the output channels-last) and comparing it with
// the op's reference kernel: exact, or within 1 LSB on a bounded share of elements.
#include <gtest/gtest.h>

#include <random>

#include "kernels/dnnl/dnnl_int8.hpp"
#include "kernels/kernel.hpp"
#include "ops/op_test_util.hpp"

// The int8 kernels decline on a CPU (or an ONEDNN_MAX_CPU_ISA cap) without VNNI, where oneDNN's
// u8 x s8 products can saturate; tests of their results skip there (DeclinesWithoutVnni checks
// that they do decline).
#define NNACCEL_SKIP_WITHOUT_EXACT_INT8()                                           \
  if (!::nnaccel::dnnl_kernels::cpu_has_exact_int8())                               \
  GTEST_SKIP() << "this CPU (or the oneDNN ISA cap) lacks AVX-512 VNNI: the int8 " \
                  "kernels decline and the reference kernels run"

namespace nnaccel::testing {

inline Tensor random_ints(DType dt, const Shape& shape, uint32_t seed, int lo, int hi) {
  Tensor t(dt, shape);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int v = d(rng);
    if (dt == DType::u8) t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
    if (dt == DType::i8) t.data<int8_t>()[i] = static_cast<int8_t>(v);
    if (dt == DType::i32) t.data<int32_t>()[i] = v;
  }
  return t;
}
// The full range of a u8 / i8 tensor.
inline Tensor random_q(DType dt, const Shape& shape, uint32_t seed) {
  return dt == DType::u8 ? random_ints(dt, shape, seed, 0, 255)
                         : random_ints(dt, shape, seed, -128, 127);
}
inline Tensor q_scalar(DType dt, int v) {
  Tensor t(dt, {});
  if (dt == DType::u8) t.data<uint8_t>()[0] = static_cast<uint8_t>(v);
  if (dt == DType::i8) t.data<int8_t>()[0] = static_cast<int8_t>(v);
  if (dt == DType::i32) t.data<int32_t>()[0] = v;
  return t;
}

// [N, C, S...] <-> channels-last [N, 1, S..., C] (kernel.hpp's block == C), any element size.
inline Tensor channels_last_copy(const Tensor& t, bool to_channels_last) {
  const Shape& s = t.shape();  // logical shape when converting to, physical when from
  const int64_t n = s[0];
  const int64_t c = to_channels_last ? s[1] : s.back();
  const int64_t sp = t.numel() / (n * c);
  Shape out_shape;
  if (to_channels_last) {
    out_shape = {n, 1};
    out_shape.insert(out_shape.end(), s.begin() + 2, s.end());
    out_shape.push_back(c);
  } else {
    out_shape = {n, c};
    out_shape.insert(out_shape.end(), s.begin() + 2, s.end() - 1);
  }
  Tensor out(t.dtype(), out_shape);
  const size_t e = t.nbytes() / static_cast<size_t>(t.numel());
  const char* src = static_cast<const char*>(t.raw());
  char* dst = static_cast<char*>(out.raw());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < sp; ++i) {
        const int64_t planar = (b * c + ch) * sp + i, last = (b * sp + i) * c + ch;
        const int64_t from = to_channels_last ? planar : last,
                      to = to_channels_last ? last : planar;
        std::memcpy(dst + to * static_cast<int64_t>(e), src + from * static_cast<int64_t>(e), e);
      }
  return out;
}

struct Int8Run {
  std::unique_ptr<Kernel> kernel;  // null when the factory declined
  ValueDesc out;                   // the layout it chose
  Tensor plain;                    // its output in plain layout
};

// Offers `node` to its dnnl factory with every input but those in `runtime` constant;
// `channels_last[i]`: input i arrives channels-last. With `reader` set, a QConv reads the
// output (so the kernel may write it channels-last); else the output is a graph output.
inline Int8Run run_int8_dnnl(Node node, const std::vector<Tensor>& in, const Shape& out_shape,
                             DType out_dtype, const std::vector<int>& runtime,
                             const std::vector<bool>& channels_last = {}, bool reader = false) {
  Graph g;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].defined()) {
      node.inputs[i].clear();
    } else if (std::find(runtime.begin(), runtime.end(), static_cast<int>(i)) == runtime.end()) {
      g.initializers[node.inputs[i]] = in[i];
    }
  }
  g.nodes.push_back(node);
  if (reader) {
    Node q = make_node("QConv", 9, 1);
    q.domain = "ai.nnaccel";
    q.inputs[0] = node.outputs[0];
    q.outputs = {"reader_out"};
    g.nodes.push_back(q);
    g.outputs.push_back(ValueInfo{"reader_out", TypeInfo::of(out_dtype, out_shape), ""});
  } else {
    g.outputs.push_back(ValueInfo{node.outputs[0], TypeInfo::of(out_dtype, out_shape), ""});
  }
  std::vector<ValueDesc> descs(in.size());
  std::vector<const ValueDesc*> in_ptrs;
  std::vector<const Tensor*> consts;
  for (size_t i = 0; i < in.size(); ++i) {
    const bool cl = i < channels_last.size() && channels_last[i];
    descs[i] = ValueDesc{in[i].dtype(), in[i].shape(), true, cl ? in[i].dim(1) : 0};
    in_ptrs.push_back(in[i].defined() ? &descs[i] : nullptr);
    consts.push_back(in[i].defined() && g.initializers.count(node.inputs[i])
                         ? &g.initializers.at(node.inputs[i])
                         : nullptr);
  }
  CompileOptions options;
  KernelRequest req{g.nodes[0], g, in_ptrs, consts, {ValueDesc{out_dtype, out_shape}}, options};
  Int8Run run;
  for (const KernelEntry* e : KernelRegistry::instance().find(node.domain, node.op_type))
    if (e->variant == "dnnl") run.kernel = e->make(req);
  if (run.kernel == nullptr) return run;
  run.out = req.outputs[0];
  std::vector<Tensor> physical(in.size());
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < in.size(); ++i) {
    physical[i] = descs[i].block ? channels_last_copy(in[i], true) : in[i];
    ins.push_back(in[i].defined() ? &physical[i] : nullptr);
  }
  std::vector<Tensor> outs = {Tensor(out_dtype, run.out.physical_shape())};
  std::memset(outs[0].raw(), 0x5a, outs[0].nbytes());  // garbage: every element must be written
  run.kernel->run(ins, outs);
  if (run.out.plain()) {
    run.plain = outs[0];
  } else {
    EXPECT_EQ(run.out.block, out_shape[1]) << "only channels-last is expected";
    run.plain = channels_last_copy(outs[0], false);
  }
  return run;
}

// Integer outputs: no element off by 2 or more, at most `share` of them off by one. Float
// outputs: relative tolerance 1e-5.
inline void expect_within_one_lsb(const Tensor& got, const Tensor& want, double share,
                                  const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  if (got.dtype() == DType::f32) {
    for (int64_t i = 0; i < got.numel(); ++i)
      ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i],
                  1e-5 * (1.0 + std::abs(want.data<float>()[i])))
          << what << " element " << i;
    return;
  }
  int64_t off1 = 0, off2 = 0, first_bad = -1;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const int64_t d = std::abs(got.at_i64(i) - want.at_i64(i));
    off1 += d == 1;
    if (d >= 2 && off2++ == 0) first_bad = i;
  }
  EXPECT_EQ(off2, 0) << what << ": first at " << first_bad << " got " << got.at_i64(first_bad)
                     << " want " << want.at_i64(first_bad);
  EXPECT_LE(static_cast<double>(off1), share * static_cast<double>(got.numel()))
      << what << ": " << off1 << " of " << got.numel() << " off by one";
}

// The share of elements of a u8/i8 tensor at its type's limits (the data should exercise the
// range, not the clamps).
inline double saturated_share(const Tensor& t) {
  int64_t n = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t v = t.at_i64(i);
    n += t.dtype() == DType::u8 ? (v == 0 || v == 255) : (v == -128 || v == 127);
  }
  return static_cast<double>(n) / static_cast<double>(t.numel());
}

}  // namespace nnaccel::testing
