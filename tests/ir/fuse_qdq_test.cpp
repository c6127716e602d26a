// fuse_qdq: QDQ models made by quantize_to_qdq from the model zoo (random weights, calibrated on
// random images) and hand-made QDQ units, before and after optimize(): the fused graph's
// quantized outputs within 1 LSB of the unfused graph's (off-by-ones counted and bounded), the
// units fused counted, and int8 tensors flowing between integer ops with no DequantizeLinear.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "compress/quantize/calibrator.hpp"
#include "compress/quantize/quantize_qdq.hpp"
#include "ir/passes/passes.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/session.hpp"
#include "nnaccel/train.hpp"
#include "ops/op_test_util.hpp"

namespace nnaccel {
namespace {

using testing::random_f32;

int count_ops(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_type == op;
  return n;
}

const Node* producer(const Graph& g, const std::string& value) {
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs)
      if (o == value) return &n;
  return nullptr;
}

// A zoo classifier, BatchNorm folded (standard ONNX), calibrated on random images and quantized.
Model quantized_zoo_model(const std::string& arch, QdqConfig config = {}) {
  ClassifierSpec spec;
  spec.arch = arch;
  spec.seed = 7;
  Model m = build_classifier(spec);
  optimize(m, OptimizeOptions{.fuse = false});
  Calibrator cal(m, qdq_activations(m, config), ObserverConfig{});
  for (uint32_t b = 0; b < 2; ++b)
    cal.observe({{"input", random_f32({8, 1, 28, 28}, 100 + b, 0, 1)}});
  quantize_to_qdq(m, cal.ranges(), config);
  return m;
}

Tensor run(const Model& m, const std::map<std::string, Tensor>& feeds, bool fast) {
  SessionOptions o;
  o.fast = fast;
  return Session(m, o).run(feeds)[0];
}

// `got` and `want` are dequantized values on the grid of `scale`: compares them in LSBs.
struct LsbDiff {
  int64_t off_by_one = 0, worse = 0, total = 0;
};
LsbDiff lsb_diff(const Tensor& got, const Tensor& want, float scale) {
  LsbDiff d;
  EXPECT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double lsb = std::fabs(got.at_f64(i) - want.at_f64(i)) / scale;
    d.off_by_one += lsb > 0.5 && lsb < 1.5;
    d.worse += lsb >= 1.5;
  }
  d.total = want.numel();
  return d;
}

// The scale of the QuantizeLinear whose DequantizeLinear writes graph output 0.
float output_scale(const Model& m) {
  const Node* dq = producer(m.graph, m.graph.outputs[0].name);
  EXPECT_TRUE(dq != nullptr && dq->op_type == "DequantizeLinear");
  return m.graph.initializers.at(dq->inputs[1]).data<float>()[0];
}

// QConvs that took a residual QAdd (fuse_qconv_residual): z and the mid grid given.
int residual_qconvs(const Graph& g) {
  int n = 0;
  for (const Node& node : g.nodes)
    n += node.op_type == "QConv" && node.inputs.size() == 14 && !node.inputs[9].empty() &&
         !node.inputs[12].empty();
  return n;
}

struct ZooCase {
  const char* arch;
  int qconv, qmatmul, residual;
};

