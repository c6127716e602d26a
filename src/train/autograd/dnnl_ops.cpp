#include "train/autograd/dnnl_ops.hpp"

#include <atomic>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <optional>

#include "core/parallel.hpp"
#include "kernels/dnnl/dnnl_common.hpp"
#include "kernels/dnnl/dnnl_int8.hpp"  // dnnl_type
#include "train/autograd/blocked_layout.hpp"
#include "train/autograd/grad_util.hpp"

namespace nnaccel::grad {

namespace {

using dnnl::memory;
using dnnl_kernels::cpu_engine;
using dt = memory::data_type;
using tag = memory::format_tag;

// One stream per thread: a stream is not meant to be shared by threads submitting work.
dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

memory::dims dims_of(const Shape& s) { return memory::dims(s.begin(), s.end()); }

std::atomic<bool> g_enabled{true};
thread_local bool t_bf16 = false;
thread_local std::string t_last_impl;

// One argument of a primitive whose data arrives (or leaves) as the caller's memory (plain f32,
// or an activation already blocked). When the primitive wants another layout or type, the data
// goes through a conversion into (or out of) a buffer kept for the next call: the per-step cost is
// the conversion, never an allocation.
//
// Small f32 tensors (weights, their gradients) are converted through an index table made once
// by oneDNN's own reorder, on the calling thread: a oneDNN reorder of a 16x16x3x3 weight takes
// ~40 us here, mostly waking the other threads, and a training step converts ~27 weights.
class Arg {
 public:
  Arg() = default;
  Arg(const memory::desc& given, const memory::desc& wanted)
      : given_(given), wanted_(wanted), wanted_type_(wanted.data_type()) {
    if (given == wanted) return;
    buffer_ = memory(wanted, cpu_engine());
    if (make_table()) return;
    to_buffer_ =
        dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), given, cpu_engine(), wanted));
    from_buffer_ =
        dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), wanted, cpu_engine(), given));
  }
  // The memory to hand the primitive for an input at `data`.
  memory in(const void* data) {
    memory given(given_, cpu_engine(), const_cast<void*>(data));
    if (!buffer_) return given;
    if (table_.empty()) {
      to_buffer_.execute(cpu_stream(), given, buffer_);
      return buffer_;
    }
    const auto* src = static_cast<const float*>(data);
    const size_t n = table_.size();
    if (wanted_type_ == dt::bf16) {
      auto* dst = static_cast<uint16_t*>(buffer_.get_data_handle());
      for (size_t j = 0; j < n; ++j) dst[j] = table_[j] > 0 ? f32_to_bf16(src[table_[j] - 1]) : 0;
    } else {
      auto* dst = static_cast<float*>(buffer_.get_data_handle());
      for (size_t j = 0; j < n; ++j) dst[j] = table_[j] > 0 ? src[table_[j] - 1] : 0.0f;
    }
    return buffer_;
  }
  // The memory the primitive writes an output to; finish() then puts it at `data`.
  memory out(void* data) { return buffer_ ? buffer_ : memory(given_, cpu_engine(), data); }
  void finish(void* data) {
    if (!buffer_) return;
    if (table_.empty() || wanted_type_ != dt::f32) {
      memory given(given_, cpu_engine(), data);
      from_buffer_.execute(cpu_stream(), buffer_, given);
      return;
    }
    const auto* src = static_cast<const float*>(buffer_.get_data_handle());
    auto* dst = static_cast<float*>(data);
    for (size_t j = 0; j < table_.size(); ++j)
      if (table_[j] > 0) dst[table_[j] - 1] = src[j];
  }
  dt wanted_type() const { return wanted_type_; }
  // Whether in() converts, and into which descriptor.
  bool converts() const { return static_cast<bool>(buffer_); }
  const memory& buffer() const { return buffer_; }
  const memory::desc& wanted() const { return wanted_; }

 private:
  // For a small f32 tensor: table_[j] = 1 + the given element that wanted element j holds, 0 for
  // padding. Made by reordering the element numbers 1..n (exact in f32) into the wanted layout
  // (as f32); an output converted back in bf16 keeps oneDNN's reorders.
  bool make_table() {
    constexpr int64_t kMaxElements = int64_t{1} << 16;
    const int64_t n = static_cast<int64_t>(given_.get_size() / sizeof(float));
    if (given_.data_type() != dt::f32 || (wanted_type_ != dt::f32 && wanted_type_ != dt::bf16) ||
        n > kMaxElements || given_.data.format_kind != dnnl_blocked ||
        wanted_.data.format_kind != dnnl_blocked)
      return false;
    memory::desc wanted_f32 = wanted_;
    wanted_f32.data.data_type = dnnl_f32;
    std::vector<float> numbers(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) numbers[static_cast<size_t>(i)] = static_cast<float>(i + 1);
    std::vector<float> placed(wanted_f32.get_size() / sizeof(float));
    memory from(given_, cpu_engine(), numbers.data()), to(wanted_f32, cpu_engine(), placed.data());
    dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), given_, cpu_engine(), wanted_f32))
        .execute(cpu_stream(), from, to);
    cpu_stream().wait();
    table_.resize(placed.size());
    for (size_t j = 0; j < placed.size(); ++j) table_[j] = static_cast<int32_t>(placed[j]);
    if (wanted_type_ != dt::f32)
      from_buffer_ =
          dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), wanted_, cpu_engine(), given_));
    return true;
  }

  memory::desc given_, wanted_;
  dt wanted_type_ = dt::f32;
  memory buffer_;
  dnnl::reorder to_buffer_, from_buffer_;
  std::vector<int32_t> table_;
};

