#include "compress/quantize/quantize_qdq.hpp"

#include <algorithm>
#include <cmath>

#include "compress/quantize/gptq.hpp"
#include "compress/quantize/qdq_bias_scale.hpp"
#include "core/check.hpp"
#include "ir/graph_walk.hpp"
#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"
#include "ir/verifier.hpp"

namespace nnaccel {

namespace {

using passes_detail::GraphView;
using passes_detail::is_op;

// The weight input of a quantizable node and the axis of its output channels in that weight
// (-1: per tensor only).
struct WeightSlot {
  int input = 1;
  int64_t channel_axis = 0;
  int bias_input = -1;
};

// Float, or of a type shape inference could not tell (a graph with ops it does not know).
bool maybe_f32(const GraphView& v, const std::string& name) {
  const TypeInfo* t = v.type(name);
  return t == nullptr || t->dtype == DType::f32;
}

bool weight_slot(const GraphView& v, const Node& n, WeightSlot& w) {
  const Graph& g = v.graph();
  if (n.inputs.size() < 2 || n.outputs.size() != 1) return false;
  auto it = g.initializers.find(n.inputs[1]);
  if (it == g.initializers.end() || it->second.dtype() != DType::f32) return false;
  if (!passes_detail::is_constant_initializer(g, n.inputs[1])) return false;
  if (g.initializers.count(n.inputs[0])) return false;  // a constant A: nothing to calibrate
  if (!maybe_f32(v, n.inputs[0]) || !maybe_f32(v, n.outputs[0])) return false;
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

bool is_transparent(const Node& n) {
  static const std::set<std::string> kOps = {"MaxPool", "Reshape",   "Flatten",  "Transpose",
                                             "Squeeze", "Unsqueeze", "Identity", "Concat"};
  return n.domain.empty() && kOps.count(n.op_type) > 0;
}

// Which values get a Q/DQ pair, and which of them must share qparams (union-find classes).
struct QdqPlan {
  std::vector<size_t> weighted;  // Conv/Gemm/MatMul nodes quantized, in graph order
  std::map<size_t, WeightSlot> slots;
  std::map<size_t, std::string> activation;  // the float input of each weighted node
  // MatMul -> Add of a constant [N] bias: the Add's index and bias input, in the MatMul's unit.
  std::map<size_t, std::pair<size_t, int>> bias_add;
  std::vector<std::string> values;  // in graph order
  std::set<std::string> derived;    // transparent ops' outputs: no range of their own
  std::map<std::string, std::string> parent;

  std::string find(const std::string& v) {
    auto it = parent.find(v);
    if (it == parent.end() || it->second == v) return v;
    std::string root = find(it->second);
    parent[v] = root;
    return root;
  }
  void unite(const std::string& a, const std::string& b) {
    const std::string ra = find(a), rb = find(b);
    if (ra != rb) parent[rb] = ra;
  }
};

QdqPlan plan_qdq(const Graph& g, const QdqConfig& c) {
  GraphView v(g);
  QdqPlan p;
  std::set<std::string> quantized;
  const auto selected = [&](const Node& n) {
    return n.domain.empty() && c.op_types.count(n.op_type) && !c.exclude.count(n.name);
  };
  const auto activation = [&](const std::string& name) {
    return !name.empty() && !g.initializers.count(name) && maybe_f32(v, name);
  };
  // The unit's output: through a Relu, or a Clip with constant bounds, that alone reads it.
  const auto unit_output_from = [&](const std::string& out) {
    const int r = v.sole_reader(out);
    if (r < 0) return out;
    const Node& a = g.nodes[static_cast<size_t>(r)];
    if (a.outputs.size() != 1 || a.inputs.empty() || a.inputs[0] != out) return out;
    if (is_op(a, "Relu")) return a.outputs[0];
    if (!is_op(a, "Clip")) return out;
    for (size_t i = 1; i < a.inputs.size(); ++i)
      if (!a.inputs[i].empty() && !v.scalar(a.inputs[i])) return out;
    return a.outputs[0];
  };
  const auto unit_output = [&](const Node& n) { return unit_output_from(n.outputs[0]); };
  // A MatMul's bias: an Add alone reading its output, with a constant f32 [N] operand.
  const auto bias_add = [&](const Node& mm, std::pair<size_t, int>& found) {
    const Tensor& w = g.initializers.at(mm.inputs[1]);
    if (w.rank() != 2) return false;
    const int r = v.sole_reader(mm.outputs[0]);
    if (r < 0 || !is_op(g.nodes[static_cast<size_t>(r)], "Add")) return false;
    const Node& add = g.nodes[static_cast<size_t>(r)];
    if (add.inputs.size() != 2 || add.outputs.size() != 1) return false;
    const int side = add.inputs[0] == mm.outputs[0] ? 1 : 0;
    const Tensor* b = v.constant(add.inputs[static_cast<size_t>(side)]);
    if (b == nullptr || b->dtype() != DType::f32 || b->rank() != 1 || b->numel() != w.dim(1) ||
        add.inputs[0] == add.inputs[1])
      return false;
    found = {static_cast<size_t>(r), side};
    return true;
  };
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& n = g.nodes[k];
    if (!selected(n)) continue;
    WeightSlot w;
    if (weight_slot(v, n, w)) {
      p.weighted.push_back(k);
      p.slots[k] = w;
      quantized.insert(n.inputs[0]);
      std::pair<size_t, int> add;
      if (n.op_type == "MatMul" && bias_add(n, add)) {
        p.bias_add[k] = add;
        quantized.insert(unit_output_from(g.nodes[add.first].outputs[0]));
      } else {
        quantized.insert(unit_output(n));
      }
    } else if (is_op(n, "Add") && n.inputs.size() == 2 && n.outputs.size() == 1 &&
               activation(n.inputs[0]) && activation(n.inputs[1]) && maybe_f32(v, n.outputs[0])) {
      quantized.insert(n.inputs[0]);
      quantized.insert(n.inputs[1]);
      quantized.insert(unit_output(n));
    }
  }
  // Transparent ops join where their inputs are quantized already (graph order, so chains of
  // them follow).
  for (const Node& n : g.nodes) {
    if (!selected(n) || !is_transparent(n) || n.outputs.empty() || !maybe_f32(v, n.outputs[0]))
      continue;
    if (n.outputs.size() > 1 && !n.outputs[1].empty()) continue;  // MaxPool's Indices
    const std::string& out = n.outputs[0];
    if (n.op_type == "Concat") {
      bool all = !n.inputs.empty();
      for (const std::string& in : n.inputs) all = all && quantized.count(in);
      if (!all) continue;
      for (const std::string& in : n.inputs) p.unite(out, in);
    } else {
      if (n.inputs.empty() || !quantized.count(n.inputs[0])) continue;
      p.unite(n.inputs[0], out);
    }
    quantized.insert(out);
    p.derived.insert(out);
  }
  // Graph order: graph inputs, then values as nodes read or write them.
  std::set<std::string> listed;
  const auto list = [&](const std::string& name) {
    if (quantized.count(name) && listed.insert(name).second) p.values.push_back(name);
  };
  for (const ValueInfo& in : g.inputs) list(in.name);
  for (const Node& n : g.nodes) {
    for (const std::string& in : n.inputs) list(in);
    for (const std::string& out : n.outputs) list(out);
  }
  return p;
}

Tensor scalar_of(DType t, int32_t v) {
  Tensor s(t, {});
  if (t == DType::u8)
    s.data<uint8_t>()[0] = static_cast<uint8_t>(v);
  else
    s.data<int8_t>()[0] = static_cast<int8_t>(v);
  return s;
}

// A Conv/Gemm/MatMul weight as rows of output channels over their inputs (gptq.hpp's view).
WeightRows weight_rows(const Node& n, const Tensor& w) {
  WeightRows r;
  r.data = w.data<float>();
  const bool rows_first = n.op_type == "Conv" || (n.op_type == "Gemm" && n.attr_int("transB", 0));
  r.rows = rows_first ? w.dim(0) : w.dim(1);
  r.cols = w.numel() / r.rows;
  r.row_stride = rows_first ? r.cols : 1;
  r.col_stride = rows_first ? 1 : r.rows;
  return r;
}

// The weight (and bias) of a quantized Conv/Gemm/MatMul: int8 initializers read through
// DequantizeLinear nodes appended to `added` (`x_scale`: the input's scale initializer). Returns
// the report row's weight fields. The bias is input `bias_index` of `bias_holder` (the node itself,
// or a MatMul's bias Add).
QuantizedLayer quantize_weights(Graph& g, Node& n, const WeightSlot& w, const AffineQuant& xq,
                                const std::string& x_scale, const QdqConfig& config,
                                FreshNames& names, std::vector<Node>& added, Node& bias_holder,
                                int bias_index) {
  const Tensor wf = g.initializers.at(n.inputs[static_cast<size_t>(w.input)]);
  const int64_t axis = config.per_channel && !config.per_tensor.count(n.name) ? w.channel_axis : -1;
  const int64_t channels = axis >= 0 ? wf.dim(static_cast<int>(axis)) : 1;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < wf.rank(); ++d) {
    if (axis >= 0 && d < axis) outer *= wf.dim(d);
    if (axis >= 0 && d > axis) inner *= wf.dim(d);
  }
  if (axis < 0) inner = wf.numel();
  const float* wp = wf.data<float>();
  std::vector<AffineQuant> wq(static_cast<size_t>(channels));
  float all_lo = 0, all_hi = 0;  // over the whole weight, with 0
  for (int64_t c = 0; c < channels; ++c) {
    float lo = 0, hi = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        float v = wp[(o * channels + c) * inner + i];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    wq[static_cast<size_t>(c)] =
        choose_qparams({lo, hi}, config.weight_type, config.weight_symmetric);
    all_lo = std::min(all_lo, lo);
    all_hi = std::max(all_hi, hi);
  }
  // The bias, when it is one this function quantizes (a constant f32 vector, one per channel).
  const Tensor* bias = nullptr;
  std::string bname;
  if (bias_index >= 0 && bias_holder.inputs.size() > static_cast<size_t>(bias_index)) {
    bname = bias_holder.inputs[static_cast<size_t>(bias_index)];
    auto b = g.initializers.find(bname);
    if (b != g.initializers.end() && b->second.dtype() == DType::f32 && b->second.rank() == 1 &&
        b->second.numel() == (axis >= 0 ? channels : b->second.numel()) &&
        passes_detail::is_constant_initializer(g, bname))
      bias = &b->second;
  }
  // A channel whose weights are all but zero (a dead channel of a trained network: scales of
  // 1e-17 down to denormal 1e-42 in PP-OCRv4) would put its bias at scale x_scale * w_scale out of
  // int32's reach, and the clamped bias dequantizes to ~0: the channel's constant output is lost.
  // Its weight grid widens until the bias fits in 2^30 steps (headroom for the accumulation); its
  // weights round to what they were within their old grid's noise.
  if (bias != nullptr)
    for (int64_t c = 0; c < bias->numel(); ++c) {
      AffineQuant& q = wq[static_cast<size_t>(axis >= 0 ? c : 0)];
      const double need = std::fabs(bias->data<float>()[c]) / (xq.scale * 1073741824.0);
      if (!(q.scale < need)) continue;
      const double grow = need / q.scale * (1.0 + 1e-6);
      const float lo = static_cast<float>(dequantize_value(q.qmin, q) * grow),
                  hi = static_cast<float>(dequantize_value(q.qmax, q) * grow);
      q = choose_qparams({lo, hi}, config.weight_type, config.weight_symmetric);
    }
  // GPTQ's integers where the layer has statistics (gptq.hpp), else rounding to nearest.
  const WeightHessian* hessian = nullptr;
  if (config.hessians != nullptr) {
    auto it = config.hessians->find(n.name);
    if (it != config.hessians->end()) hessian = &it->second;
  }
  std::vector<int32_t> gptq_ints;
  if (hessian != nullptr) {
    gptq_ints.resize(static_cast<size_t>(wf.numel()));
    gptq_round(weight_rows(n, wf), *hessian, wq, gptq_ints.data());
  }
  // Besides the integers written: for a per-channel layer, the round-to-nearest noise on its grids
  // and on one grid for the whole weight, what moving it to one scale costs (weight_budget.hpp).
  const bool cost = channels > 1;
  const AffineQuant one =
      cost ? choose_qparams({all_lo, all_hi}, config.weight_type, config.weight_symmetric)
           : AffineQuant{};
  Tensor wi(config.weight_type, wf.shape());
  double signal = 0, noise = 0, rtn = 0, single = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t k = (o * channels + c) * inner + i;
        const AffineQuant& q = wq[static_cast<size_t>(c)];
        const int32_t nearest = quantize_value(wp[k], q);
        const int32_t v = hessian != nullptr ? gptq_ints[static_cast<size_t>(k)] : nearest;
        if (config.weight_type == DType::i8)
          wi.data<int8_t>()[k] = static_cast<int8_t>(v);
        else
          wi.data<uint8_t>()[k] = static_cast<uint8_t>(v);
        const double d = wp[k] - dequantize_value(v, q);
        signal += static_cast<double>(wp[k]) * wp[k];
        noise += d * d;
        if (cost) {
          const double a = wp[k] - dequantize_value(nearest, q),
                       b = wp[k] - dequantize_value(quantize_value(wp[k], one), one);
          rtn += a * a;
          single += b * b;
        }
      }
  Tensor ws(DType::f32, axis >= 0 ? Shape{channels} : Shape{});
  Tensor wz(config.weight_type, axis >= 0 ? Shape{channels} : Shape{});
  bool zero_points = false;  // any nonzero
  for (int64_t c = 0; c < channels; ++c) {
    const AffineQuant& q = wq[static_cast<size_t>(c)];
    ws.data<float>()[c] = q.scale;
    zero_points = zero_points || q.zero_point != 0;
    if (config.weight_type == DType::i8)
      wz.data<int8_t>()[c] = static_cast<int8_t>(q.zero_point);
    else
      wz.data<uint8_t>()[c] = static_cast<uint8_t>(q.zero_point);
  }
  const std::string base = n.inputs[static_cast<size_t>(w.input)];
  const std::string wq_name = names.fresh(base + "_quantized"),
                    ws_name = names.fresh(base + "_scale"), wd = names.fresh(base + "_dequantized");
  g.initializers[wq_name] = wi;
  g.initializers[ws_name] = ws;
  Node dq = Node::of("DequantizeLinear", wd, {wq_name, ws_name}, {wd});
  // Symmetric Conv and MatMul weights leave the zero point out (ONNX's default is 0 of x's type):
  // the file carries no array of zeros. Gemm weights keep theirs: ONNX Runtime 1.30 fuses a QDQ
  // Gemm into QGemm only when its weight DequantizeLinear has one (measured; its Conv and MatMul
  // fusions take the absent one: PP-OCRv4 rec's nine MatMuls become MatMulIntegerToFloat either
  // way).
  if (zero_points || n.op_type == "Gemm") {  // per_tensor_saving below counts it
    const std::string wz_name = names.fresh(base + "_zero_point");
    g.initializers[wz_name] = wz;
    dq.inputs.push_back(wz_name);
  }
  if (axis >= 0) dq.attrs.push_back(Attribute::of_int("axis", axis));
  added.push_back(dq);
  n.inputs[static_cast<size_t>(w.input)] = wd;

