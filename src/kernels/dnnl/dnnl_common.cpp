#include "kernels/dnnl/dnnl_common.hpp"

#include <cstring>
#include <optional>
#include <set>

#include "core/parallel.hpp"
#include "ir/graph_walk.hpp"
#include "nnaccel/error.hpp"
#include "ops/elementwise_chain.hpp"

namespace nnaccel::dnnl_kernels {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream stream(cpu_engine());
  return stream;
}

namespace {
// cpu_isa values are bit sets: an ISA includes every lower one's bits.
bool isa_at_least(dnnl::cpu_isa have, dnnl::cpu_isa want) {
  auto h = static_cast<unsigned>(have), w = static_cast<unsigned>(want);
  return (h & w) == w;
}
}  // namespace

int64_t channel_block() {
  static const int64_t block = [] {
    dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
    if (isa_at_least(isa, dnnl::cpu_isa::avx512_core)) return int64_t{16};
    if (isa_at_least(isa, dnnl::cpu_isa::avx2)) return int64_t{8};
    return int64_t{0};
  }();
  return block;
}

bool cpu_has_bf16() {
  static const bool has =
      isa_at_least(dnnl::get_effective_cpu_isa(), dnnl::cpu_isa::avx512_core_bf16);
  return has;
}

dnnl::memory::desc plain_desc(const Shape& shape, dt type) {
  Dims dims = dims_of(shape);
  Dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return dnnl::memory::desc(dims, type, strides);
}

dnnl::memory::desc blocked_desc(const Shape& shape, int64_t block, dt type) {
  const size_t rank = shape.size();
  if (rank >= 3 && block == shape[1] && block != 8 && block != 16) {
    // One block of all channels: channels-last (the int8 kernels' layout, dnnl_int8.hpp), which
    // a per-tensor DequantizeLinear or a pool may pass on to a float value.
    Dims strides(rank, 0);
    int64_t s = shape[1];
    strides[1] = 1;
    for (size_t d = rank; d-- > 2;) {
      strides[d] = s;
      s *= shape[d];
    }
    strides[0] = s;
    return dnnl::memory::desc(dims_of(shape), type, strides);
  }
  tag t = tag::undef;
  if (block == 16) t = rank == 3 ? tag::nCw16c : rank == 4 ? tag::nChw16c : tag::nCdhw16c;
  if (block == 8) t = rank == 3 ? tag::nCw8c : rank == 4 ? tag::nChw8c : tag::nCdhw8c;
  return dnnl::memory::desc(dims_of(shape), type, t);
}

dnnl::memory::desc desc_of(const ValueDesc& v) {
  const dt type = v.dtype == DType::bf16 ? dt::bf16 : dt::f32;
  return v.plain() ? plain_desc(v.shape, type) : blocked_desc(v.shape, v.block, type);
}

bool append_activation(dnnl::post_ops& ops, const FusedActivation& a) {
  using alg = dnnl::algorithm;
  switch (a.kind) {
    case ActivationKind::none:
      return true;
    case ActivationKind::relu:
      ops.append_eltwise(1.0f, alg::eltwise_relu, 0.0f, 0.0f);
      return true;
    case ActivationKind::leaky_relu:
      ops.append_eltwise(1.0f, alg::eltwise_relu, a.alpha, 0.0f);
      return true;
    case ActivationKind::clip:
      // The reference returns min below min even when min > max; oneDNN clamps the other way.
      if (!(a.alpha <= a.beta)) return false;
      ops.append_eltwise(1.0f, alg::eltwise_clip, a.alpha, a.beta);
      return true;
    case ActivationKind::hard_sigmoid:  // oneDNN 2.6 has no hardsigmoid: linear, then clip
      ops.append_eltwise(1.0f, alg::eltwise_linear, a.alpha, a.beta);
      ops.append_eltwise(1.0f, alg::eltwise_clip, 0.0f, 1.0f);
      return true;
    case ActivationKind::hard_swish:
      ops.append_eltwise(1.0f, alg::eltwise_hardswish, 0.0f, 0.0f);
      return true;
    case ActivationKind::sigmoid:
      ops.append_eltwise(1.0f, alg::eltwise_logistic, 0.0f, 0.0f);
      return true;
    case ActivationKind::gelu:
      ops.append_eltwise(1.0f, alg::eltwise_gelu_erf, 0.0f, 0.0f);
      return true;
    case ActivationKind::gelu_tanh:
      ops.append_eltwise(1.0f, alg::eltwise_gelu_tanh, 0.0f, 0.0f);
      return true;
    case ActivationKind::tanh:
      ops.append_eltwise(1.0f, alg::eltwise_tanh, 0.0f, 0.0f);
      return true;
  }
  return false;
}