// A primitive with its arguments converted from and to plain f32, and its scratchpad.
struct Plan {
  dnnl::primitive prim;
  std::vector<std::pair<int, Arg>> inputs;
  int output_id = 0;
  Arg output;
  memory scratch;
  std::string impl;

  // `converted`: inputs already in the wanted descriptor, by argument id (not converted again).
  void run(const std::vector<const void*>& ins, void* out,
           const std::unordered_map<int, memory>& converted = {}) {
    std::unordered_map<int, memory> args;
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto it = converted.find(inputs[i].first);
      args[inputs[i].first] = it != converted.end() ? it->second : inputs[i].second.in(ins[i]);
    }
    args[output_id] = output.out(out);
    args[DNNL_ARG_SCRATCHPAD] = scratch;
    prim.execute(cpu_stream(), args);
    output.finish(out);
    cpu_stream().wait();
    t_last_impl = impl;
  }

  const Arg* input_arg(int id) const {
    for (const auto& [arg_id, arg] : inputs)
      if (arg_id == id) return &arg;
    return nullptr;
  }
};

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// The plans of this thread by what they compute; a training step needs a few dozen.
std::map<std::vector<int64_t>, std::unique_ptr<Plan>>& plans() {
  thread_local std::map<std::vector<int64_t>, std::unique_ptr<Plan>> cache;
  return cache;
}

// Bounds the cache so that a process running many shapes (the test suite) does not keep every
// buffer. Called once per public entry, before it takes plans: plans it holds stay valid.
void trim_plans() {
  if (plans().size() > 256) plans().clear();
}

// The geometry of one convolution in oneDNN's terms; `ok` is false when oneDNN cannot express
// it. Activations are described as the caller holds them: plain f32, or channel-blocked
// (blocked_layout.hpp) in f32 or bf16, which the primitive then reads and writes in place.
struct ConvSetup {
  bool ok = false;
  int rank = 0;
  memory::dims src_dims, wei_dims, dst_dims;  // logical
  memory::desc src, wei, dst, bias;           // as the caller holds them
  bool src_blocked = false, dst_blocked = false;
  memory::dims strides, dilates, pad_l, pad_r;