TEST(FuseQdq, ZooModelsFuseEveryUnitWithinOneLsb) {
  for (const ZooCase& c :
       {ZooCase{"mlp", 0, 3, 0}, ZooCase{"lenet5", 2, 3, 0}, ZooCase{"resnet-s", 9, 1, 3}}) {
    SCOPED_TRACE(c.arch);
    const Model qdq = quantized_zoo_model(c.arch);
    Model fused = qdq;
    optimize(fused);
    const Graph& g = fused.graph;
    EXPECT_EQ(count_ops(g, "QConv"), c.qconv);
    EXPECT_EQ(count_ops(g, "QMatMul"), c.qmatmul);
    EXPECT_EQ(residual_qconvs(g), c.residual);
    EXPECT_EQ(count_ops(g, "QAdd"), 0);  // every residual Add went into its conv
    EXPECT_EQ(count_ops(g, "Conv") + count_ops(g, "FusedConv") + count_ops(g, "Gemm") +
                  count_ops(g, "FusedGemm") + count_ops(g, "MatMul") + count_ops(g, "Add"),
              0);
    // Integer ops read integers: no DequantizeLinear feeds one, and the weights are int8.
    for (const Node& n : g.nodes) {
      if (n.op_type != "QConv" && n.op_type != "QMatMul" && n.op_type != "QAdd") continue;
      for (int i : n.op_type == "QAdd" ? std::vector<int>{0, 3} : std::vector<int>{0, 9}) {
        if (static_cast<size_t>(i) >= n.inputs.size()) continue;
        const Node* p = producer(g, n.inputs[static_cast<size_t>(i)]);
        EXPECT_TRUE(p == nullptr || p->op_type != "DequantizeLinear") << n.name;
      }
      if (n.op_type != "QAdd") {
        EXPECT_EQ(g.initializers.at(n.inputs[3]).dtype(), DType::i8);
      }
    }
    // The only DequantizeLinear left: before float ops (resnet-s's pooling) and the logits.
    EXPECT_EQ(count_ops(g, "DequantizeLinear"), std::string(c.arch) == "resnet-s" ? 2 : 1);
    if (std::string(c.arch) == "lenet5") {
      EXPECT_EQ(count_ops(g, "MaxPool"), 2);         // on u8
      EXPECT_EQ(count_ops(g, "QuantizeLinear"), 1);  // the input only
    }

    const std::map<std::string, Tensor> feeds = {{"input", random_f32({4, 1, 28, 28}, 5, 0, 1)}};
    const Tensor want = run(qdq, feeds, false);
    const Tensor got = run(fused, feeds, false);  // the integer ops' reference kernels
    const LsbDiff d = lsb_diff(got, want, output_scale(qdq));
    // The fused graph (ai.nnaccel integer ops) saves and loads back with the same results.
    const std::string path = ::testing::TempDir() + "/fused_" + c.arch + ".onnx";
    save_onnx(fused, path);
    const Tensor back = run(load_onnx(path), feeds, false);
    for (int64_t i = 0; i < got.numel(); ++i) EXPECT_EQ(back.at_f64(i), got.at_f64(i));
    EXPECT_EQ(d.worse, 0);
    EXPECT_LE(d.off_by_one, d.total / 10 + 1);
    // The logits are not all one value.
    double spread = 0;
    for (int64_t i = 1; i < want.numel(); ++i) spread += std::fabs(want.at_f64(i) - want.at_f64(0));
    EXPECT_GT(spread, 0.0);
  }
}

// Every quantized activation (the DQ outputs, made graph outputs so both graphs keep them), in
// LSBs of its scale: the unfused QDQ graph against the fused one on the reference kernels, and
// against the fast path.
TEST(FuseQdq, EveryQuantizedActivationWithinOneLsb) {
  for (const char* arch : {"lenet5", "resnet-s"}) {
    SCOPED_TRACE(arch);
    Model qdq = quantized_zoo_model(arch);
    std::vector<float> scales;
    for (const Node& n : qdq.graph.nodes) {
      const Node* q = n.op_type == "DequantizeLinear" ? producer(qdq.graph, n.inputs[0]) : nullptr;
      if (q == nullptr || q->op_type != "QuantizeLinear" || n.outputs[0] == "logits") continue;
      qdq.graph.outputs.push_back({n.outputs[0], TypeInfo{DType::f32, false, {}}, ""});
      scales.push_back(qdq.graph.initializers.at(n.inputs[1]).data<float>()[0]);
    }
    ASSERT_GE(scales.size(), 5u);
    Model fused = qdq;
    optimize(fused);
    EXPECT_GE(count_ops(fused.graph, "QConv"), 2);
    const std::map<std::string, Tensor> feeds = {{"input", random_f32({2, 1, 28, 28}, 8, 0, 1)}};
    SessionOptions reference;
    reference.fast = false;
    const std::vector<Tensor> want = Session(qdq, reference).run(feeds);
    const std::vector<Tensor> got = Session(fused, reference).run(feeds);
    const std::vector<Tensor> fast = Session(qdq).run(feeds);
    LsbDiff fused_diff, fast_diff;
    for (size_t i = 0; i < scales.size(); ++i) {
      for (auto [d, from] : {std::pair{&fused_diff, &got}, std::pair{&fast_diff, &fast}}) {
        const LsbDiff one = lsb_diff((*from)[i + 1], want[i + 1], scales[i]);
        d->off_by_one += one.off_by_one;
        d->worse += one.worse;
        d->total += one.total;
      }
    }
    EXPECT_GT(fused_diff.total, 10000);
    for (const LsbDiff& d : {fused_diff, fast_diff}) {
      EXPECT_EQ(d.worse, 0);
      EXPECT_LE(d.off_by_one, d.total / 100);  // rounding order near .5 only
    }
  }
}

// End to end: the fast path (optimizer, fast kernels where merged, reference integer kernels
// otherwise) on a quantized resnet-s against the reference interpreter on the QDQ model.
TEST(FuseQdq, SessionFastPathMatchesReferenceOnQuantizedResnet) {
  const Model qdq = quantized_zoo_model("resnet-s");
  const std::map<std::string, Tensor> feeds = {{"input", random_f32({3, 1, 28, 28}, 9, 0, 1)}};
  const Tensor want = run(qdq, feeds, false);
  const Tensor got = run(qdq, feeds, true);
  const LsbDiff d = lsb_diff(got, want, output_scale(qdq));
  EXPECT_EQ(d.worse, 0);
  EXPECT_LE(d.off_by_one, d.total / 10 + 1);
}

