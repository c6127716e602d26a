// MatMul, Gemm and their ai.nnaccel fused forms on oneDNN's matmul primitive: batched with
// broadcast batch dims, a constant B packed once into the primitive's format, a run-time B
// (attention's QK^T and PV) read as it is; bias, Gemm's C and the activation fused as post-ops.
#include <optional>

#include "kernels/dnnl/dnnl_common.hpp"
#include "kernels/dnnl/dnnl_factories.hpp"

namespace nnaccel::dnnl_kernels {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// An operand of the primitive: a packed constant the kernel owns, or a run-time input.
struct Operand {
  int input = -1;
  Tensor owned;  // defined for constants
  dnnl::memory::desc given, wanted;
};

struct MatmulParts {
  Operand a, b, bias, addend;  // addend: Gemm's C as a binary-add post-op
  dnnl::memory::desc dst;
  dnnl::primitive_attr attr;
  std::string what;
};

class MatmulKernel : public Kernel {
 public:
  MatmulKernel(MatmulParts p, const dnnl::matmul::primitive_desc& pd)
      : p_(std::move(p)), prim_(pd), a_(p_.a.given, pd.src_desc()) {
    auto& eng = cpu_engine();
    if (p_.b.owned.defined())
      b_mem_ = dnnl::memory(pd.weights_desc(), eng, p_.b.owned.raw());
    else
      b_ = InputAdapter(p_.b.given, pd.weights_desc());
    if (p_.bias.input >= 0)
      bias_mem_ =
          dnnl::memory(p_.bias.given, eng, p_.bias.owned.defined() ? p_.bias.owned.raw() : nullptr);
    if (p_.addend.input >= 0)
      addend_mem_ = dnnl::memory(p_.addend.given, eng,
                                 p_.addend.owned.defined() ? p_.addend.owned.raw() : nullptr);
    dst_mem_ = dnnl::memory(pd.dst_desc(), eng, nullptr);
    scratch_ = buffer_for(pd.scratchpad_desc());
    scratch_mem_ = dnnl::memory(pd.scratchpad_desc(), eng, scratch_.raw());
    bf16_ = pd.weights_desc().data_type() == dt::bf16;
    name_ = "dnnl " + p_.what + " " + impl_name(pd) + (bf16_ ? " bf16" : "");
    args_ = {{DNNL_ARG_SRC, a_.target()},
             {DNNL_ARG_DST, dst_mem_},
             {DNNL_ARG_SCRATCHPAD, scratch_mem_},
             {DNNL_ARG_WEIGHTS, p_.b.owned.defined() ? b_mem_ : b_.target()}};
    if (p_.bias.input >= 0) args_[DNNL_ARG_BIAS] = bias_mem_;
    if (p_.addend.input >= 0)
      args_[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = addend_mem_;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    auto ptr = [&](int i) { return const_cast<void*>(inputs[static_cast<size_t>(i)]->raw()); };
    dst_mem_.set_data_handle(outputs[0].raw());
    a_.bind(ptr(p_.a.input));
    if (!p_.b.owned.defined()) b_.bind(ptr(p_.b.input));
    if (p_.bias.input >= 0 && !p_.bias.owned.defined())
      bias_mem_.set_data_handle(ptr(p_.bias.input));
    if (p_.addend.input >= 0 && !p_.addend.owned.defined())
      addend_mem_.set_data_handle(ptr(p_.addend.input));
    prim_.execute(cpu_stream(), args_);
    cpu_stream().wait();
  }

  std::string name() const override { return name_; }
  bool computes_in_bf16() const override { return bf16_; }
  uint64_t packed_bytes() const override {
    uint64_t n = 0;
    for (const Operand* o : {&p_.b, &p_.bias, &p_.addend})
      if (o->owned.defined()) n += o->owned.nbytes();
    return n;
  }
  bool owns_constant(int input) const override {
    for (const Operand* o : {&p_.b, &p_.bias, &p_.addend})
      if (o->input == input && o->owned.defined()) return true;
    return false;
  }

 private:
  MatmulParts p_;
  dnnl::matmul prim_;
  InputAdapter a_, b_;
  dnnl::memory b_mem_, bias_mem_, addend_mem_, dst_mem_, scratch_mem_;
  Tensor scratch_;
  std::string name_;
  bool bf16_ = false;
  std::unordered_map<int, dnnl::memory> args_;  // built once: run() only sets data handles
};

bool plain_f32(const ValueDesc* v) {
  return v != nullptr && v->dtype == DType::f32 && v->known && v->plain();
}

// Creates the primitive: B packed when constant (format any), else read as given.
std::unique_ptr<Kernel> finish(KernelRequest& r, MatmulParts p, const Tensor* b_const, bool bf16) {
  const dt in_type = bf16 ? dt::bf16 : dt::f32;
  auto bf16_plain = [](const dnnl::memory::desc& md) {
    const Dims d = md.dims();
    return plain_desc(Shape(d.begin(), d.end()), dt::bf16);
  };
  // In bf16, A (and a run-time B) become row-major bf16 copies at run time.
  p.a.wanted = bf16 ? bf16_plain(p.a.given) : p.a.given;
  p.b.wanted = b_const != nullptr ? dnnl::memory::desc(p.b.given.dims(), in_type, tag::any)
               : bf16             ? bf16_plain(p.b.given)
                                  : p.b.given;
  try {
    dnnl::matmul::desc d = p.bias.input >= 0
                               ? dnnl::matmul::desc(p.a.wanted, p.b.wanted, p.bias.given, p.dst)
                               : dnnl::matmul::desc(p.a.wanted, p.b.wanted, p.dst);
    dnnl::matmul::primitive_desc pd(d, p.attr, cpu_engine());
    if (is_reference_impl(pd)) return nullptr;
    if (b_const != nullptr) p.b.owned = reorder_constant(r, *b_const, p.b.given, pd.weights_desc());
    return std::make_unique<MatmulKernel>(std::move(p), pd);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

Shape padded(const Shape& s, size_t rank) {
  Shape out(rank - s.size(), 1);
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

// A constant operand the kernel keeps (bias, Gemm's C), scaled by `scale`.
Tensor owned_copy(const Tensor& t, float scale) {
  Tensor c = t.clone();
  if (scale != 1.0f)
    for (int64_t i = 0; i < c.numel(); ++i) c.data<float>()[i] *= scale;
  return c;
}

bool precision_bf16(const KernelRequest& r) {
  return r.options.precision == Precision::bf16 && cpu_has_bf16();
}

const Tensor* constant(const KernelRequest& r, size_t i) {
  return i < r.constants.size() ? r.constants[i] : nullptr;
}

}  // namespace

std::unique_ptr<Kernel> make_dnnl_matmul(KernelRequest& r) {
  CreationThreads threads(r.options);
  if (r.inputs.size() < 2 || r.inputs.size() > 3 || !plain_f32(r.inputs[0]) ||
      !plain_f32(r.inputs[1]) || r.outputs.size() != 1 || !plain_f32(&r.outputs[0]))
    return nullptr;
  Shape as = r.inputs[0]->shape;
  const Shape& bs = r.inputs[1]->shape;
  Shape ys = r.outputs[0].shape;
  // 1-D operands (vector products) stay with the reference; oneDNN allows up to 12 dims.
  if (as.size() < 2 || bs.size() < 2 || ys.size() > 12) return nullptr;
  // [..., M, K] x [K, N]: the leading dims fold into M, one product instead of a batch of small
  // ones (a sequence-first transformer's [128, 1, 256] x [256, 768] is 128 products of one row).
  if (bs.size() == 2 && as.size() > 2 && ys.size() == as.size()) {
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < as.size(); ++i) rows *= as[i];
    as = {rows, as.back()};
    ys = {rows, ys.back()};
  }
  const size_t rank = std::max(as.size(), bs.size());
  if (ys.size() != rank) return nullptr;
  for (int64_t d : ys)
    if (d <= 0) return nullptr;
  for (int64_t d : as)
    if (d <= 0) return nullptr;
  MatmulParts p;
  p.what = r.node.domain == "ai.nnaccel" ? "fused matmul" : "matmul";
  p.a.input = 0;
  p.a.given = plain_desc(padded(as, rank), dt::f32);
  p.b.input = 1;
  p.b.given = plain_desc(padded(bs, rank), dt::f32);
  p.dst = plain_desc(ys, dt::f32);
  const int64_t n = ys.back();
  if (r.inputs.size() > 2 && r.inputs[2] != nullptr) {
    const ValueDesc* bias = r.inputs[2];
    if (!plain_f32(bias) || bias->shape.size() > rank || shape_numel(bias->shape) != n ||
        (!bias->shape.empty() && bias->shape.back() != n))
      return nullptr;
    p.bias.input = 2;
    Shape bd(rank, 1);
    bd.back() = n;
    p.bias.given = plain_desc(bd, dt::f32);
    if (const Tensor* c = constant(r, 2)) p.bias.owned = owned_copy(*c, 1.0f);
  }
  dnnl::post_ops ops;
  if (!append_activation(ops, activation_of(r.node))) return nullptr;
  p.attr = base_attr();
  p.attr.set_post_ops(ops);
  return finish(r, std::move(p), constant(r, 1), precision_bf16(r));
}

std::unique_ptr<Kernel> make_dnnl_gemm(KernelRequest& r) {
  CreationThreads threads(r.options);
  if (r.inputs.size() < 2 || r.inputs.size() > 3 || !plain_f32(r.inputs[0]) ||
      !plain_f32(r.inputs[1]) || r.outputs.size() != 1 || !plain_f32(&r.outputs[0]))
    return nullptr;
  const Shape& as = r.inputs[0]->shape;
  const Shape& bs = r.inputs[1]->shape;
  const Shape& ys = r.outputs[0].shape;
  if (as.size() != 2 || bs.size() != 2 || ys.size() != 2 || ys[0] <= 0 || ys[1] <= 0)
    return nullptr;
  const bool trans_a = r.node.attr_int("transA", 0) != 0;
  const bool trans_b = r.node.attr_int("transB", 0) != 0;
  const float alpha = r.node.attr_float("alpha", 1.0f);
  const float beta = r.node.attr_float("beta", 1.0f);
  const int64_t m = ys[0], n = ys[1], k = trans_a ? as[0] : as[1];
  if (k <= 0) return nullptr;
  // A transposed operand is the stored matrix read with swapped strides.
  auto operand = [](int64_t rows, int64_t cols, bool transposed) {
    return transposed ? dnnl::memory::desc({rows, cols}, dt::f32, Dims{1, rows})
                      : dnnl::memory::desc({rows, cols}, dt::f32, Dims{cols, 1});
  };
  MatmulParts p;
  p.what = r.node.domain == "ai.nnaccel" ? "fused gemm" : "gemm";
  p.a.input = 0;
  p.a.given = operand(m, k, trans_a);
  p.b.input = 1;
  p.b.given = operand(k, n, trans_b);
  p.dst = plain_desc(ys, dt::f32);
  p.attr = base_attr();
  dnnl::post_ops ops;
  if (r.inputs.size() > 2 && r.inputs[2] != nullptr && beta != 0.0f) {
    const ValueDesc* c = r.inputs[2];
    if (!plain_f32(c) || c->shape.size() > 2) return nullptr;
    Shape cs = padded(c->shape, 2);
    if ((cs[0] != 1 && cs[0] != m) || (cs[1] != 1 && cs[1] != n)) return nullptr;
    const Tensor* c_const = constant(r, 2);
    if (beta != 1.0f && c_const == nullptr) return nullptr;
    if (alpha == 1.0f && cs[0] == 1 && cs[1] == n) {
      p.bias.input = 2;  // the common Linear layer: C is a bias row
      p.bias.given = plain_desc(cs, dt::f32);
      if (c_const != nullptr) p.bias.owned = owned_copy(*c_const, beta);
    } else if (c_const != nullptr) {
      // oneDNN's optimized matmuls broadcast a post-op operand per column only: a constant C
      // is expanded to [M, N] once, beta applied.
      p.addend.input = 2;
      p.addend.given = plain_desc({m, n}, dt::f32);
      p.addend.owned = Tensor(DType::f32, {m, n});
      const float* src = c_const->data<float>();
      float* dst = p.addend.owned.data<float>();
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
          dst[i * n + j] = beta * src[(cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j)];
      ops.append_binary(dnnl::algorithm::binary_add, p.addend.given);
    } else {
      p.addend.input = 2;
      p.addend.given = plain_desc(cs, dt::f32);
      ops.append_binary(dnnl::algorithm::binary_add, p.addend.given);
    }
  }
  if (alpha != 1.0f) p.attr.set_output_scales(0, {alpha});
  if (!append_activation(ops, activation_of(r.node))) return nullptr;
  p.attr.set_post_ops(ops);
  return finish(r, std::move(p), constant(r, 1), precision_bf16(r));
}

}  // namespace nnaccel::dnnl_kernels
