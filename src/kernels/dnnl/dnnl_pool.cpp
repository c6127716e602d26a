// MaxPool, AveragePool and the global pools on oneDNN, plain or channel-blocked. A blocked
// input gives a blocked output (pooling keeps channels apart, so the layout carries through).
// MaxPool also takes u8/i8 (int8-transparent in a quantized model: the integers are
// pooled unchanged), plain, blocked or channels-last (dnnl_int8.hpp), and bf16 between bf16
// convolutions (dnnl_common.hpp, consumers_take_bf16).
#include <algorithm>

#include "kernels/dnnl/dnnl_common.hpp"
#include "kernels/dnnl/dnnl_factories.hpp"
#include "kernels/dnnl/dnnl_int8.hpp"
#include "ops/nn_common.hpp"

namespace nnaccel::dnnl_kernels {

namespace {

using dt = dnnl::memory::data_type;

class PoolKernel : public Kernel {
 public:
  PoolKernel(const dnnl::pooling_v2_forward::primitive_desc& pd, std::string name)
      : prim_(pd), name_(std::move(name)) {
    src_ = dnnl::memory(pd.src_desc(), cpu_engine(), nullptr);
    dst_ = dnnl::memory(pd.dst_desc(), cpu_engine(), nullptr);
    scratch_ = buffer_for(pd.scratchpad_desc());
    scratch_mem_ = dnnl::memory(pd.scratchpad_desc(), cpu_engine(), scratch_.raw());
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    src_.set_data_handle(const_cast<void*>(inputs[0]->raw()));
    dst_.set_data_handle(outputs[0].raw());
    prim_.execute(
        cpu_stream(),
        {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}, {DNNL_ARG_SCRATCHPAD, scratch_mem_}});
    cpu_stream().wait();
  }
  std::string name() const override { return name_; }

 private:
  dnnl::pooling_v2_forward prim_;
  std::string name_;
  dnnl::memory src_, dst_, scratch_mem_;
  Tensor scratch_;
};

}  // namespace

std::unique_ptr<Kernel> make_dnnl_pool(KernelRequest& r) {
  CreationThreads threads(r.options);
  const std::string& op = r.node.op_type;
  if (r.inputs.empty() || r.inputs[0] == nullptr || r.outputs.empty()) return nullptr;
  const ValueDesc& x = *r.inputs[0];
  // MaxPool's Indices output is the reference's.
  if (r.outputs.size() > 1 && !r.node.outputs[1].empty()) return nullptr;
  const size_t rank = x.shape.size();
  const bool global = op == "GlobalAveragePool" || op == "GlobalMaxPool";
  const bool is_max = op == "MaxPool" || op == "GlobalMaxPool";
  const bool int8 = x.dtype == DType::u8 || x.dtype == DType::i8;
  // ONNX's GlobalMaxPool is float-only (its reference rejects integers).
  // bf16 between bf16 convolutions (consumers_take_bf16): MaxPool keeps it.
  const bool bf16 = x.dtype == DType::bf16 && op == "MaxPool";
  if ((x.dtype != DType::f32 && !(int8 && op == "MaxPool") && !bf16) || !x.known || rank < 3 ||
      rank > 5)
    return nullptr;
  const ValueDesc& y = r.outputs[0];
  if ((y.dtype != x.dtype && !bf16) || !y.known || y.shape.size() != rank) return nullptr;
  for (int64_t d : x.shape)
    if (d <= 0) return nullptr;
  // A blocked graph output would have to be converted back: let the compiler offer plain.
  if (!x.plain() && r.is_graph_output(0)) return nullptr;

  std::vector<int64_t> in(x.shape.begin() + 2, x.shape.end());
  nn::Window win;
  bool count_include_pad = false;
  if (global) {
    win.in = in;
    win.kernel = in;
    win.out.assign(in.size(), 1);
    win.strides.assign(in.size(), 1);
    win.dilations.assign(in.size(), 1);
    win.pads_begin.assign(in.size(), 0);
    win.pads_end.assign(in.size(), 0);
  } else {
    std::vector<int64_t> kernel = nn::required_kernel_shape(r.node, in.size());
    const bool ceil_mode = r.node.attr_int("ceil_mode", 0) == 1;
    win = nn::resolve_window(r.node, in, kernel, ceil_mode);
    count_include_pad = op == "AveragePool" && r.node.attr_int("count_include_pad", 0) == 1;
  }
  Dims strides, kernel, dilates, pad_l, pad_r;
  for (size_t i = 0; i < in.size(); ++i) {
    if (win.out[i] != y.shape[i + 2] || win.pads_begin[i] < 0 || win.pads_end[i] < 0)
      return nullptr;
    const int64_t ek = (win.kernel[i] - 1) * win.dilations[i] + 1;
    // ceil_mode can ask for a right pad beyond the attribute's: positions there are not
    // counted by count_include_pad, which oneDNN cannot express.
    // Both floor (in + pads - extent) / stride; ceil_mode may need a larger right pad.
    const int64_t pr = std::max(win.pads_end[i],
                                (win.out[i] - 1) * win.strides[i] + ek - in[i] - win.pads_begin[i]);
    if (pr >= ek || win.pads_begin[i] >= ek) return nullptr;
    if (count_include_pad && pr != win.pads_end[i]) return nullptr;
    strides.push_back(win.strides[i]);
    kernel.push_back(win.kernel[i]);
    dilates.push_back(win.dilations[i] - 1);
    pad_l.push_back(win.pads_begin[i]);
    pad_r.push_back(pr);
  }
  ValueDesc out = y;
  out.block = x.block;
  out.dtype = x.dtype;
  const dnnl::algorithm alg = is_max              ? dnnl::algorithm::pooling_max
                              : count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                                  : dnnl::algorithm::pooling_avg_exclude_padding;
  std::optional<dnnl::memory::desc> x_md = int_desc(x), out_md = int_desc(out);
  if (!x_md || !out_md) return nullptr;
  try {
    dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, *x_md, *out_md,
                                     strides, kernel, dilates, pad_l, pad_r);
    dnnl::pooling_v2_forward::primitive_desc pd(d, base_attr(), cpu_engine());
    if (is_reference_impl(pd) && !x.plain()) return nullptr;
    r.outputs[0].block = x.block;
    r.outputs[0].dtype = x.dtype;
    const std::string layout = x.plain()                     ? " plain"
                               : int8 && is_channels_last(x) ? " nhwc"
                                                             : " blocked";
    return std::make_unique<PoolKernel>(pd, "dnnl pool " + impl_name(pd) +
                                                (int8   ? " int8"
                                                 : bf16 ? " bf16"
                                                        : "") +
                                                layout);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

}  // namespace nnaccel::dnnl_kernels