// int8 activations (asymmetric and symmetric) take the same path: every unit fused, the fast
// path within 1 LSB of the reference interpreter on the QDQ model.
TEST(FuseQdq, Int8ActivationsFuseAndMatch) {
  for (bool symmetric : {false, true}) {
    SCOPED_TRACE(symmetric ? "symmetric" : "asymmetric");
    QdqConfig config;
    config.activation_type = DType::i8;
    config.activation_symmetric = symmetric;
    const Model qdq = quantized_zoo_model("resnet-s", config);
    Model fused = qdq;
    optimize(fused);
    EXPECT_EQ(count_ops(fused.graph, "QConv"), 9);
    EXPECT_EQ(residual_qconvs(fused.graph), 3);
    EXPECT_EQ(count_ops(fused.graph, "QAdd"), 0);
    EXPECT_EQ(count_ops(fused.graph, "QMatMul"), 1);
    const std::map<std::string, Tensor> feeds = {{"input", random_f32({2, 1, 28, 28}, 6, 0, 1)}};
    const LsbDiff d = lsb_diff(run(qdq, feeds, true), run(qdq, feeds, false), output_scale(qdq));
    EXPECT_EQ(d.worse, 0);
    EXPECT_LE(d.off_by_one, d.total / 10 + 1);
  }
}

// Placement restricted to Conv: Adds and the Gemm stay float in the QDQ model; the pass fuses
// the convs, and the Adds whose inputs and output happen to be Q/DQ'd for the convs around them
// (all but the last, which feeds the float pooling) are units too, which go into their convs.
TEST(FuseQdq, RestrictedOpTypesFuseOnlyTheConvs) {
  QdqConfig config;
  config.op_types = {"Conv"};
  const Model qdq = quantized_zoo_model("resnet-s", config);
  EXPECT_EQ(count_ops(qdq.graph, "Add"), 3);
  Model fused = qdq;
  optimize(fused);
  EXPECT_EQ(count_ops(fused.graph, "QConv"), 9);
  EXPECT_EQ(residual_qconvs(fused.graph), 2);
  EXPECT_EQ(count_ops(fused.graph, "QAdd"), 0);
  EXPECT_EQ(count_ops(fused.graph, "QMatMul"), 0);
  const std::map<std::string, Tensor> feeds = {{"input", random_f32({2, 1, 28, 28}, 3, 0, 1)}};
  const Tensor want = run(qdq, feeds, false);
  const Tensor got = run(fused, feeds, false);
  ASSERT_EQ(got.shape(), want.shape());
  // Float logits (Gemm not quantized): a 1-LSB flip of an intermediate moves them slightly.
  double err = 0, ref = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    err = std::max(err, std::fabs(got.at_f64(i) - want.at_f64(i)));
    ref = std::max(ref, std::fabs(want.at_f64(i)));
  }
  EXPECT_LT(err, 0.05 * ref + 1e-6);
}

// ---- hand-made units ----------------------------------------------------------------------

struct QdqBuilder {
  Model m;
  Graph& g = m.graph;
  int counter = 0;

  QdqBuilder() { m.opsets[""] = kCanonicalOpset; }

