#include "compress/quantize/quantize_qdq.hpp"

#include <algorithm>
#include <cmath>

#include "core/check.hpp"
#include "ir/passes/passes.hpp"
#include "ir/verifier.hpp"

namespace nnaccel {

namespace {

// The weight input of a quantizable node and the axis of its output channels in that weight
// (-1: per tensor only).
struct WeightSlot {
  int input = 1;
  int64_t channel_axis = 0;
  int bias_input = -1;
};

bool weight_slot(const Graph& g, const Node& n, WeightSlot& w) {
  if (n.inputs.size() < 2) return false;
  auto it = g.initializers.find(n.inputs[1]);
  if (it == g.initializers.end() || it->second.dtype() != DType::f32) return false;
  if (!passes_detail::is_constant_initializer(g, n.inputs[1])) return false;
  if (g.initializers.count(n.inputs[0])) return false;  // a constant A: nothing to calibrate
  const int rank = it->second.rank();
  if (n.op_type == "Conv") {
    w = {1, 0, 2};
  } else if (n.op_type == "Gemm") {
    if (rank != 2) return false;
    w = {1, n.attr_int("transB", 0) ? 0 : 1, 2};
  } else if (n.op_type == "MatMul") {
    w = {1, rank == 2 ? 1 : -1, -1};
  } else {
    return false;
  }
  return true;
}

bool selected(const Graph& g, const Node& n, const QdqConfig& c, WeightSlot& w) {
  return n.domain.empty() && c.op_types.count(n.op_type) && !c.exclude.count(n.name) &&
         weight_slot(g, n, w);
}

Tensor scalar_of(DType t, int32_t v) {
  Tensor s(t, {});
  if (t == DType::u8) s.data<uint8_t>()[0] = static_cast<uint8_t>(v);
  else s.data<int8_t>()[0] = static_cast<int8_t>(v);
  return s;
}

Node make(const std::string& op, const std::string& name, std::vector<std::string> in,
          std::vector<std::string> out) {
  Node n;
  n.op_type = op;
  n.name = name;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

}  // namespace

std::vector<std::string> qdq_activations(const Model& model, const QdqConfig& config) {
  std::vector<std::string> out;
  const Graph& g = model.graph;
  for (const Node& n : g.nodes) {
    WeightSlot w;
    if (!selected(g, n, config, w)) continue;
    if (std::find(out.begin(), out.end(), n.inputs[0]) == out.end()) out.push_back(n.inputs[0]);
  }
  return out;
}

std::vector<QuantizedLayer> quantize_to_qdq(Model& model,
                                            const std::map<std::string, QuantRange>& ranges,
                                            const QdqConfig& config) {
  Graph& g = model.graph;
  std::vector<QuantizedLayer> report;
  std::map<std::string, std::string> dequantized;  // activation -> its Q/DQ output
  std::map<std::string, AffineQuant> act_quant;
  std::vector<Node> added;
  std::set<std::string> reserved;
  auto fresh = [&](const std::string& base) {
    std::string name = passes_detail::unique_name(g, base);
    // unique_name sees the graph, not the nodes not added yet: a placeholder reserves the name.
    g.value_info.push_back(ValueInfo{name, {}, ""});
    reserved.insert(name);
    return name;
  };
  for (Node& n : g.nodes) {
    WeightSlot w;
    if (!selected(g, n, config, w)) continue;
    const std::string act = n.inputs[0];
    auto r = ranges.find(act);
    if (r == ranges.end()) fail("{}: no calibrated range for its input '{}'", n.describe(), act);
    if (!dequantized.count(act)) {
      AffineQuant q = choose_qparams(r->second, config.activation_type, config.activation_symmetric);
      const std::string s = fresh(act + "_scale"), z = fresh(act + "_zero_point");
      g.initializers[s] = Tensor::scalar_f32(q.scale);
      g.initializers[z] = scalar_of(config.activation_type, q.zero_point);
      const std::string qv = fresh(act + "_quantized"), dv = fresh(act + "_dequantized");
      added.push_back(make("QuantizeLinear", qv, {act, s, z}, {qv}));
      added.push_back(make("DequantizeLinear", dv, {qv, s, z}, {dv}));
      dequantized[act] = dv;
      act_quant[act] = q;
    }
    n.inputs[0] = dequantized[act];
    const AffineQuant xq = act_quant[act];

    // Weights: int8 per output channel (or per tensor), symmetric by default.
    const Tensor& wf = g.initializers.at(n.inputs[static_cast<size_t>(w.input)]);
    const int64_t axis = config.per_channel ? w.channel_axis : -1;
    const int64_t channels = axis >= 0 ? wf.dim(static_cast<int>(axis)) : 1;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < wf.rank(); ++d) {
      if (axis >= 0 && d < axis) outer *= wf.dim(d);
      if (axis >= 0 && d > axis) inner *= wf.dim(d);
    }
    if (axis < 0) inner = wf.numel();
    const float* wp = wf.data<float>();
    std::vector<AffineQuant> wq(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
      float lo = 0, hi = 0;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          float v = wp[(o * channels + c) * inner + i];
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
      wq[static_cast<size_t>(c)] = choose_qparams({lo, hi}, config.weight_type,
                                                  config.weight_symmetric);
    }
    Tensor wi(config.weight_type, wf.shape());
    double signal = 0, noise = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t k = (o * channels + c) * inner + i;
          const AffineQuant& q = wq[static_cast<size_t>(c)];
          const int32_t v = quantize_value(wp[k], q);
          if (config.weight_type == DType::i8) wi.data<int8_t>()[k] = static_cast<int8_t>(v);
          else wi.data<uint8_t>()[k] = static_cast<uint8_t>(v);
          const double d = wp[k] - dequantize_value(v, q);
          signal += static_cast<double>(wp[k]) * wp[k];
          noise += d * d;
        }
    Tensor ws(DType::f32, axis >= 0 ? Shape{channels} : Shape{});
    Tensor wz(config.weight_type, axis >= 0 ? Shape{channels} : Shape{});
    for (int64_t c = 0; c < channels; ++c) {
      ws.data<float>()[c] = wq[static_cast<size_t>(c)].scale;
      if (config.weight_type == DType::i8)
        wz.data<int8_t>()[c] = static_cast<int8_t>(wq[static_cast<size_t>(c)].zero_point);
      else
        wz.data<uint8_t>()[c] = static_cast<uint8_t>(wq[static_cast<size_t>(c)].zero_point);
    }
    const std::string base = n.inputs[static_cast<size_t>(w.input)];
    const std::string wq_name = fresh(base + "_quantized"), ws_name = fresh(base + "_scale"),
                      wz_name = fresh(base + "_zero_point"), wd = fresh(base + "_dequantized");
    g.initializers[wq_name] = wi;
    g.initializers[ws_name] = ws;
    g.initializers[wz_name] = wz;
    Node dq = make("DequantizeLinear", wd, {wq_name, ws_name, wz_name}, {wd});
    if (axis >= 0) dq.attrs.push_back(Attribute::of_int("axis", axis));
    added.push_back(dq);
    n.inputs[static_cast<size_t>(w.input)] = wd;

