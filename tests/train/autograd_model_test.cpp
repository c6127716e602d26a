// Whole models differentiated end to end: a transformer block and a small CNN checked against
// central differences in f64, and a small CNN in f32 (the oneDNN path) trained for a few steps.
#include "core/cast.hpp"
#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

Tensor scalar_f64(double v) {
  Tensor t(DType::f64, {});
  t.data<double>()[0] = v;
  return t;
}

// Gelu as the ONNX exporters write it: 0.5 x (1 + erf(x / sqrt 2)).
std::string gelu(GradGraphBuilder& b, const std::string& x) {
  const std::string e = b.op("Erf", {b.op("Div", {x, "sqrt2"})});
  return b.op("Mul", {b.op("Mul", {x, b.op("Add", {e, "one"})}), "half"});
}

TEST(AutogradModel, TransformerBlockMatchesFiniteDifferences) {
  const int64_t batch = 2, seq = 3, dim = 4, heads = 2, hidden = 8;
  Graph g;
  GradGraphBuilder b(g);
  b.init("x", random_f64({batch, seq, dim}, 1));
  b.init("ln1_s", random_f64({dim}, 2, 0.5, 1.5));
  b.init("ln1_b", random_f64({dim}, 3));
  b.init("wqkv", random_f64({dim, 3 * dim}, 4));
  b.init("wo", random_f64({dim, dim}, 5));
  b.init("ln2_s", random_f64({dim}, 6, 0.5, 1.5));
  b.init("ln2_b", random_f64({dim}, 7));
  b.init("w1", random_f64({dim, hidden}, 8));
  b.init("b1", random_f64({hidden}, 9));
  b.init("w2", random_f64({hidden, dim}, 10));
  b.init("target", random_f64({batch, seq, dim}, 11));
  b.init("sqrt2", scalar_f64(std::sqrt(2.0)));
  b.init("one", scalar_f64(1.0));
  b.init("half", scalar_f64(0.5));
  b.init("scale", scalar_f64(std::sqrt(static_cast<double>(dim / heads))));
  b.init("heads_shape", Tensor::from_i64({4}, {batch, seq, 3 * heads, dim / heads}));
  b.init("merge_shape", Tensor::from_i64({3}, {batch, seq, dim}));
  b.init("split", Tensor::from_i64({3}, {heads, heads, heads}));
  b.init("two", scalar_f64(2.0));

  const std::string ln1 = b.op("LayerNormalization", {"x", "ln1_s", "ln1_b"});
  const std::string qkv = b.op("MatMul", {ln1, "wqkv"});
  // [b, s, 3h, d] -> [b, 3h, s, d], then q, k, v of h heads each.
  const std::string heads_t =
      b.op("Transpose", {b.op("Reshape", {qkv, "heads_shape"})}, {attr_is("perm", {0, 2, 1, 3})});
  Node split;
  split.op_type = "Split";
  split.name = "split_qkv";
  split.inputs = {heads_t, "split"};
  split.outputs = {"q", "k", "v"};
  split.attrs = {attr_i("axis", 1)};
  g.nodes.push_back(split);
  const std::string kt = b.op("Transpose", {"k"}, {attr_is("perm", {0, 1, 3, 2})});
  const std::string scores = b.op("Div", {b.op("MatMul", {"q", kt}), "scale"});
  const std::string attn = b.op("Softmax", {scores}, {attr_i("axis", -1)});
  const std::string ctx = b.op("MatMul", {attn, "v"});
  const std::string merged =
      b.op("Reshape", {b.op("Transpose", {ctx}, {attr_is("perm", {0, 2, 1, 3})}), "merge_shape"});
  const std::string h1 = b.op("Add", {"x", b.op("MatMul", {merged, "wo"})});
  const std::string ln2 = b.op("LayerNormalization", {h1, "ln2_s", "ln2_b"});
  const std::string ff =
      b.op("MatMul", {gelu(b, b.op("Add", {b.op("MatMul", {ln2, "w1"}), "b1"})), "w2"});
  const std::string out = b.op("Add", {h1, ff});
  const std::string err = b.op("Pow", {b.op("Sub", {out, "target"}), "two"});
  const std::string loss = b.op("ReduceMean", {err}, {attr_i("keepdims", 0)});
  check_graph_gradients(
      g, {"x", "ln1_s", "ln1_b", "wqkv", "wo", "ln2_s", "ln2_b", "w1", "b1", "w2"}, loss);
}