  std::string name(const std::string& base) { return base + std::to_string(++counter); }
  std::string init(const std::string& base, Tensor t) {
    const std::string n = name(base);
    g.initializers[n] = std::move(t);
    return n;
  }
  std::string node(const std::string& op, std::vector<std::string> in,
                   std::vector<Attribute> attrs = {}) {
    Node n;
    n.op_type = op;
    n.name = name(op);
    n.inputs = std::move(in);
    n.outputs = {n.name + ".out"};
    n.attrs = std::move(attrs);
    g.nodes.push_back(n);
    return n.outputs[0];
  }
  // Q -> DQ of a float value with per-tensor u8 qparams.
  std::string qdq(const std::string& x, float scale, uint8_t zp) {
    Tensor z(DType::u8, {});
    z.data<uint8_t>()[0] = zp;
    const std::string s = init("s", Tensor::scalar_f32(scale)), zn = init("z", z);
    return node("DequantizeLinear", {node("QuantizeLinear", {x, s, zn}), s, zn});
  }
  // Per-channel int8 weight [M, ...] through DQ (axis 0), values in [-127, 127]; with a zero
  // point of zeros, or none (ONNX's default 0).
  std::string weight(const Shape& shape, uint32_t seed, std::vector<float>& scales,
                     bool zero_point = true) {
    Tensor w(DType::i8, shape);
    Tensor q = random_f32(shape, seed, -127, 127);
    for (int64_t i = 0; i < w.numel(); ++i)
      w.data<int8_t>()[i] = static_cast<int8_t>(std::lround(q.data<float>()[i]));
    Tensor s(DType::f32, {shape[0]});
    scales.clear();
    for (int64_t c = 0; c < shape[0]; ++c) {
      s.data<float>()[c] = 0.002f + 0.001f * static_cast<float>(c % 5);
      scales.push_back(s.data<float>()[c]);
    }
    std::vector<std::string> in = {init("w", w), init("ws", s)};
    if (zero_point) in.push_back(init("wz", Tensor(DType::i8, {shape[0]})));
    return node("DequantizeLinear", in, {Attribute::of_int("axis", 0)});
  }
  static Tensor bias_values(int64_t m, uint32_t seed) {
    Tensor b(DType::i32, {m});
    Tensor r = random_f32({m}, seed, -2000, 2000);
    for (int64_t c = 0; c < m; ++c) b.data<int32_t>()[c] = static_cast<int32_t>(r.data<float>()[c]);
    return b;
  }
  std::string bias(const std::vector<float>& w_scales, float x_scale, uint32_t seed) {
    const int64_t m = static_cast<int64_t>(w_scales.size());
    Tensor s(DType::f32, {m});
    for (int64_t c = 0; c < m; ++c) s.data<float>()[c] = x_scale * w_scales[static_cast<size_t>(c)];
    return node("DequantizeLinear", {init("b", bias_values(m, seed)), init("bs", s)},
                {Attribute::of_int("axis", 0)});
  }
  // quantize_to_qdq's form: the scale is Mul(x_scale, w_scale) of the DQs `x` and `w` read.
  std::string bias_of_product(const std::string& x, const std::string& w, int64_t m,
                              uint32_t seed) {
    const std::string scale = node("Mul", {producer(g, x)->inputs[1], producer(g, w)->inputs[1]});
    return node("DequantizeLinear", {init("b", bias_values(m, seed)), scale},
                {Attribute::of_int("axis", 0)});
  }
  void io(const std::vector<std::pair<std::string, Shape>>& inputs, const std::string& out) {
    for (const auto& [n, s] : inputs) g.inputs.push_back({n, TypeInfo::of(DType::f32, s), ""});
    g.outputs.push_back({out, TypeInfo{DType::f32, false, {}}, ""});
  }
};

std::vector<Attribute> conv_attrs() {
  return {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("pads", {1, 1, 1, 1})};
}

// DQ(x) -> Conv -> Add(DQ(r)) -> Relu -> Q: FusedConv with residual, then QConv with z.
TEST(FuseQdq, ResidualFromDequantizeBecomesQConvZ) {
  QdqBuilder b;
  std::vector<float> ws;
  const float xs = 0.01f;
  const std::string x = b.qdq("x", xs, 10), r = b.qdq("r", 0.02f, 128);
  const std::string w = b.weight({8, 4, 3, 3}, 1, ws);
  const std::string conv = b.node("Conv", {x, w, b.bias(ws, xs, 2)}, conv_attrs());
  const std::string out = b.qdq(b.node("Relu", {b.node("Add", {conv, r})}), 0.05f, 0);
  b.io({{"x", {2, 4, 5, 6}}, {"r", {2, 8, 5, 6}}}, out);
  Model fused = b.m;
  optimize(fused);
  ASSERT_EQ(count_ops(fused.graph, "QConv"), 1);
  const Node* q = nullptr;
  for (const Node& n : fused.graph.nodes)
    if (n.op_type == "QConv") q = &n;
  ASSERT_GE(q->inputs.size(), 12u);
  EXPECT_FALSE(q->inputs[9].empty());
  EXPECT_EQ(q->attr_string("activation", ""), "Relu");
  const std::map<std::string, Tensor> feeds = {{"x", random_f32({2, 4, 5, 6}, 3, -0.1f, 2.4f)},
                                               {"r", random_f32({2, 8, 5, 6}, 4, -2.5f, 2.5f)}};
  const LsbDiff d = lsb_diff(run(fused, feeds, false), run(b.m, feeds, false), 0.05f);
  EXPECT_EQ(d.worse, 0);
  EXPECT_LE(d.off_by_one, d.total / 20 + 1);
}

// DQ(x) -> Conv [-> Relu] -> Q/DQ -> Add(DQ(r)) -> Relu -> Q/DQ, the residual of shape `r`.
QdqBuilder conv_then_add(const Shape& r, bool conv_relu, bool conv_out_is_graph_output) {
  QdqBuilder b;
  std::vector<float> ws;
  const float xs = 0.01f;
  const std::string x = b.qdq("x", xs, 10), res = b.qdq("r", 0.02f, 128);
  const std::string w = b.weight({8, 4, 3, 3}, 1, ws);
  std::string conv = b.node("Conv", {x, w, b.bias(ws, xs, 2)}, conv_attrs());
  if (conv_relu) conv = b.node("Relu", {conv});
  const std::string mid = b.qdq(conv, 0.03f, 120);
  const std::string out = b.qdq(b.node("Relu", {b.node("Add", {res, mid})}), 0.05f, 0);
  b.io({{"x", {2, 4, 5, 6}}, {"r", r}}, out);
  if (conv_out_is_graph_output) b.g.outputs.push_back({mid, TypeInfo{DType::f32, false, {}}, ""});
  return b;
}

