#include "core/cast.hpp"
#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

// Inputs away from kinks (0 for Relu, +-3 for HardSwish) so central differences are smooth.
Tensor away_from(const Tensor& t, std::vector<double> kinks) {
  Tensor r = t.clone();
  for (int64_t i = 0; i < r.numel(); ++i)
    for (double k : kinks)
      if (std::fabs(r.data<double>()[i] - k) < 0.05) r.data<double>()[i] = k + 0.1;
  return r;
}

TEST(AutogradElementwise, Activations) {
  const Tensor x = away_from(random_f64({3, 5}, 1, -4, 4), {0, -3, 3});
  for (const char* op :
       {"Relu", "Sigmoid", "Tanh", "HardSwish", "LeakyRelu", "Elu", "Softplus", "Softsign", "Neg",
        "Identity", "Abs", "Exp", "Erf", "Sin", "Cos", "HardSigmoid"})
    check_gradients(op, {x}, {}, {.wrt = {0}});
  check_gradients("LeakyRelu", {x}, {attr_f("alpha", 0.3f)}, {.wrt = {0}});
}

TEST(AutogradElementwise, PositiveDomain) {
  const Tensor x = random_f64({4, 3}, 2, 0.3, 3);
  for (const char* op : {"Sqrt", "Log", "Reciprocal"}) check_gradients(op, {x}, {}, {.wrt = {0}});
}

TEST(AutogradElementwise, GeluDecomposedWithErf) {
  // Gelu(x) = 0.5 x (1 + erf(x / sqrt 2)) as a graph: checks Erf, Mul, Div, Add together.
  Graph g;
  g.initializers["x"] = random_f64({6}, 3, -3, 3);
  g.initializers["sqrt2"] = Tensor(DType::f64, {});
  g.initializers["sqrt2"].data<double>()[0] = std::sqrt(2.0);
  g.initializers["one"] = Tensor(DType::f64, {});
  g.initializers["one"].data<double>()[0] = 1.0;
  g.initializers["half"] = Tensor(DType::f64, {});
  g.initializers["half"].data<double>()[0] = 0.5;
  auto node = [&](const char* op, std::vector<std::string> in, std::string out) {
    Node n;
    n.op_type = op;
    n.name = out;
    n.inputs = std::move(in);
    n.outputs = {std::move(out)};
    g.nodes.push_back(n);
  };
  node("Div", {"x", "sqrt2"}, "a");
  node("Erf", {"a"}, "b");
  node("Add", {"b", "one"}, "c");
  node("Mul", {"x", "c"}, "d");
  node("Mul", {"d", "half"}, "y");
  node("ReduceSum", {"y"}, "loss");
  g.nodes.back().attrs = {Attribute::of_int("keepdims", 0)};
  Autograd ag(g, {"x"}, "loss");
  ag.forward({});
  const Tensor dx = ag.backward().at("x");
  const Tensor& x = g.initializers["x"];
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double v = x.at_f64(i);
    const double expect =
        0.5 * (1 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI);
    EXPECT_NEAR(dx.at_f64(i), expect, 1e-12) << v;
  }
}

TEST(AutogradElementwise, Clip) {
  const Tensor x = away_from(random_f64({20}, 4, -2, 2), {-0.5, 0.7});
  Tensor lo(DType::f64, {}), hi(DType::f64, {});
  lo.data<double>()[0] = -0.5;
  hi.data<double>()[0] = 0.7;
  check_gradients("Clip", {x, lo, hi}, {}, {.wrt = {0, 1, 2}});
  check_gradients("Clip", {x, Tensor(), hi}, {}, {.wrt = {0}});
}

TEST(AutogradElementwise, BinaryBroadcasting) {
  const Tensor a = random_f64({2, 3, 4}, 5);
  const Tensor b = random_f64({3, 1}, 6, 0.5, 2);
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"}) {
    check_gradients(op, {a, b}, {}, {.wrt = {0, 1}});
    check_gradients(op, {b, a}, {}, {.wrt = {0, 1}});
  }
  check_gradients("Mul", {a, a.clone()}, {}, {.wrt = {0, 1}});
  check_gradients("Add", {random_f64({}, 7), a}, {}, {.wrt = {0, 1}});
}

