#include "kernels/dnnl/dnnl_int8.hpp"

#include "ops/quant_kernels.hpp"

namespace nnaccel::dnnl_kernels {

using dt = dnnl::memory::data_type;

dt dnnl_type(DType t) {
  switch (t) {
    case DType::u8:
      return dt::u8;
    case DType::i8:
      return dt::s8;
    case DType::i32:
      return dt::s32;
    case DType::f32:
      return dt::f32;
    case DType::bf16:
      return dt::bf16;
    default:
      return dt::undef;
  }
}

dnnl::memory::desc channels_last_desc(const Dims& dims, dt type) {
  // Channels innermost, then the spatial dims in order, batch outermost.
  Dims strides(dims.size(), 0);
  int64_t s = dims[1];
  strides[1] = 1;
  for (size_t d = dims.size(); d-- > 2;) {
    strides[d] = s;
    s *= dims[d];
  }
  strides[0] = s;
  return dnnl::memory::desc(dims, type, strides);
}

std::optional<dnnl::memory::desc> int_desc(const ValueDesc& v, const Dims& dims) {
  const dt type = dnnl_type(v.dtype);
  if (type == dt::undef || shape_numel(v.shape) != shape_numel(Shape(dims.begin(), dims.end())))
    return std::nullopt;
  if (v.plain()) return plain_desc(Shape(dims.begin(), dims.end()), type);
  if (dims.size() < 3 || dims.size() > 5) return std::nullopt;
  if (is_channels_last(v)) return channels_last_desc(dims, type);
  if (v.block == 8 || v.block == 16)
    return blocked_desc(Shape(dims.begin(), dims.end()), v.block, type);
  return std::nullopt;
}

namespace {

bool reads_as_activation(const Node& reader, const std::string& value) {
  const bool nnaccel = reader.domain == "ai.nnaccel";
  const bool onnx = reader.domain.empty() || reader.domain == "ai.onnx";
  for (size_t i = 0; i < reader.inputs.size(); ++i) {
    if (reader.inputs[i] != value) continue;
    if (nnaccel && reader.op_type == "QConv" && (i == 0 || i == 9)) continue;
    if (onnx && reader.op_type == "QLinearConv" && i == 0) continue;
    // The simd QAdd takes two same-shaped inputs in any one layout and keeps it.
    if (nnaccel && reader.op_type == "QAdd" && (i == 0 || i == 3)) continue;
    // The simd QLookup maps bytes in place, whatever their order.
    if (nnaccel && reader.op_type == "QLookup" && i == 0) continue;
    // The simd DequantizeLinear converts channels-last while it dequantizes (quant_layout.hpp).
    if (onnx && reader.op_type == "DequantizeLinear" && i == 0) continue;
    if (onnx && reader.op_type == "MaxPool" && i == 0 &&
        (reader.outputs.size() < 2 || reader.outputs[1].empty()))
      continue;
    return false;
  }
  return true;
}

}  // namespace

bool readers_take_channels_last(const KernelRequest& request, int output) {
  if (request.is_graph_output(output)) return false;
  const ValueDesc& out = request.outputs.at(static_cast<size_t>(output));
  if (out.shape.size() < 3 || out.shape.size() > 5 || !out.known) return false;
  if (out.dtype != DType::u8 && out.dtype != DType::i8) return false;
  std::vector<const Node*> readers = request.consumers(output);
  if (readers.empty()) return false;
  const std::string& name = request.node.outputs.at(static_cast<size_t>(output));
  for (const Node* r : readers)
    if (!reads_as_activation(*r, name)) return false;
  return true;
}

bool cpu_has_exact_int8() {
  static const bool has = [] {
    const auto have = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto want = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_vnni);
    return (have & want) == want;
  }();
  return has;
}

namespace {
const Tensor* constant_at(const KernelRequest& r, int input) {
  const size_t i = static_cast<size_t>(input);
  if (i >= r.inputs.size() || r.inputs[i] == nullptr || i >= r.constants.size()) return nullptr;
  return r.constants[i];
}
bool is_scalar(const Tensor& t) { return t.rank() == 0 || (t.rank() == 1 && t.numel() == 1); }
}  // namespace

std::optional<int32_t> constant_int(const KernelRequest& r, int input) {
  const Tensor* t = constant_at(r, input);
  if (t == nullptr || !is_scalar(*t)) return std::nullopt;
  switch (t->dtype()) {
    case DType::u8:
      return t->data<uint8_t>()[0];
    case DType::i8:
      return t->data<int8_t>()[0];
    case DType::i32:
      return t->data<int32_t>()[0];
    default:
      return std::nullopt;
  }
}

std::optional<float> constant_float(const KernelRequest& r, int input) {
  const Tensor* t = constant_at(r, input);
  if (t == nullptr || !is_scalar(*t) || t->dtype() != DType::f32) return std::nullopt;
  return t->data<float>()[0];
}

std::optional<std::vector<float>> constant_floats(const KernelRequest& r, int input, int64_t n) {
  const Tensor* t = constant_at(r, input);
  if (t == nullptr || t->dtype() != DType::f32 || t->rank() > 1) return std::nullopt;
  if (t->numel() != 1 && t->numel() != n) return std::nullopt;
  return std::vector<float>(t->data<float>(), t->data<float>() + t->numel());
}