// fuse_qconv_residual: the QConv -> QAdd pair and the one QConv taking the Add as its residual on
// the conv's own grid give identical results on the reference kernels (both compute in double).
TEST(FuseQconvResidual, PairBecomesOneQConvWithTheSameResults) {
  const QdqBuilder b = conv_then_add({2, 8, 5, 6}, false, false);
  Model pair = b.m;
  fuse_qdq(pair);
  remove_dead_nodes(pair);
  ASSERT_EQ(count_ops(pair.graph, "QConv"), 1);
  ASSERT_EQ(count_ops(pair.graph, "QAdd"), 1);
  Model one = pair;
  EXPECT_EQ(fuse_qconv_residual(one), 1);
  EXPECT_EQ(count_ops(one.graph, "QAdd"), 0);
  EXPECT_EQ(residual_qconvs(one.graph), 1);
  for (const Node& n : one.graph.nodes)
    if (n.op_type == "QConv") {
      EXPECT_EQ(n.attr_string("activation", ""), "Relu");
    }
  const std::map<std::string, Tensor> feeds = {{"x", random_f32({2, 4, 5, 6}, 3, -0.1f, 2.4f)},
                                               {"r", random_f32({2, 8, 5, 6}, 4, -2.5f, 2.5f)}};
  const Tensor want = run(pair, feeds, false), got = run(one, feeds, false);
  ASSERT_EQ(got.shape(), want.shape());
  int64_t nonzero = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    EXPECT_EQ(got.at_f64(i), want.at_f64(i)) << i;
    nonzero += want.at_f64(i) != 0;
  }
  EXPECT_GT(nonzero, want.numel() / 4);  // the Relu did not zero everything
  // The fast path (oneDNN's output stage) within 1 LSB of the QDQ model.
  const LsbDiff d = lsb_diff(run(one, feeds, true), run(b.m, feeds, false), 0.05f);
  EXPECT_EQ(d.worse, 0);
  EXPECT_LE(d.off_by_one, d.total / 20 + 1);
}

// Pairs that must stay: the conv's rounded output also read elsewhere, an activation before the
// Add (the fused activation runs after the sum), a residual that broadcasts.
TEST(FuseQconvResidual, LeavesPairsItCannotFuse) {
  for (const auto& [what, b] :
       {std::pair{"conv output also a graph output", conv_then_add({2, 8, 5, 6}, false, true)},
        std::pair{"Relu before the Add", conv_then_add({2, 8, 5, 6}, true, false)},
        std::pair{"broadcast residual", conv_then_add({1, 8, 1, 1}, false, false)}}) {
    SCOPED_TRACE(what);
    Model m = b.m;
    optimize(m);
    EXPECT_EQ(count_ops(m.graph, "QAdd"), 1);
    EXPECT_EQ(residual_qconvs(m.graph), 0);
  }
}

// Q/DQ(x) -> Paddle's HardSwish, x * clip(x + 3, 0, 6) / 6, with `scale` in place of the 6 of
// the Div (a tensor of that shape) -> Q/DQ. `leak` makes the Clip's output a graph output too.
QdqBuilder hardswish_region(const Shape& div_shape, bool leak) {
  QdqBuilder b;
  const std::string x = b.qdq("x", 0.05f, 120);
  const std::string clip =
      b.node("Clip", {b.node("Add", {x, b.init("three", Tensor::scalar_f32(3))}),
                      b.init("lo", Tensor::scalar_f32(0)), b.init("hi", Tensor::scalar_f32(6))});
  Tensor six(DType::f32, div_shape);
  for (int64_t i = 0; i < six.numel(); ++i) six.data<float>()[i] = 6.0f;
  const std::string y = b.node("Div", {b.node("Mul", {x, clip}), b.init("six", six)});
  b.io({{"x", {2, 3, 5, 7}}}, b.qdq(y, 0.03f, 10));
  if (leak) b.g.outputs.push_back({clip, TypeInfo{DType::f32, false, {}}, ""});
  return b;
}

// The region between a DequantizeLinear and a QuantizeLinear becomes one QLookup whose table the
// reference kernels computed: the same bytes as the QDQ graph on the reference kernels, and on
// the fast path (the simd lookup).
TEST(FuseQuantizedLookup, HardSwishRegionBecomesATableWithTheSameResults) {
  const QdqBuilder b = hardswish_region({}, false);
  Model fused = b.m;
  optimize(fused);
  EXPECT_EQ(count_ops(fused.graph, "QLookup"), 1);
  for (const char* op : {"Add", "Clip", "Mul", "Div", "ElementwiseChain"})
    EXPECT_EQ(count_ops(fused.graph, op), 0) << op;
  // Every u8 code appears: x over the grid's whole range and beyond.
  const std::map<std::string, Tensor> feeds = {{"x", random_f32({2, 3, 5, 7}, 8, -7.0f, 7.0f)}};
  const Tensor want = run(b.m, feeds, false);
  for (bool fast : {false, true}) {
    const Tensor got = run(fused, feeds, fast);
    ASSERT_EQ(got.shape(), want.shape());
    for (int64_t i = 0; i < want.numel(); ++i) EXPECT_EQ(got.at_f64(i), want.at_f64(i)) << i;
  }
  double spread = 0;
  for (int64_t i = 1; i < want.numel(); ++i) spread += std::fabs(want.at_f64(i) - want.at_f64(0));
  EXPECT_GT(spread, 0.0);
}

