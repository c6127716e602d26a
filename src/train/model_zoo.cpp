// Classifiers built in code: MLP, LeNet-5 and a compact residual CNN, as standard opset-17 ONNX.
#include <cmath>
#include <random>

#include "core/check.hpp"
#include "nnaccel/train.hpp"

namespace nnaccel {
namespace {

// Initialization draws come from mt19937_64 (fully specified by the standard) through our own
// uniform / Box-Muller transforms, because std::normal_distribution differs between standard
// libraries and the same seed must give the same weights everywhere.
class InitRng {
 public:
  InitRng(uint64_t seed, uint64_t stream) {
    std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                      static_cast<uint32_t>(stream), 0x696e6974u};
    rng_.seed(seq);
  }
  double uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();  // u1 in (0, 1]: log is finite
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

 private:
  std::mt19937_64 rng_;
};

class GraphBuilder {
 public:
  GraphBuilder(Graph& g, uint64_t seed) : g_(g), seed_(seed) {}

  std::string conv(const std::string& x, int64_t cin, int64_t cout, int64_t k, int64_t stride,
                   int64_t pad, bool bias) {
    const std::string name = fresh("conv");
    const std::string w = kaiming(name + ".weight", {cout, cin, k, k}, cin * k * k);
    std::vector<std::string> inputs{x, w};
    if (bias) inputs.push_back(constant(name + ".bias", {cout}, 0.0f));
    Node n = node("Conv", name, inputs);
    n.attrs = {Attribute::of_ints("kernel_shape", {k, k}),
               Attribute::of_ints("strides", {stride, stride}),
               Attribute::of_ints("pads", {pad, pad, pad, pad})};
    return add(std::move(n));
  }

  std::string batch_norm(const std::string& x, int64_t c) {
    const std::string name = fresh("bn");
    Node n = node(
        "BatchNormalization", name,
        {x, constant(name + ".weight", {c}, 1.0f), constant(name + ".bias", {c}, 0.0f),
         constant(name + ".running_mean", {c}, 0.0f), constant(name + ".running_var", {c}, 1.0f)});
    n.attrs = {Attribute::of_float("epsilon", 1e-5f), Attribute::of_float("momentum", 0.9f)};
    return add(std::move(n));
  }

  // y = x W^T + b; `relu_follows` picks Kaiming (ReLU next) or Xavier (the classifier).
  std::string gemm(const std::string& x, int64_t in, int64_t out, bool relu_follows) {
    const std::string name = fresh("fc");
    const std::string w = relu_follows ? kaiming(name + ".weight", {out, in}, in)
                                       : xavier(name + ".weight", {out, in}, in, out);
    Node n = node("Gemm", name, {x, w, constant(name + ".bias", {out}, 0.0f)});
    n.attrs = {Attribute::of_int("transB", 1)};
    return add(std::move(n));
  }

  std::string unary(const std::string& op, const std::string& x) {
    return add(node(op, fresh(op), {x}));
  }

  std::string max_pool(const std::string& x, int64_t k) {
    Node n = node("MaxPool", fresh("pool"), {x});
    n.attrs = {Attribute::of_ints("kernel_shape", {k, k}), Attribute::of_ints("strides", {k, k})};
    return add(std::move(n));
  }

  std::string flatten(const std::string& x) {
    Node n = node("Flatten", fresh("flatten"), {x});
    n.attrs = {Attribute::of_int("axis", 1)};
    return add(std::move(n));
  }

  std::string sum(const std::string& a, const std::string& b) {
    return add(node("Add", fresh("add"), {a, b}));
  }

  std::string dropout(const std::string& x, float ratio) {
    const std::string name = fresh("dropout");
    const std::string r = name + ".ratio";
    g_.initializers[r] = Tensor::scalar_f32(ratio);
    return add(node("Dropout", name, {x, r}));
  }

  void rename_last_output(const std::string& to) { g_.nodes.back().outputs[0] = to; }

 private:
  std::string fresh(const std::string& base) { return fmt::format("{}{}", base, ++counter_); }

  Node node(const std::string& op, const std::string& name, std::vector<std::string> inputs) {
    Node n;
    n.op_type = op;
    n.name = name;
    n.inputs = std::move(inputs);
    n.outputs = {name + ".out"};
    return n;
  }

  std::string add(Node n) {
    std::string out = n.outputs[0];
    g_.nodes.push_back(std::move(n));
    return out;
  }

  std::string constant(const std::string& name, Shape shape, float value) {
    Tensor t(DType::f32, std::move(shape));
    std::fill(t.data<float>(), t.data<float>() + t.numel(), value);
    g_.initializers[name] = t;
    return name;
  }

  std::string kaiming(const std::string& name, Shape shape, int64_t fan_in) {
    Tensor t(DType::f32, std::move(shape));
    InitRng rng(seed_, ++tensors_);
    const double std = std::sqrt(2.0 / static_cast<double>(fan_in));
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data<float>()[i] = static_cast<float>(rng.normal() * std);
    g_.initializers[name] = t;
    return name;
  }

