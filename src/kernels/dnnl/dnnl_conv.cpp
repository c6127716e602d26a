// Conv, ai.nnaccel FusedConv and ConvTranspose on oneDNN: the primitive is created once per plan
// (shapes are fixed), the weights are reordered once into the format the primitive chose, the
// bias, residual (sum post-op) and activation (eltwise post-ops) run inside the primitive.
#include <cstring>
#include <optional>

#include "kernels/dnnl/dnnl_common.hpp"
#include "kernels/dnnl/dnnl_factories.hpp"
#include "ops/nn_common.hpp"

namespace nnaccel::dnnl_kernels {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// Spatial geometry in oneDNN's terms (dilation counted from 0).
struct Geometry {
  Dims strides, dilates, pad_l, pad_r;
};

class ConvKernel : public Kernel {
 public:
  struct Parts {
    dnnl::primitive prim;
    dnnl::memory::desc src_given, src_wanted;
    dnnl::memory::desc dst;        // the primitive's
    dnnl::memory::desc dst_given;  // the caller's: reordered to from dst when they differ
    dnnl::memory::desc scratch;
    Tensor weights;  // packed, owned
    dnnl::memory::desc weights_md;
    bool has_bias = false;
    Tensor bias;  // owned copy when the bias is a constant
    int z_input = -1;
    dnnl::memory::desc z_given;
    std::string name;
    int weights_input = 1;
  };

  explicit ConvKernel(Parts p) : p_(std::move(p)), src_(p_.src_given, p_.src_wanted) {
    auto& eng = cpu_engine();
    weights_mem_ = dnnl::memory(p_.weights_md, eng, p_.weights.raw());
    if (p_.dst_given != p_.dst) {
      dst_buffer_ = buffer_for(p_.dst);
      dst_mem_ = dnnl::memory(p_.dst, eng, dst_buffer_.raw());
      out_mem_ = dnnl::memory(p_.dst_given, eng, nullptr);
      out_reorder_ = dnnl::reorder(dst_mem_, out_mem_);
    } else {
      dst_mem_ = dnnl::memory(p_.dst, eng, nullptr);
    }
    scratch_ = buffer_for(p_.scratch);
    scratch_mem_ = dnnl::memory(p_.scratch, eng, scratch_.raw());
    if (p_.has_bias) {
      Dims bd = {p_.dst.dims()[1]};
      bias_mem_ =
          dnnl::memory({bd, dt::f32, tag::x}, eng, p_.bias.defined() ? p_.bias.raw() : nullptr);
    }
    if (p_.z_input >= 0 && p_.z_given != p_.dst) {
      z_mem_ = dnnl::memory(p_.z_given, eng, nullptr);
      z_reorder_ = dnnl::reorder(z_mem_, dst_mem_);
    }
    args_ = {{DNNL_ARG_SRC, src_.target()},
             {DNNL_ARG_WEIGHTS, weights_mem_},
             {DNNL_ARG_DST, dst_mem_},
             {DNNL_ARG_SCRATCHPAD, scratch_mem_}};
    if (p_.has_bias) args_[DNNL_ARG_BIAS] = bias_mem_;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    auto& s = cpu_stream();
    const bool own_dst = dst_buffer_.defined();
    if (!own_dst) dst_mem_.set_data_handle(outputs[0].raw());
    if (p_.z_input >= 0) {
      // The sum post-op adds what dst holds: put Z there first (nothing to do when aliased).
      const Tensor& z = *inputs[static_cast<size_t>(p_.z_input)];
      if (p_.z_given != p_.dst) {
        z_mem_.set_data_handle(const_cast<void*>(z.raw()));
        z_reorder_.execute(s, z_mem_, dst_mem_);
      } else {
        // Same layout: into the primitive's destination, the output or the kernel's buffer.
        void* dst = own_dst ? dst_buffer_.raw() : outputs[0].raw();
        if (z.raw() != dst) std::memcpy(dst, z.raw(), p_.dst.get_size());
      }
    }
    src_.bind(inputs[0]->raw());
    if (p_.has_bias && !p_.bias.defined())
      bias_mem_.set_data_handle(const_cast<void*>(inputs[2]->raw()));
    p_.prim.execute(s, args_);
    if (own_dst) {
      out_mem_.set_data_handle(outputs[0].raw());
      out_reorder_.execute(s, dst_mem_, out_mem_);
    }
    s.wait();
  }

