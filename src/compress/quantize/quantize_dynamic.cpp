#include "compress/quantize/quantize_dynamic.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "core/check.hpp"
#include "ir/graph_walk.hpp"
#include "ir/passes/passes.hpp"
#include "ir/verifier.hpp"

namespace nnaccel {

namespace {

Tensor transpose_2d(const Tensor& w) {
  const int64_t rows = w.dim(0), cols = w.dim(1);
  Tensor t(DType::f32, {cols, rows});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      t.data<float>()[c * rows + r] = w.data<float>()[r * cols + c];
  return t;
}

// The float weight (as MatMulInteger / ConvInteger read it), its channel axis, the bias to add
// after scaling (undefined: none) and a multiplier folded into the scale, for one node; false
// when the node stays in float.
struct Plan {
  Tensor weight;
  int64_t axis = -1;
  Tensor bias;             // f32, broadcastable to the output
  std::string bias_value;  // or a value of the graph added as is
  float alpha = 1.0f;
};

bool constant_f32(const Graph& g, const std::string& name) {
  auto it = g.initializers.find(name);
  return it != g.initializers.end() && it->second.dtype() == DType::f32 &&
         passes_detail::is_constant_initializer(g, name);
}

bool plan_node(const Graph& g, const Node& n, bool per_channel, Plan& p) {
  if (n.inputs.size() < 2 || n.inputs[0].empty() || g.initializers.count(n.inputs[0]) ||
      !constant_f32(g, n.inputs[1]))
    return false;
  const Tensor& w = g.initializers.at(n.inputs[1]);
  const bool has_bias = n.inputs.size() > 2 && !n.inputs[2].empty();
  if (n.op_type == "MatMul") {
    if (w.rank() < 2) return false;
    p.weight = w;
    p.axis = per_channel && w.rank() == 2 ? 1 : -1;
    return true;
  }
  if (n.op_type == "Gemm") {
    if (w.rank() != 2 || n.attr_int("transA", 0) != 0) return false;
    p.weight = n.attr_int("transB", 0) ? transpose_2d(w) : w;
    p.axis = per_channel ? 1 : -1;
    p.alpha = n.attr_float("alpha", 1.0f);
    const float beta = n.attr_float("beta", 1.0f);
    if (has_bias && beta != 0.0f) {
      if (constant_f32(g, n.inputs[2])) {
        p.bias = g.initializers.at(n.inputs[2]).clone();
        for (int64_t i = 0; i < p.bias.numel(); ++i) p.bias.data<float>()[i] *= beta;
      } else if (beta == 1.0f) {
        p.bias_value = n.inputs[2];
      } else {
        return false;
      }
    }
    return true;
  }
  if (n.op_type == "Conv") {
    if (w.rank() < 3) return false;
    p.weight = w;
    p.axis = per_channel ? 0 : -1;
    if (has_bias) {
      if (!constant_f32(g, n.inputs[2])) return false;
      const Tensor& b = g.initializers.at(n.inputs[2]);
      if (b.rank() != 1 || b.numel() != w.dim(0)) return false;
      Shape s(static_cast<size_t>(w.rank() - 1), 1);  // [M, 1, ...] against [N, M, spatial...]
      s[0] = b.numel();
      p.bias = Tensor(DType::f32, s);
      std::copy(b.data<float>(), b.data<float>() + b.numel(), p.bias.data<float>());
    }
    return true;
  }
  return false;
}

}  // namespace

Int8Weight quantize_weight_int8(const Tensor& w, int64_t axis) {
  NNA_CHECK(w.dtype() == DType::f32, "int8 weight quantization needs a float32 weight, got {}",
            dtype_name(w.dtype()));
  const int64_t channels = axis >= 0 ? w.dim(static_cast<int>(axis)) : 1;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < w.rank(); ++d) {
    if (axis >= 0 && d < axis) outer *= w.dim(d);
    if (axis >= 0 && d > axis) inner *= w.dim(d);
  }
  if (axis < 0) inner = w.numel();
  const float* src = w.data<float>();
  Int8Weight out;
  out.values = Tensor(DType::i8, w.shape());
  out.scales.assign(static_cast<size_t>(channels), 0.0f);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        const float v = std::fabs(src[(o * channels + c) * inner + i]);
        NNA_CHECK(std::isfinite(v), "weight holds a value that is not finite");
        out.scales[static_cast<size_t>(c)] = std::max(out.scales[static_cast<size_t>(c)], v);
      }
  for (float& s : out.scales) s = s > 0 ? s / 127.0f : 1.0f;
  double signal = 0, noise = 0;
  int8_t* dst = out.values.data<int8_t>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t k = (o * channels + c) * inner + i;
        const float s = out.scales[static_cast<size_t>(c)];
        const float q = std::clamp(std::nearbyint(src[k] / s), -127.0f, 127.0f);
        dst[k] = static_cast<int8_t>(q);
        const double d = static_cast<double>(src[k]) - static_cast<double>(q) * s;
        signal += static_cast<double>(src[k]) * src[k];
        noise += d * d;
      }
  out.sqnr_db = noise > 0 ? 10.0 * std::log10(signal / noise) : INFINITY;
  return out;
}