  // Bias as int32 at scale x_scale * w_scale, as integer kernels accumulate it; that scale is a
  // Mul of the two scale initializers (qdq_bias_scale.hpp), not an array of its own.
  if (bias != nullptr) {
    const int64_t nb = bias->numel();
    Tensor bi(DType::i32, {nb});
    for (int64_t c = 0; c < nb; ++c) {
      // The f32 product, as the Mul below computes it.
      const float s = xq.scale * wq[static_cast<size_t>(axis >= 0 ? c : 0)].scale;
      const double v = std::nearbyint(static_cast<double>(bias->data<float>()[c]) / s);
      bi.data<int32_t>()[c] = static_cast<int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
    }
    const std::string bq = names.fresh(bname + "_quantized"),
                      bd = names.fresh(bname + "_dequantized");
    g.initializers[bq] = bi;
    const std::string bs = bias_scale_product(x_scale, ws_name, bname, names, added);
    Node bdq = Node::of("DequantizeLinear", bd, {bq, bs}, {bd});
    if (axis >= 0) bdq.attrs.push_back(Attribute::of_int("axis", 0));
    added.push_back(bdq);
    bias_holder.inputs[static_cast<size_t>(bias_index)] = bd;
  }

  QuantizedLayer row;
  row.weight_min = *std::min_element(wp, wp + wf.numel());
  row.weight_max = *std::max_element(wp, wp + wf.numel());
  row.weight_scale_min = row.weight_scale_max = wq[0].scale;
  for (const AffineQuant& q : wq) {
    row.weight_scale_min = std::min(row.weight_scale_min, q.scale);
    row.weight_scale_max = std::max(row.weight_scale_max, q.scale);
  }
  row.gptq = hessian != nullptr;
  row.weight_sqnr_db = noise > 0 ? 10.0 * std::log10(signal / noise) : INFINITY;
  row.weight = fmt::format("{} {:x}", shape_str(wf.shape()), wf.bytes_hash());
  row.weight_scales = channels;
  if (cost && signal > 0) {
    row.rtn_noise = rtn / signal;
    row.rtn_noise_per_tensor = single / signal;
  }
  const bool has_zero_point = zero_points || n.op_type == "Gemm";
  row.per_tensor_saving = static_cast<uint64_t>(channels - 1) * (has_zero_point ? 5 : 4);
  return row;
}

}  // namespace