  memory::desc any(const memory::dims& d, dt type) const { return {d, type, tag::any}; }
  // Blocked activations of the wanted type are taken as they are; anything else as oneDNN likes.
  memory::desc src_as(dt type) const {
    return src_blocked && src.data_type() == type ? src : any(src_dims, type);
  }
  memory::desc dst_as(dt type) const {
    return dst_blocked && dst.data_type() == type ? dst : any(dst_dims, type);
  }
  // bf16 when a Bf16Products scope lives or an activation is held in bf16.
  dt operand() const {
    return t_bf16 || src.data_type() == dt::bf16 || dst.data_type() == dt::bf16 ? dt::bf16
                                                                                : dt::f32;
  }
  // Identifies the convolution for the plan cache.
  std::vector<int64_t> key(int64_t kind) const {
    std::vector<int64_t> k = {kind,
                              operand() == dt::bf16 ? 1 : 0,
                              thread_count(),
                              rank,
                              src_blocked ? 1 + static_cast<int64_t>(src.data_type()) : 0,
                              dst_blocked ? 1 + static_cast<int64_t>(dst.data_type()) : 0};
    for (const auto* v : {&src_dims, &wei_dims, &dst_dims, &strides, &dilates, &pad_l, &pad_r})
      k.insert(k.end(), v->begin(), v->end());
    return k;
  }
};

// Plain layouts of activations, weights and grouped weights by spatial rank (1 to 3).
const tag act_tags[] = {tag::ncw, tag::nchw, tag::ncdhw};
const tag wei_tags[] = {tag::oiw, tag::oihw, tag::oidhw};
const tag gwei_tags[] = {tag::goiw, tag::goihw, tag::goidhw};

// The descriptor of activation `t` of a convolution with `r` spatial dims, and its logical dims.
memory::desc act_desc(const Tensor& t, size_t r, memory::dims& logical, bool& blocked) {
  blocked = blocked_layout::is_blocked(t, r);
  if (!blocked) {
    logical = dims_of(t.shape());
    return memory::desc(logical, dt::f32, act_tags[r - 1]);
  }
  const Shape l = blocked_layout::logical_shape(t);
  logical = dims_of(l);
  return dnnl_kernels::blocked_desc(l, blocked_layout::block_of(t),
                                    dnnl_kernels::dnnl_type(t.dtype()));
}

ConvSetup conv_setup(const Tensor& x, const Shape& w, const Tensor& y, int64_t group,
                     const nn::Window& win) {
  ConvSetup s;
  const size_t r = win.rank();
  auto fits = [r](const Tensor& t) {
    return static_cast<size_t>(t.rank()) == r + 2 || blocked_layout::is_blocked(t, r);
  };
  if (r < 1 || r > 3 || !fits(x) || !fits(y)) return s;
  for (size_t i = 0; i < r; ++i) {
    const int64_t ext = (win.kernel[i] - 1) * win.dilations[i] + 1;
    const int64_t pr = (win.out[i] - 1) * win.strides[i] + ext - win.in[i] - win.pads_begin[i];
    // The right pad is what makes oneDNN's output size exact; it is negative when the last input
    // rows are read by no window (1x1 stride-2 convolutions of even sizes), which oneDNN takes.
    if (win.pads_begin[i] < 0) return s;
    s.strides.push_back(win.strides[i]);
    s.dilates.push_back(win.dilations[i] - 1);
    s.pad_l.push_back(win.pads_begin[i]);
    s.pad_r.push_back(pr);
  }
  s.rank = static_cast<int>(r);
  s.src = act_desc(x, r, s.src_dims, s.src_blocked);
  s.dst = act_desc(y, r, s.dst_dims, s.dst_blocked);
  if (group == 1) {
    s.wei_dims = dims_of(w);
    s.wei = memory::desc(s.wei_dims, dt::f32, wei_tags[r - 1]);
  } else {
    if (s.src_blocked || s.dst_blocked) return s;
    s.wei_dims = {group, w[0] / group};
    s.wei_dims.insert(s.wei_dims.end(), w.begin() + 1, w.end());
    s.wei = memory::desc(s.wei_dims, dt::f32, gwei_tags[r - 1]);
  }
  s.bias = memory::desc({w[0]}, dt::f32, tag::x);
  s.ok = true;
  return s;
}