  std::string xavier(const std::string& name, Shape shape, int64_t fan_in, int64_t fan_out) {
    Tensor t(DType::f32, std::move(shape));
    InitRng rng(seed_, ++tensors_);
    const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data<float>()[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
    g_.initializers[name] = t;
    return name;
  }

  Graph& g_;
  uint64_t seed_;
  int counter_ = 0;
  uint64_t tensors_ = 0;
};

std::string build_mlp(GraphBuilder& b, const std::string& x, const ClassifierSpec& s) {
  const int64_t in = s.channels * s.height * s.width;
  std::string h = b.flatten(x);
  h = b.unary("Relu", b.gemm(h, in, 256, true));
  h = b.unary("Relu", b.gemm(h, 256, 128, true));
  return b.gemm(h, 128, s.classes, false);
}

// LeNet-5 with ReLU and max pooling (the common modern form); 28x28 inputs are padded by 2 in
// the first convolution like the original's 32x32.
std::string build_lenet5(GraphBuilder& b, const std::string& x, const ClassifierSpec& s) {
  NNA_CHECK(s.height % 4 == 0 && s.width % 4 == 0 && s.height >= 12 && s.width >= 12,
            "lenet5 needs height and width divisible by 4 and >= 12, got {}x{}", s.height, s.width);
  std::string h = b.max_pool(b.unary("Relu", b.conv(x, s.channels, 6, 5, 1, 2, true)), 2);
  h = b.max_pool(b.unary("Relu", b.conv(h, 6, 16, 5, 1, 0, true)), 2);
  const int64_t flat = 16 * ((s.height / 2 - 4) / 2) * ((s.width / 2 - 4) / 2);
  h = b.flatten(h);
  h = b.unary("Relu", b.gemm(h, flat, 120, true));
  h = b.unary("Relu", b.gemm(h, 120, 84, true));
  return b.gemm(h, 84, s.classes, false);
}

// conv-BN-ReLU-conv-BN plus the shortcut (a strided 1x1 conv + BN when the shape changes), ReLU.
std::string residual_block(GraphBuilder& b, const std::string& x, int64_t cin, int64_t cout,
                           int64_t stride) {
  std::string h = b.unary("Relu", b.batch_norm(b.conv(x, cin, cout, 3, stride, 1, false), cout));
  h = b.batch_norm(b.conv(h, cout, cout, 3, 1, 1, false), cout);
  std::string shortcut = x;
  if (stride != 1 || cin != cout)
    shortcut = b.batch_norm(b.conv(x, cin, cout, 1, stride, 0, false), cout);
  return b.unary("Relu", b.sum(h, shortcut));
}

// resnet-s: a 3x3 stem (16 channels), three stages of one residual block each at 16, 32 and 64
// channels (the last two halve the resolution), global average pooling and a linear classifier:
// ~78k parameters, ~9 MMAC per 28x28 image.
std::string build_resnet_s(GraphBuilder& b, const std::string& x, const ClassifierSpec& s) {
  std::string h = b.unary("Relu", b.batch_norm(b.conv(x, s.channels, 16, 3, 1, 1, false), 16));
  h = residual_block(b, h, 16, 16, 1);
  h = residual_block(b, h, 16, 32, 2);
  h = residual_block(b, h, 32, 64, 2);
  h = b.flatten(b.unary("GlobalAveragePool", h));
  return b.gemm(h, 64, s.classes, false);
}

}  // namespace

std::vector<std::string> classifier_archs() { return {"mlp", "lenet5", "resnet-s"}; }

Model build_classifier(const ClassifierSpec& spec) {
  NNA_CHECK(spec.channels >= 1 && spec.height >= 1 && spec.width >= 1 && spec.classes >= 2,
            "classifier: bad sizes (channels {}, {}x{}, {} classes)", spec.channels, spec.height,
            spec.width, spec.classes);
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.producer_name = "nnaccel";
  m.graph.name = spec.arch;
  Graph& g = m.graph;
  TypeInfo in;
  in.dtype = DType::f32;
  in.has_shape = true;
  in.dims = {Dim{-1, "N"}, Dim{spec.channels, ""}, Dim{spec.height, ""}, Dim{spec.width, ""}};
  g.inputs.push_back({"input", in, "images, pixel values scaled to [0, 1]"});
  GraphBuilder b(g, spec.seed);
  if (spec.arch == "mlp") {
    build_mlp(b, "input", spec);
  } else if (spec.arch == "lenet5") {
    build_lenet5(b, "input", spec);
  } else if (spec.arch == "resnet-s") {
    build_resnet_s(b, "input", spec);
  } else {
    fail("unknown architecture '{}' (expected one of: {})", spec.arch,
         fmt::join(classifier_archs(), ", "));
  }
  b.rename_last_output("logits");
  TypeInfo out;
  out.dtype = DType::f32;
  out.has_shape = true;
  out.dims = {Dim{-1, "N"}, Dim{spec.classes, ""}};
  g.outputs.push_back({"logits", out, "class scores (unnormalized)"});
  return m;
}

int64_t parameter_count(const Model& model) {
  int64_t n = 0;
  for (const auto& [name, t] : model.graph.initializers)
    if (dtype_is_float(t.dtype())) n += t.numel();
  return n;
}

}  // namespace nnaccel