  std::string name() const override { return p_.name; }
  bool computes_in_bf16() const override {
    return p_.weights_md.data_type() == dnnl::memory::data_type::bf16;
  }
  uint64_t packed_bytes() const override {
    return p_.weights.nbytes() + (p_.bias.defined() ? p_.bias.nbytes() : 0);
  }
  bool owns_constant(int input) const override {
    return input == p_.weights_input || (input == 2 && p_.bias.defined());
  }
  int inplace_input(int output) const override {
    return output == 0 && p_.z_input >= 0 && p_.z_given == p_.dst && p_.dst == p_.dst_given
               ? p_.z_input
               : -1;
  }

 private:
  Parts p_;
  InputAdapter src_;
  dnnl::memory weights_mem_, bias_mem_, dst_mem_, scratch_mem_, z_mem_, out_mem_;
  dnnl::reorder z_reorder_, out_reorder_;
  Tensor scratch_, dst_buffer_;
  std::unordered_map<int, dnnl::memory> args_;  // built once: run() only sets data handles
};

std::string layout_name(const ValueDesc& in, const ValueDesc& out) {
  auto one = [](const ValueDesc& v) {
    return (v.plain() ? std::string("plain") : "blocked" + std::to_string(v.block)) +
           (v.dtype == DType::bf16 ? " bf16" : "");
  };
  return one(in) + "->" + one(out);
}

// What Conv and ConvTranspose share: checks of dtypes and constants, the precision, and the
// output layout loop (blocked first when the readers take it, else plain).
struct Common {
  const ValueDesc* x = nullptr;
  const Tensor* w = nullptr;
  bool has_bias = false;
  int z_input = -1;
  bool bf16 = false;
  FusedActivation act;
};

std::optional<Common> check_common(KernelRequest& r, bool allow_z) {
  Common c;
  if (r.inputs.size() < 2 || r.inputs[0] == nullptr || r.inputs[1] == nullptr) return {};
  c.x = r.inputs[0];
  c.bf16 = r.options.precision == Precision::bf16 && cpu_has_bf16();
  // bf16 values come only from a bf16 convolution writing for bf16 readers (consumers_take_bf16).
  auto takes = [&](DType t) { return t == DType::f32 || (c.bf16 && t == DType::bf16); };
  if (!takes(c.x->dtype) || !c.x->known || r.outputs.size() != 1) return {};
  if (r.outputs[0].dtype != DType::f32 || !r.outputs[0].known) return {};
  const size_t rank = c.x->shape.size();
  if (rank < 3 || rank > 5 || r.outputs[0].shape.size() != rank) return {};
  c.w = r.constants.size() > 1 ? r.constants[1] : nullptr;
  if (c.w == nullptr || c.w->dtype() != DType::f32) return {};
  for (int64_t d : c.x->shape)
    if (d <= 0) return {};
  c.has_bias = r.inputs.size() > 2 && r.inputs[2] != nullptr;
  if (c.has_bias && (r.inputs[2]->dtype != DType::f32 || !r.inputs[2]->plain())) return {};
  if (r.inputs.size() > 3 && r.inputs[3] != nullptr) {
    if (!allow_z || !takes(r.inputs[3]->dtype) || r.inputs[3]->shape != r.outputs[0].shape)
      return {};
    c.z_input = 3;
  }
  if (r.inputs.size() > 4) return {};
  c.act = activation_of(r.node);
  return c;
}

// Builds a kernel for each candidate output layout until oneDNN offers an optimized one.
template <typename MakePd>
std::unique_ptr<Kernel> build(KernelRequest& r, const Common& c, const char* what,
                              const MakePd& make_pd) {
  std::vector<int64_t> blocks;
  if (consumers_take_blocked(r, 0)) blocks.push_back(channel_block());
  const DType out_type = c.bf16 && consumers_take_bf16(r, 0) ? DType::bf16 : DType::f32;
  blocks.push_back(0);
  // Candidates, best first: the input as it comes, then reordered to the primitive's choice
  // (oneDNN has only reference kernels for some blocked-in/plain-out pairs); a plain output
  // written directly, then through the primitive's own format and a reorder (oneDNN's direct
  // kernels do not write plain NCHW: a gemm kernel would, ~1.5x slower here than direct + reorder).
  struct Candidate {
    int64_t block;
    bool src_any, dst_any;
  };
  std::vector<Candidate> candidates;
  const bool src_fixed_first = !c.x->plain() && !c.bf16;
  for (int64_t block : blocks) {
    if (src_fixed_first) candidates.push_back({block, false, false});
    candidates.push_back({block, true, false});
    if (block == 0) candidates.push_back({block, true, true});
  }
  // 2: a direct kernel; 1: gemm-based; 0: oneDNN's reference (plain only, still faster than ours).
  auto score = [](const dnnl::primitive_desc_base& pd) {
    const std::string n = impl_name(pd);
    return n.rfind("ref", 0) == 0 ? 0 : n.find("gemm") != std::string::npos ? 1 : 2;
  };
  std::optional<std::tuple<dnnl::primitive_desc_base, dnnl::primitive, dnnl::memory::desc>> best;
  Candidate best_c{};
  int best_score = -1;
  for (const Candidate& cand : candidates) {
    ValueDesc out = r.outputs[0];
    out.block = cand.block;
    out.dtype = out_type;
    dnnl::post_ops ops;
    if (c.z_input >= 0) ops.append_sum(1.0f);
    if (!append_activation(ops, c.act)) return nullptr;
    dnnl::primitive_attr attr = base_attr();
    attr.set_post_ops(ops);
    const dt in_type = c.bf16 ? dt::bf16 : dt::f32;
    dnnl::memory::desc src_md =
        cand.src_any ? dnnl::memory::desc(dims_of(c.x->shape), in_type, tag::any) : desc_of(*c.x);
    dnnl::memory::desc dst_md =
        cand.dst_any ? dnnl::memory::desc(dims_of(out.shape),
                                          out_type == DType::bf16 ? dt::bf16 : dt::f32, tag::any)
                     : desc_of(out);
    auto made = make_pd(src_md, dst_md, in_type, attr);
    if (!made) continue;
    int sc = score(std::get<0>(*made));
    if (sc == 0 && !(cand.src_any && cand.block == 0)) continue;
    // The first candidate of a block that has a direct kernel wins; a blocked layout's gemm
    // is no better than a plain one's, so blocked candidates must score 2.
    if (cand.block != 0 && sc < 2) continue;
    if (sc > best_score) {
      best = std::move(made);
      best_c = cand;
      best_score = sc;
    }
    if (best_score == 2) break;
  }
  if (!best) return nullptr;
  auto& [pd, prim, w_given] = *best;
  ValueDesc out = r.outputs[0];
  out.block = best_c.block;
  out.dtype = out_type;
  ConvKernel::Parts p;
  p.prim = prim;
  p.src_given = desc_of(*c.x);
  p.src_wanted = pd.src_desc();
  p.dst = pd.dst_desc();
  p.dst_given = desc_of(out);
  p.scratch = pd.scratchpad_desc();
  p.weights_md = pd.weights_desc();
  p.weights = reorder_constant(r, *c.w, w_given, p.weights_md);
  p.has_bias = c.has_bias;
  if (c.has_bias && r.constants.size() > 2 && r.constants[2] != nullptr)
    p.bias = r.constants[2]->clone();
  p.z_input = c.z_input;
  if (c.z_input >= 0) p.z_given = desc_of(*r.inputs[3]);
  p.name = std::string("dnnl ") + what + " " + impl_name(pd) + (c.bf16 ? " bf16 " : " ") +
           layout_name(*c.x, out) + (p.dst != p.dst_given ? " (via reorder)" : "");
  r.outputs[0].block = best_c.block;
  r.outputs[0].dtype = out_type;
  return std::make_unique<ConvKernel>(std::move(p));
}

// Weights as given: [O, I/g, k...] or, grouped, [g, O/g, I/g, k...] over the same memory.
dnnl::memory::desc grouped_weights_desc(const Shape& w, int64_t group) {
  Shape s = w;
  if (group > 1) {
    s.insert(s.begin(), group);
    s[1] /= group;
  }
  return plain_desc(s, dt::f32);
}

using PdResult =
    std::optional<std::tuple<dnnl::primitive_desc_base, dnnl::primitive, dnnl::memory::desc>>;

}  // namespace

