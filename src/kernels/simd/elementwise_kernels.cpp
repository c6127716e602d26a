// Fast kernels for the float elementwise ops: the unary activations and math functions, the
// broadcasting binary arithmetic, ai.nnaccel Gelu and ElementwiseChain, and BatchNormalization
// in inference mode. All of them compile to one elementwise program (simd_api.hpp) evaluated in
// one pass over memory.
#include <cmath>
#include <limits>
#include <map>

#include "core/parallel.hpp"
#include "kernels/simd/simd_api.hpp"
#include "kernels/simd/simd_common.hpp"
#include "kernels/simd/simd_registration.hpp"

namespace nnaccel::simd {

namespace {

constexpr size_t kMaxOperands = 8;  // EvalElementwise's operand slots

// Where an operand's data comes from at run time.
struct OperandSource {
  int input = -1;            // node input index, or -1: `owned` below
  std::vector<float> owned;  // per-channel vectors computed at compile time (BatchNormalization)
  // A per-channel input of a blocked X is copied at run time into [rows, padded] floats,
  // channels [channels, padded) zero (EwOperand::block).
  int64_t rows = 0, channels = 0, padded = 0;
};

// [rows, channels] -> [rows, padded] with zeros after each row's channels.
std::vector<float> pad_channels(const float* data, int64_t rows, int64_t channels, int64_t padded) {
  std::vector<float> out(static_cast<size_t>(rows * padded), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    std::copy(data + r * channels, data + (r + 1) * channels, out.begin() + r * padded);
  return out;
}

// The EwOperand of a per-channel (k == C) or per-(n, c) (k == N * C) operand of blocked X.
EwOperand blocked_channel_operand(const ValueDesc& x, int64_t k) {
  const int64_t channels = x.shape[1], block = x.block;
  const Shape physical = x.physical_shape();
  EwOperand e;
  e.block = block;
  e.k = physical[1];
  e.inner = shape_numel(physical) / (physical[0] * physical[1]);
  e.n_stride = k == channels ? 0 : physical[1] * block;
  return e;
}

class ElementwiseKernel : public Kernel {
 public:
  ElementwiseKernel(std::string name, int x_input, EwProgram program,
                    std::vector<OperandSource> sources, int64_t count)
      : name_(std::move(name)),
        x_input_(x_input),
        program_(std::move(program)),
        sources_(std::move(sources)),
        count_(count) {
    for (size_t k = 0; k < sources_.size(); ++k)
      if (sources_[k].input < 0) program_.operands[k].data = sources_[k].owned.data();
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    EwProgram p = program_;
    p.x = inputs[static_cast<size_t>(x_input_)]->data<float>();
    p.y = outputs[0].data<float>();
    std::vector<std::vector<float>> padded;
    for (size_t k = 0; k < sources_.size(); ++k) {
      const OperandSource& src = sources_[k];
      if (src.input < 0) continue;
      p.operands[k].data = inputs[static_cast<size_t>(src.input)]->data<float>();
      if (src.rows > 0) {
        padded.push_back(pad_channels(p.operands[k].data, src.rows, src.channels, src.padded));
        p.operands[k].data = padded.back().data();
      }
    }
    parallel_for(count_, kParallelGrain,
                 [&](int64_t begin, int64_t end) { eval_elementwise(p, begin, end); });
  }

  std::string name() const override { return name_; }
  int inplace_input(int output) const override { return output == 0 && inplace_ ? x_input_ : -1; }
  // Off when an operand is X itself (x * sigmoid(x)): a later step would read the X values an
  // earlier step already overwrote in y.
  void set_inplace(bool inplace) { inplace_ = inplace; }

 private:
  std::string name_;
  int x_input_;
  bool inplace_ = true;
  EwProgram program_;
  std::vector<OperandSource> sources_;
  int64_t count_;
};

// The scalar semantics of one step (the reference's), for deciding layouts at compile time.
float eval_scalar(const EwStep& s, float x, float o) {
  if (s.op == ChainOp::clip) return std::min(std::max(x, s.p0), s.p1);
  if (s.op == ChainOp::pow && s.operand < 0) return s.p0 == 2.0f ? x * x : std::sqrt(x);
  ChainStep c{s.op, s.operand, s.p0, s.p1};
  return apply_chain_step(c, x, o);
}

// Builds the program for X = input `x_input` and the steps; each binary step's operand index
// in `steps` is a node input index and becomes an EwOperand here. Returns null when an operand
// does not broadcast in a supported way, or X is blocked and the program would not keep the
// padding zero.
std::unique_ptr<Kernel> make_elementwise(KernelRequest& r, const std::string& what, int x_input,
                                         std::vector<EwStep> steps) {
  if (!simd_enabled()) return nullptr;
  const ValueDesc* x = r.inputs[static_cast<size_t>(x_input)];
  if (!is_f32(x) || shape_numel(x->shape) == 0) return nullptr;
  if (r.outputs.size() != 1 || !is_f32(&r.outputs[0]) || r.outputs[0].shape != x->shape)
    return nullptr;
  const bool blocked = !x->plain();
  const Shape physical = x->physical_shape();
  const int64_t count = shape_numel(physical);
  EwProgram program;
  std::vector<OperandSource> sources;
  std::map<int, int> operand_of_input;
  std::vector<float> zero_values;  // each operand's value where X's padding is, when blocked
  for (EwStep& s : steps) {
    if (s.operand < 0) continue;
    const int input = s.operand;
    auto found = operand_of_input.find(input);
    if (found != operand_of_input.end()) {
      s.operand = found->second;
      continue;
    }
    const ValueDesc* o = r.inputs[static_cast<size_t>(input)];
    if (!is_f32(o) || sources.size() == kMaxOperands) return nullptr;
    EwOperand e;
    float value = 0.0f;
    OperandSource channel_source;
    if (blocked) {
      // Same logical shape and block: elementwise over the physical memory, padding 0 op 0.
      // A constant scalar: its value meets the zeros.
      // A per-channel or per-(n, c) operand: zero-padded to the blocks at run time.
      int64_t inner = 0, k = 0;
      const int64_t spatial = shape_numel(x->shape) / (x->shape[0] * x->shape[1]);
      if (o->block == x->block && o->shape == x->shape) {
        e.k = count;
      } else if (o->plain() && shape_numel(o->shape) == 1 &&
                 constant_scalar(r, static_cast<size_t>(input), value)) {
        e.k = 1;
      } else if (o->plain() && shape_numel(o->shape) > 1 &&
                 broadcast_pattern(o->shape, x->shape, inner, k) && inner == spatial &&
                 (k == x->shape[1] || k == x->shape[0] * x->shape[1])) {
        e = blocked_channel_operand(*x, k);
        channel_source.rows = k / x->shape[1];
        channel_source.channels = x->shape[1];
        channel_source.padded = e.k * x->block;
      } else {
        return nullptr;
      }
    } else if (!o->plain() || !broadcast_pattern(o->shape, x->shape, e.inner, e.k)) {
      return nullptr;
    }
    s.operand = static_cast<int>(sources.size());
    operand_of_input[input] = s.operand;
    program.operands.push_back(e);
    channel_source.input = input;
    sources.push_back(std::move(channel_source));
    zero_values.push_back(value);
  }
  if (blocked) {
    float v = 0.0f;
    for (const EwStep& s : steps)
      v = eval_scalar(s, v, s.operand >= 0 ? zero_values[static_cast<size_t>(s.operand)] : 0.0f);
    // Padding channels must stay 0 (also NaN); without any (C a multiple of the block) any f.
    if (v != 0.0f && x->shape[1] % x->block != 0) return nullptr;
    r.outputs[0].block = x->block;
  }
  const size_t program_steps = steps.size();
  program.steps = std::move(steps);
  auto kernel = std::make_unique<ElementwiseKernel>(kernel_name(what), x_input, std::move(program),
                                                    std::move(sources), count);
  // One step reads x and the operand at an index before writing y there: X as an operand is
  // harmless then.
  const std::string& x_name = r.node.inputs[static_cast<size_t>(x_input)];
  for (const auto& [input, operand] : operand_of_input)
    if (r.node.inputs[static_cast<size_t>(input)] == x_name && program_steps > 1)
      kernel->set_inplace(false);
  return kernel;
}

std::unique_ptr<Kernel> make_unary_step(KernelRequest& r, ChainOp op, float p0 = 0.0f,
                                        float p1 = 0.0f) {
  if (r.inputs.empty()) return nullptr;
  return make_elementwise(r, r.node.op_type, 0, {EwStep{op, -1, p0, p1}});
}

#define NNA_UNARY(fn, op) \
  std::unique_ptr<Kernel> fn(KernelRequest& r) { return make_unary_step(r, ChainOp::op); }
NNA_UNARY(make_relu, relu)
NNA_UNARY(make_sigmoid, sigmoid)
NNA_UNARY(make_tanh, tanh)
NNA_UNARY(make_exp, exp)
NNA_UNARY(make_log, log)
NNA_UNARY(make_sqrt, sqrt)
NNA_UNARY(make_neg, neg)
NNA_UNARY(make_abs, abs)
NNA_UNARY(make_erf, erf)
NNA_UNARY(make_hard_swish, hard_swish)
NNA_UNARY(make_softplus, softplus)
NNA_UNARY(make_reciprocal, reciprocal)
#undef NNA_UNARY

std::unique_ptr<Kernel> make_leaky_relu(KernelRequest& r) {
  return make_unary_step(r, ChainOp::leaky_relu, r.node.attr_float("alpha", 0.01f));
}

std::unique_ptr<Kernel> make_elu(KernelRequest& r) {
  return make_unary_step(r, ChainOp::elu, r.node.attr_float("alpha", 1.0f));
}

std::unique_ptr<Kernel> make_hard_sigmoid(KernelRequest& r) {
  return make_unary_step(r, ChainOp::hard_sigmoid, r.node.attr_float("alpha", 0.2f),
                         r.node.attr_float("beta", 0.5f));
}

// Clip with constant (or absent) bounds.
std::unique_ptr<Kernel> make_clip(KernelRequest& r) {
  float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
  for (size_t i = 1; i < r.inputs.size() && i < 3; ++i) {
    if (r.inputs[i] == nullptr) continue;
    if (!constant_scalar(r, i, i == 1 ? lo : hi)) return nullptr;
  }
  return make_unary_step(r, ChainOp::clip, lo, hi);
}

std::unique_ptr<Kernel> make_gelu(KernelRequest& r) {
  const std::string approximate = r.node.attr_string("approximate", "none");
  if (approximate != "none" && approximate != "tanh") return nullptr;
  return make_unary_step(r, approximate == "tanh" ? ChainOp::gelu_tanh : ChainOp::gelu);
}

// x^2 and x^0.5 as unary steps; other exponents would need a vector pow.
bool pow_as_unary(const KernelRequest& r, size_t exponent_input, EwStep& step) {
  float e = 0.0f;
  if (!constant_scalar(r, exponent_input, e) || (e != 2.0f && e != 0.5f)) return false;
  step = EwStep{ChainOp::pow, -1, e, 0.0f};
  return true;
}

std::unique_ptr<Kernel> make_binary(KernelRequest& r, ChainOp op, ChainOp reversed) {
  if (!simd_enabled() || r.inputs.size() != 2 || r.outputs.size() != 1) return nullptr;
  const ValueDesc* a = r.inputs[0];
  const ValueDesc* b = r.inputs[1];
  if (a == nullptr || b == nullptr) return nullptr;
  const Shape& out = r.outputs[0].shape;
  if (op == ChainOp::pow) {
    EwStep step;
    if (a->shape != out || !pow_as_unary(r, 1, step)) return nullptr;
    return make_elementwise(r, r.node.op_type, 0, {step});
  }
  // X is the operand with the output's shape; the other one broadcasts to it.
  if (a->shape == out && (b->shape != out || a->block == b->block))
    return make_elementwise(r, r.node.op_type, 0, {EwStep{op, 1, 0.0f, 0.0f}});
  if (b->shape == out)
    return make_elementwise(r, r.node.op_type, 1, {EwStep{reversed, 0, 0.0f, 0.0f}});
  return nullptr;
}

std::unique_ptr<Kernel> make_add(KernelRequest& r) {
  return make_binary(r, ChainOp::add, ChainOp::add);
}
std::unique_ptr<Kernel> make_sub(KernelRequest& r) {
  return make_binary(r, ChainOp::sub, ChainOp::rsub);
}
std::unique_ptr<Kernel> make_mul(KernelRequest& r) {
  return make_binary(r, ChainOp::mul, ChainOp::mul);
}
std::unique_ptr<Kernel> make_div(KernelRequest& r) {
  return make_binary(r, ChainOp::div, ChainOp::rdiv);
}
std::unique_ptr<Kernel> make_max(KernelRequest& r) {
  return make_binary(r, ChainOp::max, ChainOp::max);
}
std::unique_ptr<Kernel> make_min(KernelRequest& r) {
  return make_binary(r, ChainOp::min, ChainOp::min);
}
std::unique_ptr<Kernel> make_pow(KernelRequest& r) {
  return make_binary(r, ChainOp::pow, ChainOp::rpow);
}

std::unique_ptr<Kernel> make_chain(KernelRequest& r) {
  if (!simd_enabled()) return nullptr;
  std::vector<ChainStep> parsed = parse_elementwise_chain(r.node);
  std::vector<EwStep> steps;
  for (const ChainStep& c : parsed) {
    EwStep s{c.op, c.operand, c.p0, c.p1};
    if (c.op == ChainOp::rpow) return nullptr;
    if (c.op == ChainOp::pow && !pow_as_unary(r, static_cast<size_t>(c.operand), s)) return nullptr;
    // The chain's Clip returns min when min > max, ONNX's (and this engine's) max.
    if (c.op == ChainOp::clip && c.p0 > c.p1) return nullptr;
    steps.push_back(s);
  }
  return make_elementwise(r, "ElementwiseChain", 0, std::move(steps));
}

// Inference BatchNormalization with constant statistics: y = x * a[c] + b[c], a and b folded
// in double at compile time.
std::unique_ptr<Kernel> make_batch_norm(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.size() != 5 || r.outputs.size() != 1) return nullptr;
  if (r.node.attr_int("training_mode", 0) != 0) return nullptr;
  const ValueDesc* x = r.inputs[0];
  if (!is_f32(x) || x->shape.size() < 2 || shape_numel(x->shape) == 0) return nullptr;
  if (!is_f32(&r.outputs[0]) || r.outputs[0].shape != x->shape) return nullptr;
  const int64_t channels = x->shape[1];
  for (size_t i = 1; i < 5; ++i) {
    const Tensor* t = r.constants[i];
    if (t == nullptr || t->dtype() != DType::f32 || t->shape() != Shape{channels}) return nullptr;
  }
  const double eps = r.node.attr_float("epsilon", 1e-5f);
  std::vector<float> a(static_cast<size_t>(channels)), b(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const auto at = [&](size_t i) { return static_cast<double>(r.constants[i]->data<float>()[c]); };
    const double scale = at(1) / std::sqrt(at(4) + eps);
    a[static_cast<size_t>(c)] = static_cast<float>(scale);
    b[static_cast<size_t>(c)] = static_cast<float>(at(2) - at(3) * scale);
  }
  EwOperand per_channel{nullptr, shape_numel(x->shape) / (x->shape[0] * channels), channels};
  std::vector<OperandSource> sources(2);
  if (!x->plain()) {
    // Blocked X (y keeps its layout): the padding channels get x * 0 + 0.
    per_channel = blocked_channel_operand(*x, channels);
    a = pad_channels(a.data(), 1, channels, per_channel.k * x->block);
    b = pad_channels(b.data(), 1, channels, per_channel.k * x->block);
    r.outputs[0].block = x->block;
  }
  sources[0].owned = std::move(a);
  sources[1].owned = std::move(b);
  EwProgram program;
  program.operands = {per_channel, per_channel};
  program.steps = {EwStep{ChainOp::mul, 0, 0, 0}, EwStep{ChainOp::add, 1, 0, 0}};
  return std::make_unique<ElementwiseKernel>(kernel_name("BatchNormalization"), 0,
                                             std::move(program), std::move(sources),
                                             shape_numel(x->physical_shape()));
}

}  // namespace

void register_elementwise_kernels(KernelRegistry& reg) {
  const auto add = [&](const char* domain, const char* op, KernelFactory f) {
    reg.add({domain, op, "simd", f});
  };
  add("", "Relu", make_relu);
  add("", "LeakyRelu", make_leaky_relu);
  add("", "Sigmoid", make_sigmoid);
  add("", "Tanh", make_tanh);
  add("", "Exp", make_exp);
  add("", "Log", make_log);
  add("", "Sqrt", make_sqrt);
  add("", "Neg", make_neg);
  add("", "Abs", make_abs);
  add("", "Erf", make_erf);
  add("", "HardSigmoid", make_hard_sigmoid);
  add("", "HardSwish", make_hard_swish);
  add("", "Clip", make_clip);
  add("", "Elu", make_elu);
  add("", "Softplus", make_softplus);
  add("", "Reciprocal", make_reciprocal);
  add("ai.nnaccel", "Gelu", make_gelu);
  add("", "Add", make_add);
  add("", "Sub", make_sub);
  add("", "Mul", make_mul);
  add("", "Div", make_div);
  add("", "Max", make_max);
  add("", "Min", make_min);
  add("", "Pow", make_pow);
  add("ai.nnaccel", "ElementwiseChain", make_chain);
  add("", "BatchNormalization", make_batch_norm);
}

}  // namespace nnaccel::simd