// Regions that must stay: a per-channel constant (not one function for every element), an
// intermediate value read outside the region.
TEST(FuseQuantizedLookup, LeavesRegionsThatAreNotOneFunctionOfTheValue) {
  for (const auto& [what, b] :
       {std::pair{"per-channel divisor", hardswish_region({3, 1, 1}, false)},
        std::pair{"clip read outside", hardswish_region({}, true)}}) {
    SCOPED_TRACE(what);
    Model m = b.m;
    optimize(m);
    EXPECT_EQ(count_ops(m.graph, "QLookup"), 0);
  }
}

// A Conv unit read by a float graph output (no Q after it) becomes QConv with a float output.
TEST(FuseQdq, UnitWithoutQuantizeGetsFloatOutput) {
  QdqBuilder b;
  std::vector<float> ws;
  const float xs = 0.02f;
  const std::string x = b.qdq("x", xs, 100);
  const std::string w = b.weight({6, 3, 3, 3}, 5, ws);
  const std::string out = b.node("Conv", {x, w, b.bias(ws, xs, 6)}, conv_attrs());
  b.io({{"x", {1, 3, 7, 7}}}, out);
  Model fused = b.m;
  optimize(fused);
  ASSERT_EQ(count_ops(fused.graph, "QConv"), 1);
  const std::map<std::string, Tensor> feeds = {{"x", random_f32({1, 3, 7, 7}, 7, -2, 3)}};
  const Tensor got = run(fused, feeds, false), want = run(b.m, feeds, false);
  EXPECT_EQ(got.dtype(), DType::f32);
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < want.numel(); ++i)
    EXPECT_NEAR(got.at_f64(i), want.at_f64(i), 1e-5 * (1 + std::fabs(want.at_f64(i))));
}

// quantize_to_qdq's file form: a weight DQ without zero point and a bias whose scale is a Mul of
// the two scale initializers. optimize folds the Mul and fuses the unit into the same QConv as
// the form with stored zeros and a stored bias scale: the same results, bit for bit, on the
// reference kernels and on the fast path.
TEST(FuseQdq, AbsentWeightZeroPointAndMulBiasScaleFuseLikeStoredOnes) {
  const std::map<std::string, Tensor> feeds = {{"x", random_f32({2, 3, 7, 7}, 7, -2, 3)}};
  std::vector<Tensor> unfused, reference, fast;
  for (const bool file_form : {false, true}) {
    SCOPED_TRACE(file_form ? "file form" : "stored form");
    QdqBuilder b;
    std::vector<float> ws;
    const float xs = 0.02f;
    const std::string x = b.qdq("x", xs, 100);
    const std::string w = b.weight({6, 3, 3, 3}, 5, ws, !file_form);
    const std::string bias = file_form ? b.bias_of_product(x, w, 6, 6) : b.bias(ws, xs, 6);
    const std::string conv = b.node("Conv", {x, w, bias}, conv_attrs());
    b.io({{"x", {2, 3, 7, 7}}}, b.qdq(b.node("Relu", {conv}), 0.05f, 0));
    EXPECT_EQ(count_ops(b.g, "Mul"), file_form ? 1 : 0);
    Model fused = b.m;
    optimize(fused);
    EXPECT_EQ(count_ops(fused.graph, "QConv"), 1);
    EXPECT_EQ(count_ops(fused.graph, "Mul"), 0);
    EXPECT_EQ(count_ops(fused.graph, "Conv"), 0);
    unfused.push_back(run(b.m, feeds, false));
    reference.push_back(run(fused, feeds, false));
    fast.push_back(run(fused, feeds, true));
  }
  for (const std::vector<Tensor>* outs : {&unfused, &reference, &fast}) {
    ASSERT_EQ((*outs)[0].shape(), (*outs)[1].shape());
    for (int64_t i = 0; i < (*outs)[0].numel(); ++i)
      EXPECT_EQ((*outs)[0].at_f64(i), (*outs)[1].at_f64(i)) << i;
  }
  double spread = 0;
  for (int64_t i = 1; i < fast[1].numel(); ++i)
    spread += std::fabs(fast[1].at_f64(i) - fast[1].at_f64(0));
  EXPECT_GT(spread, 0.0);
  const LsbDiff d = lsb_diff(reference[1], unfused[1], 0.05f);
  EXPECT_EQ(d.worse, 0);
  EXPECT_LE(d.off_by_one, d.total / 20 + 1);
}

