// Ops of the 'fused' family (domain ai.nnaccel, see ops.def): what the graph optimizer writes
// in place of several standard ops. FusedConv, FusedGemm and FusedMatMul run the standard op's
// reference kernel and then add/activate; Gelu and ElementwiseChain evaluate their scalar
// functions (fused_activation.hpp, elementwise_chain.hpp) so the fast kernels and these agree by
// construction. Float32 only: the optimizer fuses only f32 values.
#include <string>
#include <vector>

#include "ops/elementwise_chain.hpp"
#include "ops/fused_activation.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

namespace {

constexpr const char* kDomain = "ai.nnaccel";

// The standard op a fused node extends, as a node with the fused-only attributes removed and
// the first `inputs` inputs.
Node standard_node(const Node& fused, const char* op, size_t inputs) {
  Node n = fused;
  n.op_type = op;
  n.domain.clear();
  n.erase_attr("activation");
  n.erase_attr("activation_params");
  if (n.inputs.size() > inputs) n.inputs.resize(inputs);
  return n;
}

const OpSchema& standard_schema(const char* op) {
  const OpSchema* s = OpRegistry::instance().find("", op);
  if (s == nullptr) throw Error(std::string("op registry has no ") + op);
  return *s;
}

void infer_as(InferContext& ctx, const char* op, size_t inputs) {
  Node n = standard_node(ctx.node, op, inputs);
  std::vector<const TypeInfo*> types;
  std::vector<const Tensor*> values;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const int k = static_cast<int>(i);
    types.push_back(ctx.has_input(k) ? &ctx.type(k) : nullptr);
    values.push_back(ctx.has_input(k) ? ctx.value(k) : nullptr);
  }
  InferContext inner(n, types, values);
  standard_schema(op).infer(inner);
  ctx.outputs[0] = inner.outputs[0];
  // Checks the activation attributes at load time rather than at the first run.
  fused_activation_of(ctx.node);
}

Tensor run_as(OpContext& ctx, const char* op, size_t inputs) {
  Node n = standard_node(ctx.node, op, inputs);
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const int k = static_cast<int>(i);
    ins.push_back(ctx.has_input(k) ? &ctx.input(k) : nullptr);
  }
  OpContext inner(n, ins, nullptr);
  standard_schema(op).run(inner);
  Tensor y = inner.outputs[0];
  if (y.dtype() != DType::f32)
    ctx.fail("element type {} is not supported (f32 only)", dtype_name(y.dtype()));
  return y;
}

void activate(const OpContext& ctx, Tensor& y) {
  const FusedActivation a = fused_activation_of(ctx.node);
  if (a.kind == ActivationKind::none) return;
  float* p = y.data<float>();
  for (int64_t i = 0; i < y.numel(); ++i) p[i] = apply_activation(a, p[i]);
}

void infer_fused_conv(InferContext& ctx) {
  infer_as(ctx, "Conv", 3);
  if (ctx.has_input(3)) {
    const TypeInfo& z = ctx.type(3);
    const TypeInfo& y = ctx.outputs[0];
    if (z.dtype != y.dtype) ctx.fail("Z has another element type than the convolution");
    if (z.has_shape && y.has_shape && z.dims.size() != y.dims.size())
      ctx.fail("Z has rank {}, the convolution's output rank {}", z.dims.size(), y.dims.size());
  }
}

void run_fused_conv(OpContext& ctx) {
  Tensor y = run_as(ctx, "Conv", 3);
  if (ctx.has_input(3)) {
    const Tensor& z = ctx.input(3);
    if (z.dtype() != DType::f32 || z.shape() != y.shape())
      ctx.fail("Z must be f32 of the output's shape [{}], got {} [{}]", fmt::join(y.shape(), ","),
               dtype_name(z.dtype()), fmt::join(z.shape(), ","));
    float* p = y.data<float>();
    const float* q = z.data<float>();
    for (int64_t i = 0; i < y.numel(); ++i) p[i] += q[i];
  }
  activate(ctx, y);
  ctx.outputs[0] = std::move(y);
}

void infer_fused_gemm(InferContext& ctx) { infer_as(ctx, "Gemm", 3); }

void run_fused_gemm(OpContext& ctx) {
  Tensor y = run_as(ctx, "Gemm", 3);
  activate(ctx, y);
  ctx.outputs[0] = std::move(y);
}

void infer_fused_matmul(InferContext& ctx) {
  infer_as(ctx, "MatMul", 2);
  if (ctx.has_input(2)) {
    const TypeInfo& b = ctx.type(2);
    if (b.has_shape && b.dims.size() != 1) ctx.fail("bias must be 1-D, got rank {}", b.dims.size());
  }
}

void run_fused_matmul(OpContext& ctx) {
  Tensor y = run_as(ctx, "MatMul", 2);
  if (ctx.has_input(2)) {
    const Tensor& bias = ctx.input(2);
    const int64_t n = y.rank() == 0 ? 1 : y.shape().back();
    if (bias.dtype() != DType::f32 || bias.rank() != 1 || bias.numel() != n)
      ctx.fail("bias must be f32 [{}], got {} [{}]", n, dtype_name(bias.dtype()),
               fmt::join(bias.shape(), ","));
    float* p = y.data<float>();
    const float* b = bias.data<float>();
    for (int64_t i = 0; i < y.numel(); ++i) p[i] += b[i % n];
  }
  activate(ctx, y);
  ctx.outputs[0] = std::move(y);
}