std::optional<ProductScales> product_scales(const KernelRequest& r, int x_scale, int w_scale,
                                            int64_t channels, int y_scale, int y_zp,
                                            dnnl::memory::data_type y_type) {
  using dt = dnnl::memory::data_type;
  ProductScales p;
  const std::optional<float> xs = constant_float(r, x_scale);
  std::optional<std::vector<float>> ws = constant_floats(r, w_scale, channels);
  if (!xs || !ws || !positive_finite(*xs)) return std::nullopt;
  for (float v : *ws)
    if (!positive_finite(v)) return std::nullopt;
  p.x_scale = *xs;
  p.w_scale = std::move(*ws);
  if (r.has_input(y_scale) != r.has_input(y_zp)) return std::nullopt;
  if (r.has_input(y_scale)) {
    p.y_scale = constant_float(r, y_scale);
    p.y_zero_point = constant_int(r, y_zp);
    if (!p.y_scale || !p.y_zero_point || !positive_finite(*p.y_scale)) return std::nullopt;
    if (y_type != dt::u8 && y_type != dt::s8) return std::nullopt;
  } else if (y_type != dt::f32) {
    return std::nullopt;
  }
  return p;
}

std::optional<Tensor> centered_s8_weights(const KernelRequest& r, const Tensor& w, int zp_input,
                                          int axis) {
  const Tensor* zp = nullptr;
  if (r.has_input(zp_input)) {
    zp = constant_at(r, zp_input);
    if (zp == nullptr) return std::nullopt;
  }
  return quant::centered_s8(w, zp, axis);
}

bool runtime_scalar_zero_point(const KernelRequest& r, int input, DType type) {
  if (!r.has_input(input) || r.constants[static_cast<size_t>(input)] != nullptr) return false;
  const ValueDesc& zp = *r.inputs[static_cast<size_t>(input)];
  return zp.known && zp.dtype == type && shape_numel(zp.shape) == 1;
}

bool output_stage(const FusedActivation& act, double x_scale, const std::vector<float>& w_scale,
                  std::optional<float> y_scale, std::optional<std::pair<float, int32_t>> z,
                  dt z_type, OutputStage& out, std::optional<MidGrid> mid) {
  const bool fold =
      y_scale && (act.kind == ActivationKind::none || act.kind == ActivationKind::relu ||
                  act.kind == ActivationKind::leaky_relu ||
                  (act.kind == ActivationKind::clip && act.alpha <= act.beta));
  const double div = fold ? *y_scale : 1.0;
  if (mid) {
    if (!fold || !z) return false;
    const double ys = *y_scale, zs = z->first;
    for (float w : w_scale) out.scales.push_back(static_cast<float>(x_scale * w / mid->scale));
    out.ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_round, 0.0f, 0.0f);
    // clip_v2, not clip: oneDNN 2.6 gave a later Clip activation this clip's bounds (two
    // eltwise post-ops of one algorithm share parameters, as two linears do).
    out.ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip_v2,
                           static_cast<float>(mid->lo - mid->zero_point),
                           static_cast<float>(mid->hi - mid->zero_point));
    // The residual's zero point rides on the one linear post-op (oneDNN 2.6 loses a second).
    out.ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear,
                           static_cast<float>(mid->scale / ys),
                           static_cast<float>(-zs * z->second / ys));
    out.ops.append_sum(static_cast<float>(zs / ys), z_type);
  } else {
    for (float w : w_scale) out.scales.push_back(static_cast<float>(x_scale * w / div));
  }
  if (z && !mid) {
    out.ops.append_sum(static_cast<float>(z->first / div), z_type);
    // sum_scale * (z - zp) = sum_scale * z + output_scale * shift with shift = -z_scale * zp /
    // (x_scale * w_scale): oneDNN's gemm-based convs take no sum zero point, all take a bias.
    if (z->second != 0)
      for (float w : w_scale)
        out.bias_shift.push_back(static_cast<float>(-double{z->first} * z->second / (x_scale * w)));
  }
  if (fold) {
    FusedActivation scaled = act;
    if (act.kind == ActivationKind::clip) {
      scaled.alpha = static_cast<float>(act.alpha / div);
      scaled.beta = static_cast<float>(act.beta / div);
    }
    return append_activation(out.ops, scaled);
  }
  if (y_scale && act.kind == ActivationKind::hard_sigmoid) {
    // clip(alpha * v + beta, 0, 1) / y_scale as one linear and one clip: oneDNN 2.6 applied
    // only the first of two eltwise_linear post-ops (the second's parameters were lost).
    const double ys = *y_scale;
    out.ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear,
                           static_cast<float>(act.alpha / ys), static_cast<float>(act.beta / ys));
    out.ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, static_cast<float>(1.0 / ys));
    return true;
  }
  if (!append_activation(out.ops, act)) return false;
  if (y_scale)
    out.ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear,
                           static_cast<float>(1.0 / *y_scale), 0.0f);
  return true;
}

ZeroPointMemory::ZeroPointMemory(int32_t value) : value_(DType::i32, {1}) {
  value_.data<int32_t>()[0] = value;
  mem_ = dnnl::memory({{1}, dt::s32, dnnl::memory::format_tag::x}, cpu_engine(), value_.raw());
}

void ZeroPointMemory::set(const Tensor& zero_point) {
  value_.data<int32_t>()[0] = zero_point.dtype() == DType::u8
                                  ? int32_t{zero_point.data<uint8_t>()[0]}
                                  : int32_t{zero_point.data<int8_t>()[0]};
}

}  // namespace nnaccel::dnnl_kernels