// u8 weights (as other tools write them) fuse when w - zero point fits s8: the pass folds the zero
// point into new s8 weights and the QConv matches the unfused graph; a zero point that leaves a
// difference outside s8 keeps the float Conv.
TEST(FuseQdq, U8WeightsWithZeroPointFoldIntoS8) {
  const std::map<std::string, Tensor> feeds = {{"x", random_f32({2, 3, 7, 7}, 8, -2, 3)}};
  for (const int zp : {128, 100}) {
    SCOPED_TRACE(zp);
    QdqBuilder b;
    std::vector<float> ws;
    const float xs = 0.02f;
    const std::string x = b.qdq("x", xs, 100);
    const std::string w = b.weight({6, 3, 3, 3}, 5, ws);
    // The same integers as u8 around zero point `zp`; with zp 100 one weight is 255, 155 steps
    // above its zero point.
    const Node* dq = producer(b.g, w);
    Tensor& wi = b.g.initializers.at(dq->inputs[0]);
    Tensor wu(DType::u8, wi.shape());
    for (int64_t i = 0; i < wi.numel(); ++i)
      wu.data<uint8_t>()[i] = static_cast<uint8_t>(wi.data<int8_t>()[i] + zp);
    if (zp == 100) wu.data<uint8_t>()[0] = 255;
    wi = wu;
    Tensor z(DType::u8, {6});
    for (int64_t c = 0; c < 6; ++c) z.data<uint8_t>()[c] = static_cast<uint8_t>(zp);
    b.g.initializers.at(dq->inputs[2]) = z;
    const std::string conv = b.node("Conv", {x, w, b.bias(ws, xs, 6)}, conv_attrs());
    b.io({{"x", {2, 3, 7, 7}}}, b.qdq(b.node("Relu", {conv}), 0.05f, 0));
    Model fused = b.m;
    optimize(fused);
    EXPECT_EQ(count_ops(fused.graph, "QConv"), zp == 128 ? 1 : 0);
    EXPECT_EQ(count_ops(fused.graph, "Conv") + count_ops(fused.graph, "FusedConv"),
              zp == 128 ? 0 : 1);
    for (const Node& n : fused.graph.nodes)
      if (n.op_type == "QConv") {
        EXPECT_EQ(fused.graph.initializers.at(n.inputs[3]).dtype(), DType::i8);
      }
    const Tensor want = run(b.m, feeds, false);
    for (const bool fast : {false, true}) {
      const LsbDiff d = lsb_diff(run(fused, feeds, fast), want, 0.05f);
      EXPECT_EQ(d.worse, 0) << fast;
      EXPECT_LE(d.off_by_one, d.total / 20 + 1) << fast;
    }
  }
}

// Units the pass cannot prove equivalent stay as they are: a bias at the wrong scale, a
// transparent op whose Q has other qparams than its DQ.
TEST(FuseQdq, NonEquivalentUnitsStay) {
  QdqBuilder b;
  std::vector<float> ws;
  const float xs = 0.02f;
  const std::string x = b.qdq("x", xs, 100);
  const std::string w = b.weight({6, 3, 3, 3}, 5, ws);
  const std::string conv = b.node("Conv", {x, w, b.bias(ws, 2 * xs, 6)}, conv_attrs());
  const std::string pooled =
      b.node("MaxPool", {b.qdq(conv, 0.1f, 3)}, {Attribute::of_ints("kernel_shape", {2, 2})});
  const std::string out = b.qdq(pooled, 0.2f, 3);
  b.io({{"x", {1, 3, 7, 7}}}, out);
  Model fused = b.m;
  optimize(fused);
  EXPECT_EQ(count_ops(fused.graph, "QConv"), 0);
  EXPECT_EQ(count_ops(fused.graph, "Conv"), 1);
  EXPECT_EQ(count_ops(fused.graph, "QuantizeLinear"), 3);
  // The float Conv's weight and bias DQs are folded (float fast kernels pack constant weights);
  // the activations' stay.
  EXPECT_EQ(count_ops(fused.graph, "DequantizeLinear"), 3);
  for (const Node& n : fused.graph.nodes)
    if (n.op_type == "Conv") {
      EXPECT_EQ(fused.graph.initializers.at(n.inputs[1]).dtype(), DType::f32);
    }
  const std::map<std::string, Tensor> feeds = {{"x", random_f32({1, 3, 7, 7}, 7, -2, 3)}};
  const Tensor got = run(fused, feeds, false), want = run(b.m, feeds, false);
  for (int64_t i = 0; i < want.numel(); ++i) EXPECT_EQ(got.at_f64(i), want.at_f64(i));
}