ActivationKind gelu_kind(const Node& node) {
  const std::string approx = node.attr_string("approximate", "none");
  if (approx == "none") return ActivationKind::gelu;
  if (approx == "tanh") return ActivationKind::gelu_tanh;
  throw Error(node.describe() + ": approximate must be 'none' or 'tanh', got '" + approx + "'");
}

void infer_gelu(InferContext& ctx) {
  gelu_kind(ctx.node);
  if (ctx.type(0).dtype != DType::f32) ctx.fail("element type must be f32");
  infer_same_as_input0(ctx);
}

void run_gelu(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::f32)
    ctx.fail("element type {} is not supported (f32 only)", dtype_name(x.dtype()));
  FusedActivation a;
  a.kind = gelu_kind(ctx.node);
  Tensor y(DType::f32, x.shape());
  const float* p = x.data<float>();
  float* q = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) q[i] = apply_activation(a, p[i]);
  ctx.outputs[0] = std::move(y);
}

// Strides that read `operand` (numpy-broadcast) at each index of `shape`; throws when the operand
// does not broadcast to exactly `shape`.
std::vector<int64_t> broadcast_strides_to(const OpContext& ctx, int input, const Shape& operand,
                                          const Shape& shape) {
  if (operand.size() > shape.size())
    ctx.fail("operand {} has rank {}, more than X's {}", input, operand.size(), shape.size());
  std::vector<int64_t> strides(shape.size(), 0);
  int64_t stride = 1;
  for (size_t k = operand.size(); k-- > 0;) {
    const size_t d = k + shape.size() - operand.size();
    if (operand[k] != 1 && operand[k] != shape[d])
      ctx.fail("operand {} [{}] does not broadcast to X's shape [{}]", input,
               fmt::join(operand, ","), fmt::join(shape, ","));
    strides[d] = operand[k] == 1 ? 0 : stride;
    stride *= operand[k];
  }
  return strides;
}

void infer_elementwise_chain(InferContext& ctx) {
  parse_elementwise_chain(ctx.node);
  const TypeInfo& x = ctx.type(0);
  if (x.dtype != DType::f32) ctx.fail("X must be f32");
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    const TypeInfo& o = ctx.type(i);
    if (o.dtype != DType::f32) ctx.fail("operand {} must be f32", i);
    if (o.has_shape && x.has_shape && o.dims.size() > x.dims.size())
      ctx.fail("operand {} has rank {}, more than X's {}", i, o.dims.size(), x.dims.size());
  }
  ctx.outputs[0] = x;
}

void run_elementwise_chain(OpContext& ctx) {
  const std::vector<ChainStep> steps = parse_elementwise_chain(ctx.node);
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::f32) ctx.fail("X must be f32, got {}", dtype_name(x.dtype()));
  const Shape& shape = x.shape();
  const size_t rank = shape.size();
  std::vector<const float*> operands(static_cast<size_t>(ctx.num_inputs()), nullptr);
  std::vector<std::vector<int64_t>> strides(operands.size());
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    const Tensor& o = ctx.input(i);
    if (o.dtype() != DType::f32)
      ctx.fail("operand {} must be f32, got {}", i, dtype_name(o.dtype()));
    operands[static_cast<size_t>(i)] = o.data<float>();
    strides[static_cast<size_t>(i)] = broadcast_strides_to(ctx, i, o.shape(), shape);
  }
  Tensor y(DType::f32, shape);
  const float* src = x.data<float>();
  float* dst = y.data<float>();
  // Walks the index of X like an odometer, keeping each operand's offset in step.
  std::vector<int64_t> index(rank, 0), offset(operands.size(), 0);
  for (int64_t e = 0; e < x.numel(); ++e) {
    float v = src[e];
    for (const ChainStep& s : steps) {
      const size_t k = static_cast<size_t>(s.operand);
      v = apply_chain_step(s, v, s.operand > 0 ? operands[k][offset[k]] : 0.0f);
    }
    dst[e] = v;
    for (size_t d = rank; d-- > 0;) {
      for (size_t k = 1; k < operands.size(); ++k) offset[k] += strides[k][d];
      if (++index[d] < shape[d]) break;
      for (size_t k = 1; k < operands.size(); ++k) offset[k] -= strides[k][d] * shape[d];
      index[d] = 0;
    }
  }
  ctx.outputs[0] = std::move(y);
}

}  // namespace

void register_fused_ops(OpRegistry& r) {
  r.add({"ElementwiseChain", kDomain, infer_elementwise_chain, run_elementwise_chain});
  r.add({"FusedConv", kDomain, infer_fused_conv, run_fused_conv});
  r.add({"FusedGemm", kDomain, infer_fused_gemm, run_fused_gemm});
  r.add({"FusedMatMul", kDomain, infer_fused_matmul, run_fused_matmul});
  r.add({"Gelu", kDomain, infer_gelu, run_gelu});
}

}  // namespace nnaccel