    // Bias as int32 at scale x_scale * w_scale, as integer kernels accumulate it.
    if (w.bias_input >= 0 && n.inputs.size() > static_cast<size_t>(w.bias_input)) {
      const std::string& bname = n.inputs[static_cast<size_t>(w.bias_input)];
      auto b = g.initializers.find(bname);
      if (b != g.initializers.end() && b->second.dtype() == DType::f32 && b->second.rank() == 1 &&
          b->second.numel() == (axis >= 0 ? channels : b->second.numel()) &&
          passes_detail::is_constant_initializer(g, bname)) {
        const int64_t nb = b->second.numel();
        Tensor bi(DType::i32, {nb});
        Tensor bs(DType::f32, {nb});
        for (int64_t c = 0; c < nb; ++c) {
          const float s = xq.scale * wq[static_cast<size_t>(axis >= 0 ? c : 0)].scale;
          bs.data<float>()[c] = s;
          const double v = std::nearbyint(static_cast<double>(b->second.data<float>()[c]) / s);
          bi.data<int32_t>()[c] = static_cast<int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
        }
        const std::string bq = fresh(bname + "_quantized"), bsn = fresh(bname + "_scale"),
                          bd = fresh(bname + "_dequantized");
        g.initializers[bq] = bi;
        g.initializers[bsn] = bs;
        Node bdq = make("DequantizeLinear", bd, {bq, bsn}, {bd});
        bdq.attrs.push_back(Attribute::of_int("axis", 0));
        added.push_back(bdq);
        n.inputs[static_cast<size_t>(w.bias_input)] = bd;
      }
    }

    QuantizedLayer row;
    row.node = n.name;
    row.op_type = n.op_type;
    row.input = act;
    row.input_range = r->second;
    row.input_quant = xq;
    row.weight_min = *std::min_element(wp, wp + wf.numel());
    row.weight_max = *std::max_element(wp, wp + wf.numel());
    row.weight_scale_min = row.weight_scale_max = wq[0].scale;
    for (const AffineQuant& q : wq) {
      row.weight_scale_min = std::min(row.weight_scale_min, q.scale);
      row.weight_scale_max = std::max(row.weight_scale_max, q.scale);
    }
    row.weight_sqnr_db = noise > 0 ? 10.0 * std::log10(signal / noise) : INFINITY;
    report.push_back(row);
  }
  std::erase_if(g.value_info, [&](const ValueInfo& v) { return reserved.count(v.name) > 0; });
  g.nodes.insert(g.nodes.end(), added.begin(), added.end());
  verify_graph(g);
  remove_dead_nodes(model);  // the float weights nothing reads any more
  return report;
}

}  // namespace nnaccel