namespace {

std::unique_ptr<Kernel> make_conv_nd(KernelRequest& r);

// Conv1d as Conv2d over [N, C, 1, W]: oneDNN 2.6's fast depthwise and 1x1 kernels are 2-D, and
// for 1-D it falls back to gemm (Silero VAD's depthwise convs ran ~10x slower). The memory of
// ncw / nCw16c and of nchw / nChw16c with H = 1 is the same.
std::unique_ptr<Kernel> make_conv_1d_as_2d(KernelRequest& r) {
  auto widen = [](Shape s) {
    s.insert(s.begin() + 2, 1);
    return s;
  };
  std::vector<ValueDesc> in(r.inputs.size());
  std::vector<const ValueDesc*> in_ptrs;
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    if (r.inputs[i] == nullptr) {
      in_ptrs.push_back(nullptr);
      continue;
    }
    in[i] = *r.inputs[i];
    if (i != 2) in[i].shape = widen(in[i].shape);  // X, W, Z; the bias stays 1-D
    in_ptrs.push_back(&in[i]);
  }
  Tensor w4 = r.constants[1]->reshaped(widen(r.constants[1]->shape()));
  std::vector<const Tensor*> constants = r.constants;
  constants[1] = &w4;
  std::vector<ValueDesc> outs = r.outputs;
  outs[0].shape = widen(outs[0].shape);
  Node n = r.node;
  auto prepend = [&](const char* name, int64_t v) {
    if (const Attribute* a = r.node.attr(name)) {
      std::vector<int64_t> vals = a->ints;
      vals.insert(vals.begin(), v);
      n.set_attr(Attribute::of_ints(name, vals));
    }
  };
  prepend("kernel_shape", 1);
  prepend("strides", 1);
  prepend("dilations", 1);
  if (const Attribute* a = r.node.attr("pads"); a != nullptr && a->ints.size() == 2)
    n.set_attr(Attribute::of_ints("pads", {0, a->ints[0], 0, a->ints[1]}));
  KernelRequest r2{n, r.graph, in_ptrs, constants, outs, r.options};
  r2.value_types = r.value_types;
  std::unique_ptr<Kernel> k = make_conv_nd(r2);
  if (k) r.outputs[0].block = r2.outputs[0].block;
  return k;
}

}  // namespace