// MatMul by a constant weight + Add of a constant [N] bias (+ Relu): quantize_to_qdq keeps the
// Add in the MatMul's unit with an int32 bias, and the pass makes it one QMatMul with bias.
TEST(FuseQdq, MatMulWithBiasAddBecomesQMatMulWithBias) {
  QdqBuilder b;
  const auto constant = [&](const Shape& shape, uint32_t seed) {
    return b.init("c", random_f32(shape, seed, -0.5f, 0.5f));
  };
  std::string h = b.node("MatMul", {"x", constant({24, 40}, 1)});
  h = b.node("Relu", {b.node("Add", {h, constant({40}, 2)})});
  h = b.node("Add", {constant({10}, 4), b.node("MatMul", {h, constant({40, 10}, 3)})});
  b.io({{"x", {3, 5, 24}}}, h);
  QdqConfig config;
  Calibrator cal(b.m, qdq_activations(b.m, config), ObserverConfig{});
  cal.observe({{"x", random_f32({3, 5, 24}, 9, -2, 2)}});
  Model qdq = b.m;
  EXPECT_EQ(quantize_to_qdq(qdq, cal.ranges(), config).size(), 2u);
  EXPECT_EQ(count_ops(qdq.graph, "Add"), 2);
  Model fused = qdq;
  optimize(fused);
  EXPECT_EQ(count_ops(fused.graph, "QMatMul"), 2);
  EXPECT_EQ(count_ops(fused.graph, "Add"), 0);
  for (const Node& n : fused.graph.nodes)
    if (n.op_type == "QMatMul") {
      ASSERT_GE(n.inputs.size(), 9u);
      EXPECT_EQ(fused.graph.initializers.at(n.inputs[8]).dtype(), DType::i32);
    }
  const std::map<std::string, Tensor> feeds = {{"x", random_f32({3, 5, 24}, 10, -2, 2)}};
  const LsbDiff d = lsb_diff(run(fused, feeds, false), run(qdq, feeds, false), output_scale(qdq));
  EXPECT_EQ(d.worse, 0);
  EXPECT_LE(d.off_by_one, d.total / 10 + 1);
}

// Concat of two conv branches: its inputs take the Concat output's qparams (one range, the
// union), so after fusion the Concat joins the QConvs' u8 outputs directly.
TEST(FuseQdq, ConcatOfConvBranchesRunsOnIntegers) {
  QdqBuilder b;
  const auto weight = [&](const Shape& shape, uint32_t seed) {
    return b.init("w", random_f32(shape, seed, -0.4f, 0.4f));
  };
  const std::string left =
      b.node("Relu", {b.node("Conv", {"x", weight({4, 3, 3, 3}, 1)}, conv_attrs())});
  const std::string right = b.node("Conv", {"x", weight({5, 3, 3, 3}, 2)}, conv_attrs());
  const std::string cat = b.node("Concat", {left, right}, {Attribute::of_int("axis", 1)});
  b.io({{"x", {2, 3, 8, 8}}}, b.node("Conv", {cat, weight({6, 9, 3, 3}, 3)}, conv_attrs()));
  QdqConfig config;
  const std::vector<std::string> acts = qdq_activations(b.m, config);
  EXPECT_EQ(std::count(acts.begin(), acts.end(), cat), 0);  // shares its inputs' range
  Calibrator cal(b.m, acts, ObserverConfig{});
  cal.observe({{"x", random_f32({2, 3, 8, 8}, 4, -1, 1)}});
  Model qdq = b.m;
  quantize_to_qdq(qdq, cal.ranges(), config);
  Model fused = qdq;
  optimize(fused);
  EXPECT_EQ(count_ops(fused.graph, "QConv"), 3);
  for (const Node& n : fused.graph.nodes) {
    if (n.op_type != "Concat") continue;
    for (const std::string& in : n.inputs) {
      const Node* p = producer(fused.graph, in);
      EXPECT_TRUE(p != nullptr && p->op_type == "QConv") << in;
    }
  }
  const std::map<std::string, Tensor> feeds = {{"x", random_f32({2, 3, 8, 8}, 5, -1, 1)}};
  const LsbDiff d = lsb_diff(run(fused, feeds, true), run(qdq, feeds, false), output_scale(qdq));
  EXPECT_EQ(d.worse, 0);
  EXPECT_LE(d.off_by_one, d.total / 100 + 1);
}

// fold_constants leaves DequantizeLinear of constants alone: weights stay int8.
TEST(FuseQdq, FoldConstantsKeepsDequantizeLinear) {
  QdqBuilder b;
  std::vector<float> ws;
  const std::string w = b.weight({4, 3}, 1, ws);
  const std::string out = b.node("MatMul", {"x", w});
  b.io({{"x", {2, 4}}}, out);
  fold_constants(b.m);
  EXPECT_EQ(count_ops(b.g, "DequantizeLinear"), 1);
}

}  // namespace
}  // namespace nnaccel