TEST(AutogradElementwise, PowConstantAndVariableExponent) {
  const Tensor base = random_f64({3, 4}, 8, 0.5, 2);
  Tensor e(DType::f64, {});
  e.data<double>()[0] = 2.5;
  check_gradients("Pow", {base, e}, {}, {.wrt = {0}});
  check_gradients("Pow", {base, random_f64({4}, 9, -1, 2)}, {}, {.wrt = {0, 1}});
  // An integer exponent of another type than the base.
  Tensor three = Tensor::scalar_i64(3);
  check_gradients("Pow", {random_f64({5}, 10, -2, 2), three}, {}, {.wrt = {0}});
}

TEST(AutogradElementwise, VariadicSumMean) {
  const std::vector<Tensor> in = {random_f64({2, 3}, 13), random_f64({3}, 14),
                                  random_f64({2, 1}, 15)};
  check_gradients("Sum", in, {}, {.wrt = {0, 1, 2}});
  check_gradients("Mean", in, {}, {.wrt = {0, 1, 2}});
}

TEST(AutogradElementwise, PRelu) {
  check_gradients("PRelu", {away_from(random_f64({2, 3, 2}, 11), {0}), random_f64({3, 1}, 12)}, {},
                  {.wrt = {0, 1}});
}

}  // namespace
}  // namespace nnaccel::testing

namespace nnaccel::testing {
namespace {

double gelu_value(double x, bool tanh_form) {
  if (tanh_form) return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
}

// ai.nnaccel Gelu's rule, called directly (the op itself lands separately): dx against central
// differences of the Gelu formula.
TEST(AutogradElementwise, GeluRuleBothApproximations) {
  const GradFn rule = GradRegistry::instance().find("ai.nnaccel", "Gelu");
  ASSERT_NE(rule, nullptr);
  for (const char* approx : {"none", "tanh"}) {
    const bool tanh_form = std::string(approx) == "tanh";
    Node node;
    node.op_type = "Gelu";
    node.domain = "ai.nnaccel";
    node.name = "gelu";
    node.inputs = {"x"};
    node.outputs = {"y"};
    node.attrs = {attr_s("approximate", approx)};
    const Tensor x = random_f64({17}, 30, -4, 4);
    Tensor y(DType::f64, x.shape());
    for (int64_t i = 0; i < x.numel(); ++i)
      y.data<double>()[i] = gelu_value(x.at_f64(i), tanh_form);
    const Tensor dy = random_f64({17}, 31);
    GradContext ctx{node, {&x}, {&y}, {&dy}, {true}, {}};
    ctx.grad_inputs.resize(1);
    rule(ctx);
    ASSERT_EQ(ctx.grad_inputs[0].shape(), x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double v = x.at_f64(i), h = 1e-6;
      const double numeric =
          (gelu_value(v + h, tanh_form) - gelu_value(v - h, tanh_form)) / (2 * h);
      EXPECT_NEAR(ctx.grad_inputs[0].at_f64(i), dy.at_f64(i) * numeric, 1e-8) << approx << " " << v;
    }
  }
}

// Through the ai.nnaccel Gelu op itself, which is f32 only (so no f64 finite differences):
// Autograd's gradient against the derivative of the formula evaluated in double.
TEST(AutogradElementwise, GeluOpInF32) {
  for (const char* approx : {"none", "tanh"}) {
    const bool tanh_form = std::string(approx) == "tanh";
    Graph g;
    GradGraphBuilder b(g);
    b.init("x", cast_tensor(random_f64({33}, 32, -4, 4), DType::f32));
    b.init("w", cast_tensor(random_f64({33}, 33), DType::f32));
    const std::string y = b.op("Gelu", {"x"}, {attr_s("approximate", approx)}, "ai.nnaccel");
    const std::string loss = b.op("ReduceSum", {b.op("Mul", {y, "w"})}, {attr_i("keepdims", 0)});
    Autograd ag(g, {"x"}, loss);
    ag.forward({});
    const Tensor dx = ag.backward().at("x");
    for (int64_t i = 0; i < 33; ++i) {
      const double v = g.initializers["x"].at_f64(i), h = 1e-6;
      const double deriv = (gelu_value(v + h, tanh_form) - gelu_value(v - h, tanh_form)) / (2 * h);
      EXPECT_NEAR(dx.at_f64(i), g.initializers["w"].at_f64(i) * deriv, 1e-5) << approx << " " << v;
    }
  }
}

}  // namespace
}  // namespace nnaccel::testing