// Descriptors for one attempt: every layout left to oneDNN (its blocked direct kernels are
// several times faster here than the gemm-based ones plain NCHW gets), or all plain.
struct ConvDescs {
  memory::desc src, wei, dst;  // operand type except where the primitive outputs f32
};

ConvDescs conv_descs(const ConvSetup& s, bool any, dt src_t, dt wei_t, dt dst_t) {
  if (any) return {s.src_as(src_t), s.any(s.wei_dims, wei_t), s.dst_as(dst_t)};
  const int r = s.rank;
  const bool grouped = s.wei_dims.size() == s.src_dims.size() + 1;
  return {memory::desc(s.src_dims, src_t, act_tags[r - 1]),
          memory::desc(s.wei_dims, wei_t, grouped ? gwei_tags[r - 1] : wei_tags[r - 1]),
          memory::desc(s.dst_dims, dst_t, act_tags[r - 1])};
}

// Tries the blocked then the plain descriptors; keeps the first that is not oneDNN's reference
// kernel (or the reference when nothing else exists). `make(descs)` returns an empty pd when
// oneDNN has no implementation.
template <typename Pd, typename Make>
Pd choose(const ConvSetup& s, dt src_t, dt wei_t, dt dst_t, const Make& make) {
  Pd fallback;
  for (bool any : {true, false}) {
    Pd pd = make(conv_descs(s, any, src_t, wei_t, dst_t));
    if (!pd) continue;
    if (!dnnl_kernels::is_reference_impl(pd)) return pd;
    if (!fallback) fallback = pd;
  }
  return fallback;
}

using ConvFwd = dnnl::convolution_forward;
using ConvBwdData = dnnl::convolution_backward_data;
using ConvBwdWeights = dnnl::convolution_backward_weights;

ConvFwd::primitive_desc forward_pd(const ConvSetup& s, bool with_bias) {
  const dt op = s.operand();
  return choose<ConvFwd::primitive_desc>(s, op, op, s.dst.data_type(), [&](const ConvDescs& d) {
    const auto desc =
        with_bias
            ? ConvFwd::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                            d.src, d.wei, s.bias, d.dst, s.strides, s.dilates, s.pad_l, s.pad_r)
            : ConvFwd::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                            d.src, d.wei, d.dst, s.strides, s.dilates, s.pad_l, s.pad_r);
    return ConvFwd::primitive_desc(desc, user_scratchpad(), cpu_engine(), true);
  });
}

template <typename Pd>
void finish_plan(Plan& p, const Pd& pd, dnnl::primitive prim) {
  p.prim = std::move(prim);
  p.scratch = memory(pd.scratchpad_desc(), cpu_engine());
  bool bf16 = false;
  for (const auto& in : p.inputs) bf16 = bf16 || in.second.wanted_type() == dt::bf16;
  p.impl = dnnl_kernels::impl_name(pd) + (bf16 ? " bf16" : " f32");
}

Plan* forward_plan(const ConvSetup& s, bool with_bias) {
  auto& slot = plans()[s.key(with_bias ? 1 : 0)];
  if (slot) return slot.get();
  const auto pd = forward_pd(s, with_bias);
  if (!pd) return nullptr;
  auto p = std::make_unique<Plan>();
  p->inputs.emplace_back(DNNL_ARG_SRC, Arg(s.src, pd.src_desc()));
  p->inputs.emplace_back(DNNL_ARG_WEIGHTS, Arg(s.wei, pd.weights_desc()));
  if (with_bias) p->inputs.emplace_back(DNNL_ARG_BIAS, Arg(s.bias, pd.bias_desc()));
  p->output_id = DNNL_ARG_DST;
  p->output = Arg(s.dst, pd.dst_desc());
  finish_plan(*p, pd, ConvFwd(pd));
  slot = std::move(p);
  return slot.get();
}