std::vector<QuantizedLayer> quantize_dynamic(Model& model, const DynamicQuantConfig& config) {
  Graph& g = model.graph;
  FreshNames names(g);
  std::vector<QuantizedLayer> report;
  std::map<std::string, std::array<std::string, 3>> dynamic_inputs;  // x -> x_q, scale, zp
  std::vector<Node> rewritten;
  for (const Node& n : g.nodes) {
    Plan p;
    if (!n.domain.empty() || !config.op_types.count(n.op_type) || config.exclude.count(n.name) ||
        n.outputs.size() != 1 || !plan_node(g, n, config.per_channel, p)) {
      rewritten.push_back(n);
      continue;
    }
    const std::string& x = n.inputs[0];
    if (!dynamic_inputs.count(x)) {
      const std::array<std::string, 3> q = {
          names.fresh(x + "_quantized"), names.fresh(x + "_scale"), names.fresh(x + "_zero_point")};
      rewritten.push_back(Node::of("DynamicQuantizeLinear", names.fresh(x + "_DynamicQuantize"),
                                   {x}, {q[0], q[1], q[2]}));
      dynamic_inputs[x] = q;
    }
    const std::array<std::string, 3>& xq = dynamic_inputs[x];
    const Int8Weight wq = quantize_weight_int8(p.weight, p.axis);
    const std::string base = n.name.empty() ? n.outputs[0] : n.name;
    const std::string wname = names.fresh(n.inputs[1] + "_quantized");
    const std::string wzp = names.fresh(n.inputs[1] + "_zero_point");
    g.initializers[wname] = wq.values;
    g.initializers[wzp] = Tensor(DType::i8, {});  // symmetric: 0 for every channel
    const bool conv = n.op_type == "Conv";
    const std::string acc = names.fresh(base + "_int32");
    Node integer = Node::of(conv ? "ConvInteger" : "MatMulInteger", names.fresh(base + "_integer"),
                            {xq[0], wname, xq[2], wzp}, {acc});
    if (conv) integer.attrs = n.attrs;  // auto_pad, dilations, group, kernel_shape, pads, strides
    rewritten.push_back(integer);
    const std::string accf = names.fresh(base + "_int32_float");
    Node cast = Node::of("Cast", names.fresh(base + "_cast"), {acc}, {accf});
    cast.attrs.push_back(Attribute::of_int("to", static_cast<int64_t>(DType::f32)));
    rewritten.push_back(cast);
    // The weight scales (times Gemm's alpha), shaped to broadcast against the output.
    Shape sshape;
    if (p.axis >= 0) {
      sshape = conv ? Shape(static_cast<size_t>(p.weight.rank() - 1), 1) : Shape{1};
      sshape[0] = static_cast<int64_t>(wq.scales.size());
    }
    Tensor ws(DType::f32, sshape);
    for (size_t c = 0; c < wq.scales.size(); ++c) ws.data<float>()[c] = wq.scales[c] * p.alpha;
    const std::string wsname = names.fresh(n.inputs[1] + "_scale");
    g.initializers[wsname] = ws;
    const std::string scale = names.fresh(base + "_output_scale");
    rewritten.push_back(
        Node::of("Mul", names.fresh(base + "_scale_mul"), {xq[1], wsname}, {scale}));
    const bool bias = p.bias.defined() || !p.bias_value.empty();
    const std::string scaled = bias ? names.fresh(base + "_scaled") : n.outputs[0];
    rewritten.push_back(Node::of("Mul", names.fresh(base + "_rescale"), {accf, scale}, {scaled}));
    if (bias) {
      std::string b = p.bias_value;
      if (b.empty()) {
        b = names.fresh(base + "_bias");
        g.initializers[b] = p.bias;
      }
      rewritten.push_back(
          Node::of("Add", names.fresh(base + "_bias_add"), {scaled, b}, {n.outputs[0]}));
    }

    QuantizedLayer row;
    row.node = n.name;
    row.op_type = n.op_type;
    row.input = x;
    const float* wp = p.weight.data<float>();
    row.weight_min = *std::min_element(wp, wp + p.weight.numel());
    row.weight_max = *std::max_element(wp, wp + p.weight.numel());
    row.weight_scale_min = *std::min_element(wq.scales.begin(), wq.scales.end());
    row.weight_scale_max = *std::max_element(wq.scales.begin(), wq.scales.end());
    row.weight_sqnr_db = wq.sqnr_db;
    report.push_back(row);
  }
  g.nodes = std::move(rewritten);
  if (!report.empty() && model.opsets.count("") && model.opsets[""] < 11) model.opsets[""] = 11;
  verify_graph(g);
  remove_dead_nodes(model);  // the float weights nothing reads any more
  return report;
}

}  // namespace nnaccel
