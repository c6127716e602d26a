// ai.nnaccel QMatMul, QLinearMatMul and MatMulInteger on oneDNN's int8 matmul: A [..., M, K]
// (u8/s8, rows flattened to [rows, K]) times a constant s8 B [K, N] packed once into the
// primitive's format; bias, activation and requantization as output scales, post-ops and zero
// points (the output stage of dnnl_int8.hpp). MatMulInteger's A zero point may be a run-time
// scalar (DynamicQuantizeLinear's output in dynamically quantized models): it is read on each run.
// B's zero point is folded into B when the differences fit s8 (centered_s8_weights). Per-row A
// scales or zero points, other B and other run-time qparams are left to the reference.
#include "kernels/dnnl/dnnl_factories.hpp"
#include "kernels/dnnl/dnnl_int8.hpp"

namespace nnaccel::dnnl_kernels {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct QMatMulInputs {
  int a = 0, a_scale = 1, a_zp = 2, b = 3, b_scale = 4, b_zp = 5, y_scale = 6, y_zp = 7, bias = 8;
};

QMatMulInputs inputs_of(const Node& node) {
  QMatMulInputs in;
  if (node.op_type == "QLinearMatMul") in.bias = -1;
  if (node.op_type == "MatMulInteger") {
    in.b = 1, in.a_zp = 2, in.b_zp = 3;
    in.a_scale = in.b_scale = in.y_scale = in.y_zp = in.bias = -1;
  }
  return in;
}

class QMatMulKernel : public Kernel {
 public:
  QMatMulKernel(const dnnl::matmul::primitive_desc& pd, Tensor weights, Tensor bias,
                int weights_input, int bias_input, std::optional<int32_t> src_zp,
                std::optional<int32_t> dst_zp, int src_zp_input, std::string name)
      : prim_(pd),
        weights_(std::move(weights)),
        bias_(std::move(bias)),
        weights_input_(weights_input),
        bias_input_(bias_input),
        src_zp_input_(src_zp_input),
        name_(std::move(name)) {
    auto& eng = cpu_engine();
    src_mem_ = dnnl::memory(pd.src_desc(), eng, nullptr);
    dst_mem_ = dnnl::memory(pd.dst_desc(), eng, nullptr);
    weights_mem_ = dnnl::memory(pd.weights_desc(), eng, weights_.raw());
    if (bias_.defined()) bias_mem_ = dnnl::memory(pd.bias_desc(), eng, bias_.raw());
    scratch_ = buffer_for(pd.scratchpad_desc());
    scratch_mem_ = dnnl::memory(pd.scratchpad_desc(), eng, scratch_.raw());
    if (src_zp) src_zp_ = ZeroPointMemory(*src_zp);
    if (dst_zp) dst_zp_ = ZeroPointMemory(*dst_zp);
    args_ = {{DNNL_ARG_SRC, src_mem_},
             {DNNL_ARG_WEIGHTS, weights_mem_},
             {DNNL_ARG_DST, dst_mem_},
             {DNNL_ARG_SCRATCHPAD, scratch_mem_}};
    if (bias_.defined()) args_[DNNL_ARG_BIAS] = bias_mem_;
    if (src_zp_.memory()) args_[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = src_zp_.memory();
    if (dst_zp_.memory()) args_[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = dst_zp_.memory();
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    src_mem_.set_data_handle(const_cast<void*>(inputs[0]->raw()));
    dst_mem_.set_data_handle(outputs[0].raw());
    if (src_zp_input_ >= 0) src_zp_.set(*inputs[static_cast<size_t>(src_zp_input_)]);
    prim_.execute(cpu_stream(), args_);
    cpu_stream().wait();
  }

  std::string name() const override { return name_; }
  uint64_t packed_bytes() const override { return weights_.nbytes() + bias_.nbytes(); }
  bool owns_constant(int input) const override {
    return input == weights_input_ || (input == bias_input_ && bias_.defined());
  }

 private:
  dnnl::matmul prim_;
  Tensor weights_, bias_, scratch_;
  int weights_input_, bias_input_;
  int src_zp_input_;  // the input holding a run-time A zero point, or -1
  std::string name_;
  dnnl::memory src_mem_, dst_mem_, weights_mem_, bias_mem_, scratch_mem_;
  ZeroPointMemory src_zp_, dst_zp_;
  std::unordered_map<int, dnnl::memory> args_;  // built once: run() only sets data handles
};

}  // namespace

std::unique_ptr<Kernel> make_dnnl_qmatmul(KernelRequest& r) {
  if (!cpu_has_exact_int8()) return nullptr;
  CreationThreads threads(r.options);
  const QMatMulInputs in = inputs_of(r.node);
  if (!r.has_input(in.a) || !r.has_input(in.b) || r.outputs.size() != 1 || !r.outputs[0].known) return nullptr;
  const ValueDesc& a = *r.inputs[static_cast<size_t>(in.a)];
  const ValueDesc& y = r.outputs[0];
  const dt a_type = dnnl_type(a.dtype), y_type = dnnl_type(y.dtype);
  if (!a.known || !a.plain() || (a_type != dt::u8 && a_type != dt::s8) || a.shape.size() < 2)
    return nullptr;
  const Tensor* b_given = r.constants[static_cast<size_t>(in.b)];
  if (b_given == nullptr || b_given->rank() != 2) return nullptr;
  const std::optional<Tensor> b_s8 = centered_s8_weights(r, *b_given, in.b_zp, 1);
  if (!b_s8) return nullptr;
  const Tensor* b = &*b_s8;
  const int64_t K = a.shape.back(), N = b->dim(1);
  if (b->dim(0) != K || K <= 0 || N <= 0) return nullptr;
  const int64_t rows = shape_numel(a.shape) / K;
  Shape out_shape(a.shape.begin(), a.shape.end() - 1);
  out_shape.push_back(N);
  if (rows <= 0 || y.shape != out_shape) return nullptr;
  const bool integer_out = r.node.op_type == "MatMulInteger";
  const bool runtime_a_zp = integer_out && runtime_scalar_zero_point(r, in.a_zp, a.dtype);
  for (int i = static_cast<int>(r.inputs.size()); i-- > 0;)
    if (r.has_input(i) && i != in.a && !(runtime_a_zp && i == in.a_zp) &&
        r.constants[static_cast<size_t>(i)] == nullptr)
      return nullptr;

  std::optional<int32_t> a_zp = runtime_a_zp           ? 1
                                : r.has_input(in.a_zp) ? constant_int(r, in.a_zp)
                                                       : 0;  // 1: any nonzero
  if (!a_zp) return nullptr;
  OutputStage stage;
  std::optional<int32_t> y_zp;
  if (integer_out) {
    if (y_type != dt::s32) return nullptr;
  } else {
    const std::optional<ProductScales> ps =
        product_scales(r, in.a_scale, in.b_scale, N, in.y_scale, in.y_zp, y_type);
    if (!ps) return nullptr;
    y_zp = ps->y_zero_point;
    if (!output_stage(activation_of(r.node), ps->x_scale, ps->w_scale, ps->y_scale, std::nullopt,
                      dt::undef, stage))
      return nullptr;
  }
  if (r.has_input(in.bias)) {
    const Tensor* bias = r.constants[static_cast<size_t>(in.bias)];
    if (bias->dtype() != DType::i32 || bias->rank() != 1 || bias->numel() != N) return nullptr;
  }

  dnnl::primitive_attr attr = base_attr();
  if (!integer_out) attr.set_output_scales(stage.scales.size() > 1 ? 1 << 1 : 0, stage.scales);
  if (*a_zp != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  if (y_zp && *y_zp != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
  attr.set_post_ops(stage.ops);
  const dnnl::memory::desc src_md({rows, K}, a_type, tag::ab);
  const dnnl::memory::desc w_any({K, N}, dt::s8, tag::any);
  const dnnl::memory::desc dst_md({rows, N}, y_type, tag::ab);
  const dnnl::memory::desc b_md =
      r.has_input(in.bias) ? dnnl::memory::desc({1, N}, dt::s32, tag::ab) : dnnl::memory::desc();
  dnnl::matmul::primitive_desc pd;
  try {
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, w_any, b_md, dst_md), attr,
                                      cpu_engine());
  } catch (const dnnl::error&) {
    return nullptr;
  }
  if (is_reference_impl(pd)) return nullptr;
  Tensor weights = reorder_constant(r, *b, plain_desc({K, N}, dt::s8), pd.weights_desc());
  Tensor bias;
  if (r.has_input(in.bias)) bias = r.constants[static_cast<size_t>(in.bias)]->clone();
  return std::make_unique<QMatMulKernel>(
      pd, std::move(weights), std::move(bias), in.b, in.bias, *a_zp != 0 ? a_zp : std::nullopt,
      y_zp && *y_zp != 0 ? y_zp : std::nullopt, runtime_a_zp ? in.a_zp : -1,
      std::string("dnnl qmatmul ") + impl_name(pd) +
          (runtime_a_zp ? " (run-time A zero point)" : ""));
}

}  // namespace nnaccel::dnnl_kernels