Plan* backward_data_plan(const ConvSetup& s) {
  auto& slot = plans()[s.key(2)];
  if (slot) return slot.get();
  const auto hint = forward_pd(s, false);
  if (!hint) return nullptr;
  const dt op = s.operand();
  const auto pd =
      choose<ConvBwdData::primitive_desc>(s, s.src.data_type(), op, op, [&](const ConvDescs& d) {
        const ConvBwdData::desc desc(dnnl::algorithm::convolution_direct, d.src, d.wei, d.dst,
                                     s.strides, s.dilates, s.pad_l, s.pad_r);
        return ConvBwdData::primitive_desc(desc, user_scratchpad(), cpu_engine(), hint, true);
      });
  if (!pd) return nullptr;
  auto p = std::make_unique<Plan>();
  p->inputs.emplace_back(DNNL_ARG_DIFF_DST, Arg(s.dst, pd.diff_dst_desc()));
  p->inputs.emplace_back(DNNL_ARG_WEIGHTS, Arg(s.wei, pd.weights_desc()));
  p->output_id = DNNL_ARG_DIFF_SRC;
  p->output = Arg(s.src, pd.diff_src_desc());
  finish_plan(*p, pd, ConvBwdData(pd));
  slot = std::move(p);
  return slot.get();
}

// bf16 weight gradients keep oneDNN's first choice, its direct jit_bf16 kernels, on any thread
// count. They reduce the threads' partial gradients behind a spinning barrier, so on a machine
// whose cores are busy with other work a step can stall (measured here under load ~10 on 2
// cores: 2.7 s against 0.15 s with the gemm-based kernel), but on idle cores they are twice as
// fast as the gemm-based ones (resnet-s, 2 threads: 18.7 against 40 ms per bf16 step), and an idle
// machine is what training is run on.
Plan* backward_weights_plan(const ConvSetup& s) {
  auto& slot = plans()[s.key(3)];
  if (slot) return slot.get();
  const auto hint = forward_pd(s, false);
  if (!hint) return nullptr;
  const dt op = s.operand();
  const auto pd =
      choose<ConvBwdWeights::primitive_desc>(s, op, dt::f32, op, [&](const ConvDescs& d) {
        const ConvBwdWeights::desc desc(dnnl::algorithm::convolution_direct, d.src, d.wei, d.dst,
                                        s.strides, s.dilates, s.pad_l, s.pad_r);
        return ConvBwdWeights::primitive_desc(desc, user_scratchpad(), cpu_engine(), hint, true);
      });
  if (!pd) return nullptr;
  auto p = std::make_unique<Plan>();
  p->inputs.emplace_back(DNNL_ARG_SRC, Arg(s.src, pd.src_desc()));
  p->inputs.emplace_back(DNNL_ARG_DIFF_DST, Arg(s.dst, pd.diff_dst_desc()));
  p->output_id = DNNL_ARG_DIFF_WEIGHTS;
  p->output = Arg(s.wei, pd.diff_weights_desc());
  finish_plan(*p, pd, ConvBwdWeights(pd));
  slot = std::move(p);
  return slot.get();
}

}  // namespace

void set_dnnl_enabled(bool enabled) { g_enabled = enabled; }
bool dnnl_enabled() { return g_enabled; }

Bf16Products::Bf16Products(bool on) : previous_(t_bf16) { t_bf16 = on; }
Bf16Products::~Bf16Products() { t_bf16 = previous_; }
bool bf16_products() { return t_bf16; }

const std::string& last_dnnl_impl() { return t_last_impl; }

bool conv_forward_dnnl(const Tensor& x, const Tensor& w, const Tensor* b, int64_t group,
                       const nn::Window& win, Tensor& y) {
  if (!dnnl_enabled() || x.numel() == 0 || y.numel() == 0) return false;
  trim_plans();
  const ConvSetup s = conv_setup(x, w.shape(), y, group, win);
  if (!s.ok) return false;
  Plan* p = forward_plan(s, b != nullptr);
  if (p == nullptr) return false;
  std::vector<const void*> ins = {x.raw(), w.raw()};
  if (b != nullptr) ins.push_back(b->raw());
  p->run(ins, y.raw());
  return true;
}