// Conv -> BatchNorm (training) -> Relu -> MaxPool -> Conv -> Relu -> GlobalAveragePool ->
// Flatten -> Gemm -> SoftmaxCrossEntropyLoss.
std::string small_cnn(Graph& g, DType dtype, int64_t batch) {
  GradGraphBuilder b(g);
  auto init = [&](const std::string& name, const Shape& s, uint32_t seed, double lo, double hi) {
    b.init(name, cast_tensor(random_f64(s, seed, lo, hi), dtype));
  };
  init("c1w", {4, 2, 3, 3}, 1, -0.5, 0.5);
  init("c1b", {4}, 2, -0.1, 0.1);
  init("bn_s", {4}, 3, 0.8, 1.2);
  init("bn_b", {4}, 4, -0.1, 0.1);
  init("bn_m", {4}, 5, -0.1, 0.1);
  init("bn_v", {4}, 6, 0.9, 1.1);
  init("c2w", {6, 4, 3, 3}, 7, -0.3, 0.3);
  init("fw", {3, 6}, 8, -0.5, 0.5);
  init("fb", {3}, 9, -0.1, 0.1);
  Tensor labels(DType::i64, {batch});
  for (int64_t i = 0; i < batch; ++i) labels.data<int64_t>()[i] = (i * 7 + 1) % 3;
  b.init("labels", labels);
  const std::string c1 = b.op("Conv", {"x", "c1w", "c1b"}, {attr_is("pads", {1, 1, 1, 1})});
  Node bn;
  bn.op_type = "BatchNormalization";
  bn.name = "bn";
  bn.inputs = {c1, "bn_s", "bn_b", "bn_m", "bn_v"};
  bn.outputs = {"bn_y", "bn_running_mean", "bn_running_var"};
  bn.attrs = {attr_i("training_mode", 1)};
  g.nodes.push_back(bn);
  const std::string p1 = b.op("MaxPool", {b.op("Relu", {"bn_y"})},
                              {attr_is("kernel_shape", {2, 2}), attr_is("strides", {2, 2})});
  const std::string c2 = b.op(
      "Relu",
      {b.op("Conv", {p1, "c2w"}, {attr_is("strides", {1, 1}), attr_s("auto_pad", "SAME_UPPER")})});
  const std::string pooled = b.op("Flatten", {b.op("GlobalAveragePool", {c2})});
  const std::string logits = b.op("Gemm", {pooled, "fw", "fb"}, {attr_i("transB", 1)});
  return b.op("SoftmaxCrossEntropyLoss", {logits, "labels"});
}

TEST(AutogradModel, SmallCnnMatchesFiniteDifferences) {
  Graph g;
  g.inputs.push_back({"x", TypeInfo::of(DType::f64, {3, 2, 6, 6}), ""});
  const std::string loss = small_cnn(g, DType::f64, 3);
  check_graph_gradients(g, {"c1w", "c1b", "bn_s", "bn_b", "c2w", "fw", "fb"}, loss,
                        {{"x", random_f64({3, 2, 6, 6}, 20)}});
}

TEST(AutogradModel, SmallCnnTrainsInF32) {
  const int64_t batch = 12;
  Graph g;
  g.inputs.push_back({"x", TypeInfo::of(DType::f32, {batch, 2, 8, 8}), ""});
  const std::string loss = small_cnn(g, DType::f32, batch);
  // Each class shifts the images its own way (channel 0 up, channel 1 up, both down), so there
  // is something to learn.
  Tensor x = cast_tensor(random_f64({batch, 2, 8, 8}, 21), DType::f32);
  const Tensor& labels = g.initializers["labels"];
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t ch = 0; ch < 2; ++ch) {
      const int64_t cls = labels.at_i64(n);
      const float shift = cls == 2 ? -0.7f : (cls == ch ? 0.7f : 0.0f);
      for (int64_t i = 0; i < 64; ++i) x.data<float>()[(n * 2 + ch) * 64 + i] += shift;
    }
  const std::vector<std::string> params = {"c1w", "c1b", "bn_s", "bn_b", "c2w", "fw", "fb"};
  Autograd ag(g, params, loss);
  std::vector<double> losses;
  for (int step = 0; step < 25; ++step) {
    ag.forward({{"x", x}});
    losses.push_back(ag.value(loss).at_f64(0));
    const auto grads = ag.backward();
    for (const std::string& p : params) {
      Tensor& w = g.initializers[p];
      for (int64_t i = 0; i < w.numel(); ++i)
        w.data<float>()[i] -= 0.3f * grads.at(p).data<float>()[i];
    }
  }
  EXPECT_LT(losses.back(), 0.2 * losses.front());
  int rises = 0;
  for (size_t i = 1; i < losses.size(); ++i) rises += losses[i] > losses[i - 1];
  EXPECT_LE(rises, 2);
  // BatchNorm's running statistics are outputs of the last forward, moved towards the batch's.
  const Tensor& running_var = ag.value("bn_running_var");
  ASSERT_EQ(running_var.shape(), (Shape{4}));
  EXPECT_NE(running_var.at_f64(0), g.initializers["bn_v"].at_f64(0));
}

}  // namespace
}  // namespace nnaccel::testing