FusedActivation activation_of(const Node& node) {
  if (node.domain != "ai.nnaccel") return {};
  return fused_activation_of(node);
}

namespace {

bool is_unary_elementwise(const std::string& op) {
  static const char* const kOps[] = {"Relu",        "LeakyRelu", "Clip", "Sigmoid",
                                     "HardSigmoid", "HardSwish", "Tanh", "Elu",
                                     "Selu",        "Gelu",      "Abs",  "Neg",
                                     "Exp",         "Softplus",  "Mish", "Identity",
                                     "Sqrt",        "Erf",       "Celu", "ThresholdedRelu"};
  for (const char* o : kOps)
    if (op == o) return true;
  return false;
}

// The shape of value `name`: from the compiler's shape inference, else a declared value info.
std::optional<Shape> shape_of(const KernelRequest& request, const std::string& name) {
  if (request.value_types != nullptr) {
    auto it = request.value_types->find(name);
    if (it != request.value_types->end() && it->second.fully_known())
      return it->second.known_shape();
  }
  if (auto init = request.graph.initializers.find(name); init != request.graph.initializers.end())
    return init->second.shape();
  const ValueInfo* vi = request.graph.find_value_info(name);
  if (vi != nullptr && vi->type.fully_known()) return vi->type.known_shape();
  return std::nullopt;
}

// An operand a blocked elementwise kernel combines with a blocked value of `shape`: the same
// shape, a scalar, or one value per channel ([1 or N, C, 1, ...]).
bool blocked_operand(const std::optional<Shape>& s, const Shape& shape) {
  if (!s) return false;
  if (*s == shape || shape_numel(*s) == 1) return true;
  if (s->size() != shape.size()) return false;
  for (size_t d = 0; d < shape.size(); ++d) {
    const int64_t want = d == 1 ? shape[1] : 1;
    if ((*s)[d] != want && !(d == 0 && (*s)[0] == shape[0])) return false;
  }
  return true;
}

// Whether `reader` takes `value` (of `shape`) blocked.
bool reader_takes_blocked(const KernelRequest& request, const Node& reader,
                          const std::string& value, const Shape& shape) {
  const Graph& graph = request.graph;
  const std::string& op = reader.op_type;
  const bool onnx = reader.domain.empty() || reader.domain == "ai.onnx";
  if (reader.domain == "ai.nnaccel" && op == "ElementwiseChain") {
    // The chain's input, other operands scalar constants or the input itself, and 0 mapped to 0
    // (the padding channels stay zero): HardSwish and friends as exporters write them. Without
    // padding channels (C a multiple of the block) any such chain: Paddle's scalar affines.
    if (reader.inputs.empty() || reader.inputs[0] != value) return false;
    std::vector<float> operand(reader.inputs.size(), 0.0f);
    for (size_t i = 1; i < reader.inputs.size(); ++i) {
      if (reader.inputs[i] == value) continue;  // x * f(x): the same blocked value, 0 at padding
      auto init = graph.initializers.find(reader.inputs[i]);
      if (init == graph.initializers.end() || init->second.numel() != 1 ||
          init->second.dtype() != DType::f32)
        return false;
      operand[i] = init->second.data<float>()[0];
    }
    float x = 0.0f;
    try {
      for (const ChainStep& s : parse_elementwise_chain(reader))
        x = apply_chain_step(s, x, s.operand >= 0 ? operand[static_cast<size_t>(s.operand)] : 0.0f);
    } catch (const Error&) {
      return false;
    }
    return x == 0.0f || shape[1] % channel_block() == 0;
  }
  if (reader.domain == "ai.nnaccel" && op == "FusedConv") {
    // X and Z only: the weights and bias are never activations.
    for (size_t i = 0; i < reader.inputs.size(); ++i)
      if (reader.inputs[i] == value && i != 0 && i != 3) return false;
    return true;
  }
  if (!onnx) return false;
  if (op == "Conv" || op == "ConvTranspose")
    return reader.inputs.size() > 0 && reader.inputs[0] == value &&
           (reader.inputs.size() < 2 || reader.inputs[1] != value);
  if (op == "MaxPool") return reader.outputs.size() < 2 || reader.outputs[1].empty();
  if (op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool") return true;
  if (is_unary_elementwise(op)) return reader.inputs.size() == 1 || op == "Clip";
  if (op == "Add" || op == "Mul" || op == "Sub" || op == "Div") {
    // The other operand: the same shape, a scalar or per channel (the simd kernels take those
    // on blocked values; anything else would need the plain layout).
    for (const std::string& in : reader.inputs)
      if (in != value && !blocked_operand(shape_of(request, in), shape)) return false;
    return true;
  }
  return false;
}

}  // namespace

bool consumers_take_blocked(const KernelRequest& request, int output) {
  if (channel_block() == 0 || request.is_graph_output(output)) return false;
  const ValueDesc& out = request.outputs.at(static_cast<size_t>(output));
  if (out.shape.size() < 3 || out.shape.size() > 5 || out.dtype != DType::f32) return false;
  std::vector<const Node*> readers = request.consumers(output);
  if (readers.empty()) return false;
  const std::string& name = request.node.outputs.at(static_cast<size_t>(output));
  // Only readers some fast kernel may run: the reference kernels read plain values, and a
  // conversion per reader would cost more than the blocked layout saves.
  const KernelRegistry& registry = KernelRegistry::instance();
  for (const Node* r : readers)
    if (registry.find(r->domain, r->op_type).empty() ||
        !reader_takes_blocked(request, *r, name, out.shape))
      return false;
  return true;
}

namespace {

bool read_by_subgraph_or_output(const Graph& g, const std::string& name) {
  for (const ValueInfo& v : g.outputs)
    if (v.name == name) return true;
  for (const Node& n : g.nodes) {
    if (!has_subgraph(n)) continue;
    std::set<std::string> reads;
    collect_subgraph_reads(n, reads);
    if (reads.count(name)) return true;
  }
  return false;
}

// Whether `r` may read `name` (rank `rank`) in bf16: a convolution the dnnl kernel runs reading
// it as input or residual, or (one level) a MaxPool whose readers all are.
bool reads_bf16(const Graph& g, const Node& r, const std::string& name, size_t rank, bool pool_ok) {
  const bool onnx = r.domain.empty() || r.domain == "ai.onnx";
  if (pool_ok && onnx && r.op_type == "MaxPool") {
    if (r.inputs.size() != 1 || (r.outputs.size() > 1 && !r.outputs[1].empty())) return false;
    const std::string& out = r.outputs[0];
    if (read_by_subgraph_or_output(g, out)) return false;
    const std::vector<const Node*> next = readers_of(g, out);
    if (next.empty()) return false;
    for (const Node* n : next)
      if (!reads_bf16(g, *n, out, rank, false)) return false;
    return true;
  }
  const bool fused = r.domain == "ai.nnaccel" && r.op_type == "FusedConv";
  if (!fused && !(onnx && r.op_type == "Conv")) return false;
  for (size_t i = 0; i < r.inputs.size(); ++i)
    if (r.inputs[i] == name && i != 0 && !(fused && i == 3)) return false;
  // What the conv factory needs besides the input: a constant f32 weight of the input's rank
  // and an activation oneDNN has; otherwise the reference, which reads f32 only, would run it.
  if (r.inputs.size() < 2) return false;
  auto w = g.initializers.find(r.inputs[1]);
  if (w == g.initializers.end() || w->second.dtype() != DType::f32 ||
      w->second.rank() != static_cast<int>(rank))
    return false;
  dnnl::post_ops ops;
  return append_activation(ops, activation_of(r));
}

}  // namespace

bool consumers_take_bf16(const KernelRequest& request, int output) {
  if (request.options.precision != Precision::bf16 || !cpu_has_bf16()) return false;
  const ValueDesc& out = request.outputs.at(static_cast<size_t>(output));
  if (out.shape.size() < 3 || out.shape.size() > 5) return false;
  const std::string& name = request.node.outputs.at(static_cast<size_t>(output));
  const Graph& g = request.graph;
  if (name.empty() || read_by_subgraph_or_output(g, name)) return false;
  const std::vector<const Node*> readers = request.consumers(output);
  if (readers.empty()) return false;
  for (const Node* r : readers)
    if (!reads_bf16(g, *r, name, out.shape.size(), true)) return false;
  return true;
}

Tensor buffer_for(const dnnl::memory::desc& md) {
  const int64_t floats = static_cast<int64_t>((md.get_size() + 3) / 4);
  return Tensor(DType::f32, {floats > 0 ? floats : 1});
}

std::string impl_name(const dnnl::primitive_desc_base& pd) { return pd.impl_info_str(); }

bool is_reference_impl(const dnnl::primitive_desc_base& pd) {
  return impl_name(pd).rfind("ref", 0) == 0;
}

InputAdapter::InputAdapter(const dnnl::memory::desc& given, const dnnl::memory::desc& wanted)
    : given_(given, cpu_engine(), nullptr) {
  if (given == wanted) {
    wanted_ = given_;
    return;
  }
  buffer_ = buffer_for(wanted);
  wanted_ = dnnl::memory(wanted, cpu_engine(), buffer_.raw());
  reorder_ = std::make_unique<dnnl::reorder>(given_, wanted_);
}

dnnl::memory& InputAdapter::bind(const void* ptr) {
  given_.set_data_handle(const_cast<void*>(ptr));
  if (reorder_ != nullptr) {
    reorder_->execute(cpu_stream(), given_, wanted_);
    return wanted_;
  }
  return given_;
}

Tensor reorder_constant(const KernelRequest& r, const Tensor& t, const dnnl::memory::desc& given,
                        const dnnl::memory::desc& wanted) {
  auto pack = [&] {
    Tensor out = buffer_for(wanted);
    dnnl::memory src(given, cpu_engine(), const_cast<void*>(t.raw()));
    dnnl::memory dst(wanted, cpu_engine(), out.raw());
    dnnl::reorder(src, dst).execute(cpu_stream(), src, dst);
    cpu_stream().wait();
    return out;
  };
  if (r.packed == nullptr) return pack();
  // The two descriptors' bytes name the format (oneDNN zero-fills them before setting fields).
  std::string format(reinterpret_cast<const char*>(&given.data), sizeof(given.data));
  format.append(reinterpret_cast<const char*>(&wanted.data), sizeof(wanted.data));
  return r.packed->get(t, format, pack);
}

CreationThreads::CreationThreads(const CompileOptions& options) : saved_(thread_count()) {
  set_thread_count(options.threads);
}

CreationThreads::~CreationThreads() { set_thread_count(saved_); }

dnnl::primitive_attr base_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

}  // namespace nnaccel::dnnl_kernels