std::unique_ptr<Kernel> make_dnnl_conv(KernelRequest& r) {
  if (r.inputs.size() >= 2 && r.inputs[0] != nullptr && r.inputs[0]->shape.size() == 3 &&
      r.constants.size() > 1 && r.constants[1] != nullptr && r.constants[1]->rank() == 3)
    return make_conv_1d_as_2d(r);
  return make_conv_nd(r);
}

namespace {

// Winograd (oneDNN's F(2x3) / F(4x3)) for 3x3 stride-1 fp32 convolutions with at least 64
// input and output channels: 1.5-2x faster than the direct kernel here at batch 1 and 32
// (ResNet-18's 3x3 layers, 2 threads, bench/RESULTS.md), where oneDNN's own convolution_auto
// keeps direct below batch 16. Fewer channels leave its transforms a larger share of the work.
// Its packed weights are 16/9 or 36/9 the size of the layer's, so only layers whose input and
// output outweigh their weights take it: on every 3x3 layer ResNet-18's packed weights grew from
// 44.6 to 76.4 MiB, and at batch 1 its 14x14 and 7x7 layers are mostly weights.
bool winograd_pays(const Shape& xs, const Shape& ws, const Shape& ys, int64_t group,
                   const Geometry& g, dt in_type) {
  if (in_type != dt::f32 || group != 1 || ws.size() != 4 || ws[2] != 3 || ws[3] != 3) return false;
  if (ws[0] < 64 || ws[1] < 64) return false;
  for (size_t i = 0; i < g.strides.size(); ++i)
    if (g.strides[i] != 1 || g.dilates[i] != 0) return false;
  return shape_numel(xs) + shape_numel(ys) >= shape_numel(ws);
}

std::unique_ptr<Kernel> make_conv_nd(KernelRequest& r) {
  CreationThreads threads(r.options);
  auto c = check_common(r, r.node.domain == "ai.nnaccel");
  if (!c) return nullptr;
  const Shape& xs = c->x->shape;
  const Shape& ws = c->w->shape();
  const Shape& ys = r.outputs[0].shape;
  const int64_t group = r.node.attr_int("group", 1);
  if (ws.size() != xs.size() || group < 1 || xs[1] % group != 0 || ws[0] % group != 0 ||
      ws[1] * group != xs[1] || ys[1] != ws[0])
    return nullptr;
  nn::Window win =
      nn::resolve_window(r.node, {xs.begin() + 2, xs.end()}, {ws.begin() + 2, ws.end()}, false);
  Geometry g;
  for (size_t i = 0; i < win.rank(); ++i) {
    if (win.pads_begin[i] < 0 || win.pads_end[i] < 0 || win.out[i] != ys[i + 2]) return nullptr;
    g.strides.push_back(win.strides[i]);
    g.dilates.push_back(win.dilations[i] - 1);
    g.pad_l.push_back(win.pads_begin[i]);
    // ONNX and oneDNN both floor (in + pads - extent) / stride: the pads carry over as they are.
    g.pad_r.push_back(win.pads_end[i]);
  }
  const dnnl::memory::desc w_given = grouped_weights_desc(ws, group);
  return build(r, *c, "conv",
               [&](const dnnl::memory::desc& src, const dnnl::memory::desc& dst, dt in_type,
                   const dnnl::primitive_attr& attr) -> PdResult {
                 Dims wd = w_given.dims();
                 dnnl::memory::desc w_any(wd, in_type, tag::any);
                 dnnl::memory::desc b_md = c->has_bias
                                               ? dnnl::memory::desc({ys[1]}, dt::f32, tag::x)
                                               : dnnl::memory::desc();
                 try {
                   if (winograd_pays(xs, ws, ys, group, g, in_type)) {
                     dnnl::convolution_forward::desc d(
                         dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd,
                         src, w_any, b_md, dst, g.strides, g.dilates, g.pad_l, g.pad_r);
                     try {
                       dnnl::convolution_forward::primitive_desc pd(d, attr, cpu_engine());
                       return std::make_tuple(dnnl::primitive_desc_base(pd),
                                              dnnl::primitive(dnnl::convolution_forward(pd)),
                                              w_given);
                     } catch (const dnnl::error&) {
                       // Not for this layout or CPU: the direct convolution below.
                     }
                   }
                   dnnl::convolution_forward::desc d(
                       dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
                       w_any, b_md, dst, g.strides, g.dilates, g.pad_l, g.pad_r);
                   dnnl::convolution_forward::primitive_desc pd(d, attr, cpu_engine());
                   return std::make_tuple(dnnl::primitive_desc_base(pd),
                                          dnnl::primitive(dnnl::convolution_forward(pd)), w_given);
                 } catch (const dnnl::error&) {
                   return std::nullopt;
                 }
               });
}

}  // namespace

