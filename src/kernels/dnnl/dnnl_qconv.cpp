// ai.nnaccel QConv, QLinearConv and ConvInteger on oneDNN's int8 convolution (INT8_CONTRACT.md).
//
// The output stage maps onto output scales and post-ops as dnnl_int8.hpp says.
// Weights must be constant, like the scales and zero points, and fit s8 once their zero point is
// subtracted (centered_s8_weights); other cases are left to the reference. Activations are
// channels-last (dnnl_int8.hpp).
#include <cmath>
#include <cstring>

#include "kernels/dnnl/dnnl_factories.hpp"
#include "kernels/dnnl/dnnl_int8.hpp"
#include "ops/quant_kernels.hpp"

namespace nnaccel::dnnl_kernels {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// Input positions of the three ops (-1: the op has no such input).
struct QConvInputs {
  int x = 0, x_scale = 1, x_zp = 2, w = 3, w_scale = 4, w_zp = 5, y_scale = 6, y_zp = 7, bias = 8;
  int z = -1, z_scale = -1, z_zp = -1, mid_scale = -1, mid_zp = -1;
};

QConvInputs inputs_of(const Node& node) {
  QConvInputs in;
  if (node.op_type == "QConv")
    in.z = 9, in.z_scale = 10, in.z_zp = 11, in.mid_scale = 12, in.mid_zp = 13;
  if (node.op_type == "ConvInteger") {
    in = QConvInputs{};
    in.w = 1, in.x_zp = 2, in.w_zp = 3;
    in.x_scale = in.w_scale = in.y_scale = in.y_zp = in.bias = -1;
  }
  return in;
}

class QConvKernel : public Kernel {
 public:
  struct Parts {
    dnnl::convolution_forward::primitive_desc pd;
    dnnl::memory::desc src_given;
    dnnl::memory::desc dst_given;  // the caller's; the primitive's when equal
    Tensor weights, bias;          // packed / copied constants
    int weights_input = 3, bias_input = -1, z_input = -1;
    bool z_aliasable = false;              // y may overwrite z (z is not also the conv's x)
    dnnl::memory::desc z_given, z_target;  // z as given, and the primitive's dst read as z's type
    bool has_src_zp = false, has_dst_zp = false;
    int32_t src_zp = 0, dst_zp = 0;
    int src_zp_input = -1;  // ConvInteger's run-time x zero point (DynamicQuantizeLinear's), or -1
    std::string name;
  };