bool conv_backward_dnnl(const Tensor& x, const Tensor& w, const Tensor& dy, int64_t group,
                        const nn::Window& win, Tensor* dx, Tensor* dw) {
  if (!dnnl_enabled() || x.numel() == 0 || dy.numel() == 0) return false;
  trim_plans();
  const ConvSetup s = conv_setup(x, w.shape(), dy, group, win);
  if (!s.ok) return false;
  Plan* data = dx != nullptr ? backward_data_plan(s) : nullptr;
  Plan* weights = dw != nullptr ? backward_weights_plan(s) : nullptr;
  if ((dx != nullptr && data == nullptr) || (dw != nullptr && weights == nullptr)) return false;
  if (dx != nullptr) {
    *dx = uninitialized(x.dtype(), x.shape());
    data->run({dy.raw(), w.raw()}, dx->raw());
  }
  if (dw != nullptr) {
    // Both products read d y; when they want it in the same layout it is converted once.
    std::unordered_map<int, memory> converted;
    const Arg* a = data != nullptr ? data->input_arg(DNNL_ARG_DIFF_DST) : nullptr;
    const Arg* b = weights->input_arg(DNNL_ARG_DIFF_DST);
    if (a != nullptr && b != nullptr && a->converts() && a->wanted() == b->wanted())
      converted[DNNL_ARG_DIFF_DST] = a->buffer();
    *dw = uninitialized(DType::f32, w.shape());
    weights->run({x.raw(), dy.raw()}, dw->raw(), converted);
  }
  return true;
}

bool conv_backward_data_dnnl(const Tensor& w, const Tensor& dy, int64_t group,
                             const nn::Window& win, Tensor& dx) {
  if (!dnnl_enabled() || dx.numel() == 0 || dy.numel() == 0) return false;
  trim_plans();
  const ConvSetup s = conv_setup(dx, w.shape(), dy, group, win);
  if (!s.ok) return false;
  Plan* p = backward_data_plan(s);
  if (p == nullptr) return false;
  p->run({dy.raw(), w.raw()}, dx.raw());
  return true;
}

void matmul_dnnl(const float* a, bool trans_a, const float* b, bool trans_b, float* y,
                 int64_t batch, int64_t m, int64_t k, int64_t n, float alpha) {
  trim_plans();
  const bool bf16 = t_bf16;
  uint32_t alpha_bits = 0;
  std::memcpy(&alpha_bits, &alpha, sizeof alpha);
  auto& slot = plans()[{4, bf16 ? 1 : 0, thread_count(), batch, m, k, n, trans_a ? 1 : 0,
                        trans_b ? 1 : 0, static_cast<int64_t>(alpha_bits)}];
  if (!slot) {
    // Transposed operands are the same memory with swapped strides. In f32 the primitive reads
    // them as they are; in bf16 they are converted into the primitive's own layout.
    const memory::desc a_md({batch, m, k}, dt::f32,
                            trans_a ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1});
    const memory::desc b_md({batch, k, n}, dt::f32,
                            trans_b ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
    const memory::desc y_md({batch, m, n}, dt::f32, memory::dims{m * n, n, 1});
    dnnl::primitive_attr attr = user_scratchpad();
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    dnnl::matmul::primitive_desc pd;
    if (bf16) {
      const memory::desc a_bf({batch, m, k}, dt::bf16, tag::abc);
      for (tag t : {tag::any, tag::abc}) {
        pd = dnnl::matmul::primitive_desc(
            dnnl::matmul::desc(a_bf, memory::desc({batch, k, n}, dt::bf16, t), y_md), attr,
            cpu_engine(), true);
        if (pd && !dnnl_kernels::is_reference_impl(pd)) break;
      }
    }
    if (!pd)
      pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, y_md), attr, cpu_engine());
    auto p = std::make_unique<Plan>();
    p->inputs.emplace_back(DNNL_ARG_SRC, Arg(a_md, pd.src_desc()));
    p->inputs.emplace_back(DNNL_ARG_WEIGHTS, Arg(b_md, pd.weights_desc()));
    p->output_id = DNNL_ARG_DST;
    p->output = Arg(y_md, pd.dst_desc());
    finish_plan(*p, pd, dnnl::matmul(pd));
    slot = std::move(p);
  }
  slot->run({a, b}, y);
}

}  // namespace nnaccel::grad