std::unique_ptr<Kernel> make_dnnl_conv_transpose(KernelRequest& r) {
  CreationThreads threads(r.options);
  auto c = check_common(r, false);
  if (!c) return nullptr;
  const Shape& xs = c->x->shape;
  const Shape& ws = c->w->shape();
  const Shape& ys = r.outputs[0].shape;
  const int64_t group = r.node.attr_int("group", 1);
  if (ws.size() != xs.size() || group < 1 || ws[0] != xs[1] || xs[1] % group != 0 ||
      ys[1] != ws[1] * group)
    return nullptr;
  // Explicit pads only (output_shape and SAME padding are left to the reference).
  const std::string auto_pad = r.node.attr_string("auto_pad", "NOTSET");
  if ((auto_pad != "NOTSET" && auto_pad != "VALID") || r.node.has_attr("output_shape"))
    return nullptr;
  nn::Window win = nn::read_window_attrs(r.node, xs.size() - 2);
  Geometry g;
  for (size_t i = 0; i + 2 < xs.size(); ++i) {
    const int64_t pl = auto_pad == "VALID" ? 0 : win.pads_begin[i];
    const int64_t ek = (ws[i + 2] - 1) * win.dilations[i] + 1;
    const int64_t pr = (xs[i + 2] - 1) * win.strides[i] + ek - pl - ys[i + 2];
    // pr < 0 (output_padding beyond the pads) is a valid oneDNN deconvolution padding.
    if (pl < 0) return nullptr;
    g.strides.push_back(win.strides[i]);
    g.dilates.push_back(win.dilations[i] - 1);
    g.pad_l.push_back(pl);
    g.pad_r.push_back(pr);
  }
  // ONNX weights are [I, O/g, k...]; oneDNN's are [(g,) O/g, I/g, k...]: swap the two axes
  // through strides and let the reorder to the chosen format do the transpose.
  const int64_t in_g = xs[1] / group, out_g = ws[1];
  const int64_t ksize = nn::product(ws, 2);
  Dims wd = {out_g, in_g};
  Dims strides = {ksize, out_g * ksize};
  if (group > 1) {
    wd.insert(wd.begin(), group);
    strides.insert(strides.begin(), in_g * out_g * ksize);
  }
  Dims kstr;
  for (size_t i = 2; i < ws.size(); ++i) wd.push_back(ws[i]);
  int64_t st = 1;
  for (size_t i = ws.size(); i-- > 2;) {
    kstr.insert(kstr.begin(), st);
    st *= ws[i];
  }
  strides.insert(strides.end(), kstr.begin(), kstr.end());
  const dnnl::memory::desc w_given(wd, dt::f32, strides);
  return build(
      r, *c, "deconv",
      [&](const dnnl::memory::desc& src, const dnnl::memory::desc& dst, dt in_type,
          const dnnl::primitive_attr& attr) -> PdResult {
        dnnl::memory::desc w_any(wd, in_type, tag::any);
        dnnl::memory::desc b_md =
            c->has_bias ? dnnl::memory::desc({ys[1]}, dt::f32, tag::x) : dnnl::memory::desc();
        try {
          dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                              dnnl::algorithm::deconvolution_direct, src, w_any,
                                              b_md, dst, g.strides, g.dilates, g.pad_l, g.pad_r);
          dnnl::deconvolution_forward::primitive_desc pd(d, attr, cpu_engine());
          return std::make_tuple(dnnl::primitive_desc_base(pd),
                                 dnnl::primitive(dnnl::deconvolution_forward(pd)), w_given);
        } catch (const dnnl::error&) {
          return std::nullopt;
        }
      });
}

}  // namespace nnaccel::dnnl_kernels