  explicit QConvKernel(Parts p)
      : p_(std::move(p)), prim_(p_.pd), src_(p_.src_given, p_.pd.src_desc()) {
    auto& eng = cpu_engine();
    const dnnl::memory::desc dst = p_.pd.dst_desc();
    weights_mem_ = dnnl::memory(p_.pd.weights_desc(), eng, p_.weights.raw());
    if (p_.bias.defined()) bias_mem_ = dnnl::memory(p_.pd.bias_desc(), eng, p_.bias.raw());
    if (p_.dst_given != dst) {
      dst_buffer_ = buffer_for(dst);
      dst_mem_ = dnnl::memory(dst, eng, dst_buffer_.raw());
      out_mem_ = dnnl::memory(p_.dst_given, eng, nullptr);
      out_reorder_ = dnnl::reorder(dst_mem_, out_mem_);
    } else {
      dst_mem_ = dnnl::memory(dst, eng, nullptr);
    }
    if (p_.z_input >= 0) {
      z_mem_ = dnnl::memory(p_.z_given, eng, nullptr);
      z_target_mem_ = dnnl::memory(p_.z_target, eng, nullptr);
      if (p_.z_given != p_.z_target) z_reorder_ = dnnl::reorder(z_mem_, z_target_mem_);
    }
    scratch_ = buffer_for(p_.pd.scratchpad_desc());
    scratch_mem_ = dnnl::memory(p_.pd.scratchpad_desc(), eng, scratch_.raw());
    if (p_.has_src_zp) src_zp_ = ZeroPointMemory(p_.src_zp);
    if (p_.has_dst_zp) dst_zp_ = ZeroPointMemory(p_.dst_zp);
    args_ = {{DNNL_ARG_SRC, src_.target()},
             {DNNL_ARG_WEIGHTS, weights_mem_},
             {DNNL_ARG_DST, dst_mem_},
             {DNNL_ARG_SCRATCHPAD, scratch_mem_}};
    if (p_.bias.defined()) args_[DNNL_ARG_BIAS] = bias_mem_;
    if (p_.has_src_zp) args_[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = src_zp_.memory();
    if (p_.has_dst_zp) args_[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = dst_zp_.memory();
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    auto& s = cpu_stream();
    void* dst = dst_buffer_.defined() ? dst_buffer_.raw() : outputs[0].raw();
    dst_mem_.set_data_handle(dst);
    if (p_.z_input >= 0) {
      // The sum post-op adds what dst holds: z goes there first (nothing to do when aliased).
      const Tensor& z = *inputs[static_cast<size_t>(p_.z_input)];
      if (p_.z_given != p_.z_target) {
        z_mem_.set_data_handle(const_cast<void*>(z.raw()));
        z_target_mem_.set_data_handle(dst);
        z_reorder_.execute(s, z_mem_, z_target_mem_);
      } else if (z.raw() != dst) {
        std::memcpy(dst, z.raw(), p_.z_target.get_size());
      }
    }
    if (p_.src_zp_input >= 0) src_zp_.set(*inputs[static_cast<size_t>(p_.src_zp_input)]);
    src_.bind(inputs[0]->raw());
    prim_.execute(s, args_);
    if (dst_buffer_.defined()) {
      out_mem_.set_data_handle(outputs[0].raw());
      out_reorder_.execute(s, dst_mem_, out_mem_);
    }
    s.wait();
  }

  std::string name() const override { return p_.name; }
  uint64_t packed_bytes() const override { return p_.weights.nbytes() + p_.bias.nbytes(); }
  bool owns_constant(int input) const override {
    return input == p_.weights_input || (input == p_.bias_input && p_.bias.defined());
  }
  int inplace_input(int output) const override {
    // z may be overwritten by y when it is already where the primitive accumulates.
    return output == 0 && p_.z_input >= 0 && p_.z_aliasable && !dst_buffer_.defined() &&
                   p_.z_given == p_.z_target && p_.z_target == p_.pd.dst_desc()
               ? p_.z_input
               : -1;
  }

 private:
  Parts p_;
  dnnl::convolution_forward prim_;
  InputAdapter src_;
  dnnl::memory weights_mem_, bias_mem_, dst_mem_, out_mem_, z_mem_, z_target_mem_, scratch_mem_;
  dnnl::reorder out_reorder_, z_reorder_;
  Tensor scratch_, dst_buffer_;
  ZeroPointMemory src_zp_, dst_zp_;
  std::unordered_map<int, dnnl::memory> args_;  // built once: run() only sets data handles
};

// Conv geometry by the reference's own rules; nothing when the attributes are invalid (the
// reference kernel then reports them).
std::optional<quant::ConvGeometry> geometry(const Node& node, const Shape& x, const Shape& w) {
  InferContext ictx(node, {}, {});
  try {
    return quant::conv_geometry(ictx, x, w);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

std::unique_ptr<Kernel> make_dnnl_qconv(KernelRequest& r) {
  if (!cpu_has_exact_int8()) return nullptr;
  CreationThreads threads(r.options);
  const QConvInputs in = inputs_of(r.node);
  if (!r.has_input(in.x) || !r.has_input(in.w) || r.outputs.size() != 1 || !r.outputs[0].known) return nullptr;
  const ValueDesc& x = *r.inputs[static_cast<size_t>(in.x)];
  const ValueDesc& y = r.outputs[0];
  const dt x_type = dnnl_type(x.dtype), y_type = dnnl_type(y.dtype);
  if (!x.known || (x_type != dt::u8 && x_type != dt::s8) || y_type == dt::undef) return nullptr;
  const size_t rank = x.shape.size();
  if (rank < 3 || rank > 5 || y.shape.size() != rank) return nullptr;
  for (int64_t d : x.shape)
    if (d <= 0) return nullptr;
  const Tensor* w_given = r.constants[static_cast<size_t>(in.w)];
  if (w_given == nullptr || static_cast<size_t>(w_given->rank()) != rank) return nullptr;
  const std::optional<Tensor> w_s8 = centered_s8_weights(r, *w_given, in.w_zp, 0);
  if (!w_s8) return nullptr;
  const Tensor* w = &*w_s8;
  const bool runtime_x_zp =
      r.node.op_type == "ConvInteger" && runtime_scalar_zero_point(r, in.x_zp, x.dtype);
  for (int i = static_cast<int>(r.inputs.size()); i-- > 0;)
    if (r.has_input(i) && i != in.x && i != in.z && !(runtime_x_zp && i == in.x_zp) &&
        r.constants[static_cast<size_t>(i)] == nullptr)
      return nullptr;  // scales, zero points and bias must be constants
  std::optional<quant::ConvGeometry> g = geometry(r.node, x.shape, w->shape());
  if (!g) return nullptr;
  Shape out_shape{g->N, g->M};
  out_shape.insert(out_shape.end(), g->out.begin(), g->out.end());
  if (out_shape != y.shape) return nullptr;

  // Zero points, scales and the output stage.
  const bool integer_out = r.node.op_type == "ConvInteger";
  std::optional<int32_t> x_zp = runtime_x_zp           ? 1
                                : r.has_input(in.x_zp) ? constant_int(r, in.x_zp)
                                                       : 0;  // 1: any nonzero
  if (!x_zp) return nullptr;
  OutputStage stage;
  std::optional<int32_t> y_zp;
  dt z_type = dt::undef;
  if (integer_out) {
    if (y_type != dt::s32) return nullptr;
  } else {
    const std::optional<ProductScales> ps =
        product_scales(r, in.x_scale, in.w_scale, g->M, in.y_scale, in.y_zp, y_type);
    if (!ps) return nullptr;
    const std::optional<float> y_scale = ps->y_scale;
    y_zp = ps->y_zero_point;
    std::optional<std::pair<float, int32_t>> z;
    if (r.has_input(in.z)) {
      const ValueDesc& zd = *r.inputs[static_cast<size_t>(in.z)];
      z_type = dnnl_type(zd.dtype);
      std::optional<float> zs = constant_float(r, in.z_scale);
      std::optional<int32_t> zz = constant_int(r, in.z_zp);
      if (!y_scale || (z_type != dt::u8 && z_type != dt::s8) || zd.shape != y.shape || !zs || !zz ||
          !positive_finite(*zs))
        return nullptr;
      z = std::make_pair(*zs, *zz);
    }
    std::optional<MidGrid> mid;
    if (r.has_input(in.mid_scale) || r.has_input(in.mid_zp)) {
      std::optional<float> ms = constant_float(r, in.mid_scale);
      std::optional<int32_t> mz = constant_int(r, in.mid_zp);
      const DType mt = r.has_input(in.mid_zp) ? r.inputs[static_cast<size_t>(in.mid_zp)]->dtype
                                              : DType::undefined;
      if (!ms || !mz || !positive_finite(*ms) || (mt != DType::u8 && mt != DType::i8))
        return nullptr;
      mid = MidGrid{*ms, *mz, mt == DType::u8 ? 0 : -128, mt == DType::u8 ? 255 : 127};
    }
    if (!output_stage(activation_of(r.node), ps->x_scale, ps->w_scale, y_scale, z, z_type, stage,
                      mid))
      return nullptr;
  }
  if (r.has_input(in.bias)) {
    const Tensor* b = r.constants[static_cast<size_t>(in.bias)];
    if (b->dtype() != DType::i32 || b->rank() != 1 || b->numel() != g->M) return nullptr;
  }

  // oneDNN's shapes: a 1-D conv as 2-D with H = 1 (its fast int8 kernels are 2-D and 3-D).
  auto widen = [&](const Shape& s) {
    Dims d = dims_of(s);
    if (rank == 3) d.insert(d.begin() + 2, 1);
    return d;
  };
  const Dims xd = widen(x.shape), yd = widen(y.shape);
  Dims wd = widen(w->shape());
  if (g->group > 1) {
    wd.insert(wd.begin(), g->group);
    wd[1] /= g->group;
  }
  Dims strides, dilates, pad_l, pad_r;
  if (rank == 3) strides = {1}, dilates = {0}, pad_l = {0}, pad_r = {0};
  for (size_t i = 0; i < g->out.size(); ++i) {
    strides.push_back(g->strides[i]);
    dilates.push_back(g->dilations[i] - 1);
    pad_l.push_back(g->pad_begin[i]);
    pad_r.push_back(g->pad_end[i]);
  }

  ValueDesc out = y;
  out.block =
      y_type != dt::s32 && y_type != dt::f32 && readers_take_channels_last(r, 0) ? y.shape[1] : 0;
  std::optional<dnnl::memory::desc> src_given = int_desc(x, xd), dst_given = int_desc(out, yd);
  // One input channel: plain and channels-last are the same bytes, and saying so spares the
  // reorder (a first layer on grey images: Fashion-MNIST's conv1 took 2x fp32's time with it).
  if (x.plain() && xd[1] == 1) src_given = channels_last_desc(xd, x_type);
  if (!src_given || !dst_given) return nullptr;
  dnnl::primitive_attr attr = base_attr();
  if (!integer_out) attr.set_output_scales(stage.scales.size() > 1 ? 1 << 1 : 0, stage.scales);
  // Narrow convolutions (at most 32 channels in and out, not 1x1, not grouped) ask for a run-time
  // source zero point even when it is 0: oneDNN 2.6 then takes its jit int8 kernel instead of
  // brgconv, which is slower at these widths here (Fashion-MNIST CNN at batch 32: 16-channel 3x3
  // layers 0.116 -> 0.075 ms, the 1-channel first layer 0.07 -> 0.04 ms; at 64 channels and up
  // brgconv is as fast or faster, and ResNet-18 and MobileNetV2 lost 2-15% with it everywhere).
  bool kernel_1x1 = true;
  for (size_t i = 2; i < w->shape().size(); ++i) kernel_1x1 = kernel_1x1 && w->dim(i) == 1;
  const bool narrow = g->group == 1 && !kernel_1x1 && x.shape[1] <= 32 && g->M <= 32;
  const bool src_zp = *x_zp != 0 || narrow;
  if (src_zp) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  if (y_zp && *y_zp != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
  attr.set_post_ops(stage.ops);
  // The bias: the int32 input as it is, or f32 when it carries the residual's zero point.
  Tensor bias;
  if (!stage.bias_shift.empty()) {
    bias = Tensor(DType::f32, {g->M});
    for (int64_t m = 0; m < g->M; ++m)
      bias.data<float>()[m] =
          stage.bias_shift[static_cast<size_t>(m)] +
          (r.has_input(in.bias)
               ? static_cast<float>(r.constants[static_cast<size_t>(in.bias)]->data<int32_t>()[m])
               : 0.0f);
  } else if (r.has_input(in.bias)) {
    bias = r.constants[static_cast<size_t>(in.bias)]->clone();
  }
  const dnnl::memory::desc src_md = channels_last_desc(xd, x_type);
  const dnnl::memory::desc dst_md = channels_last_desc(yd, y_type);
  const dnnl::memory::desc w_any(wd, dt::s8, tag::any);
  const dnnl::memory::desc b_md = bias.defined()
                                      ? dnnl::memory::desc({g->M}, dnnl_type(bias.dtype()), tag::x)
                                      : dnnl::memory::desc();
  QConvKernel::Parts p;
  try {
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                      dnnl::algorithm::convolution_direct, src_md, w_any, b_md,
                                      dst_md, strides, dilates, pad_l, pad_r);
    p.pd = dnnl::convolution_forward::primitive_desc(d, attr, cpu_engine());
  } catch (const dnnl::error&) {
    return nullptr;
  }
  if (is_reference_impl(p.pd)) return nullptr;
  p.src_given = *src_given;
  p.dst_given = *dst_given;
  p.weights_input = in.w;
  p.weights =
      reorder_constant(r, *w, plain_desc(Shape(wd.begin(), wd.end()), dt::s8), p.pd.weights_desc());
  p.bias_input = in.bias;
  p.bias = bias;
  if (r.has_input(in.z)) {
    p.z_input = in.z;
    // The same value as x and z: writing y over z would overwrite the conv's input as it reads.
    p.z_aliasable =
        r.node.inputs[static_cast<size_t>(in.z)] != r.node.inputs[static_cast<size_t>(in.x)];
    std::optional<dnnl::memory::desc> zg = int_desc(*r.inputs[static_cast<size_t>(in.z)], yd);
    if (!zg) return nullptr;
    p.z_given = *zg;
    p.z_target = channels_last_desc(yd, z_type);
  }
  p.has_src_zp = src_zp;
  p.src_zp = *x_zp;
  p.src_zp_input = runtime_x_zp ? in.x_zp : -1;
  p.has_dst_zp = y_zp && *y_zp != 0;
  p.dst_zp = y_zp.value_or(0);
  auto layout = [](const ValueDesc& v) {
    return v.plain()             ? std::string("plain")
           : is_channels_last(v) ? std::string("nhwc")
                                 : "blocked" + std::to_string(v.block);
  };
  p.name = "dnnl qconv " + impl_name(p.pd) + " " + layout(x) + "->" + layout(out) +
           (p.dst_given != p.pd.dst_desc() ? " (via reorder)" : "") +
           (runtime_x_zp ? " (run-time x zero point)" : "");
  r.outputs[0].block = out.block;
  return std::make_unique<QConvKernel>(std::move(p));
}

}  // namespace nnaccel::dnnl_kernels