std::vector<std::string> qdq_activations(const Model& model, const QdqConfig& config) {
  QdqPlan p = plan_qdq(model.graph, config);
  std::vector<std::string> out;
  for (const std::string& v : p.values)
    if (!p.derived.count(v)) out.push_back(v);
  return out;
}

std::vector<QuantizedLayer> quantize_to_qdq(Model& model,
                                            const std::map<std::string, QuantRange>& ranges,
                                            const QdqConfig& config) {
  Graph& g = model.graph;
  verify_graph(g);
  QdqPlan p = plan_qdq(g, config);
  // One range per class of values sharing qparams: the union of its members' ranges.
  std::map<std::string, QuantRange> class_range;
  for (const std::string& v : p.values) {
    if (p.derived.count(v)) continue;
    auto r = ranges.find(v);
    if (r == ranges.end()) fail("quantize_to_qdq: no calibrated range for activation '{}'", v);
    const std::string root = p.find(v);
    auto [it, fresh] = class_range.emplace(root, r->second);
    if (!fresh) {
      it->second.min = std::min(it->second.min, r->second.min);
      it->second.max = std::max(it->second.max, r->second.max);
    }
  }
  FreshNames names(g);
  struct ClassQuant {
    AffineQuant q;
    std::string scale, zero_point;
  };
  std::map<std::string, ClassQuant> class_quant;
  for (const auto& [root, range] : class_range) {
    ClassQuant cq;
    cq.q = choose_qparams(range, config.activation_type, config.activation_symmetric);
    cq.scale = names.fresh(root + "_scale");
    cq.zero_point = names.fresh(root + "_zero_point");
    g.initializers[cq.scale] = Tensor::scalar_f32(cq.q.scale);
    g.initializers[cq.zero_point] = scalar_of(config.activation_type, cq.q.zero_point);
    class_quant[root] = cq;
  }

  std::vector<Node> added;
  std::map<std::string, size_t> producer;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    for (const std::string& o : g.nodes[k].outputs)
      if (!o.empty()) producer[o] = k;
  for (size_t k : p.weighted) p.activation[k] = g.nodes[k].inputs[0];  // before renaming
  // Each quantized value v keeps its name for what reads it, now the DequantizeLinear's output;
  // its producer writes a renamed float value (a graph input instead is read through new names).
  for (const std::string& v : p.values) {
    const ClassQuant& cq = class_quant.at(p.find(v));
    const std::string qv = names.fresh(v + "_quantized");
    auto at = producer.find(v);
    if (at != producer.end()) {
      const std::string pre = names.fresh(v + "_float");
      for (std::string& o : g.nodes[at->second].outputs)
        if (o == v) o = pre;
      added.push_back(Node::of("QuantizeLinear", qv, {pre, cq.scale, cq.zero_point}, {qv}));
      added.push_back(
          Node::of("DequantizeLinear", v + "_dequantize", {qv, cq.scale, cq.zero_point}, {v}));
    } else {
      const std::string dv = names.fresh(v + "_dequantized");
      for (Node& n : g.nodes)
        for (std::string& in : n.inputs)
          if (in == v) in = dv;
      added.push_back(Node::of("QuantizeLinear", qv, {v, cq.scale, cq.zero_point}, {qv}));
      added.push_back(Node::of("DequantizeLinear", dv, {qv, cq.scale, cq.zero_point}, {dv}));
    }
  }

  std::vector<QuantizedLayer> report;
  for (size_t k : p.weighted) {
    Node& n = g.nodes[k];
    const std::string act = p.activation.at(k);
    const std::string root = p.find(act);
    const WeightSlot& slot = p.slots.at(k);
    auto add = p.bias_add.find(k);
    Node& bias_holder = add != p.bias_add.end() ? g.nodes[add->second.first] : n;
    const int bias_index = add != p.bias_add.end() ? add->second.second : slot.bias_input;
    const ClassQuant& xq = class_quant.at(root);
    QuantizedLayer row =
        quantize_weights(g, n, slot, xq.q, xq.scale, config, names, added, bias_holder, bias_index);
    row.node = n.name;
    row.op_type = n.op_type;
    row.input = act;
    row.input_range = class_range.at(root);
    row.input_quant = class_quant.at(root).q;
    report.push_back(row);
  }
  g.nodes.insert(g.nodes.end(), added.begin(), added.end());
  verify_graph(g);           // also restores topological order
  remove_dead_nodes(model);  // the float weights nothing reads any more
  return report;
}

}  // namespace nnaccel
