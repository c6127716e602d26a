#include <gmock/gmock.h>

#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

Node node(const char* op, std::vector<std::string> in, std::string out,
          std::vector<Attribute> attrs = {}) {
  Node n;
  n.op_type = op;
  n.name = out + "_node";
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  n.attrs = std::move(attrs);
  return n;
}

Node sum_all(std::string in, std::string out) {
  return node("ReduceSum", {std::move(in)}, std::move(out), {Attribute::of_int("keepdims", 0)});
}

TEST(AutogradCore, SumsContributionsOfSeveralReaders) {
  // loss = sum(x * w) + sum(exp(x)) + sum(x): x has three readers.
  Graph g;
  g.initializers["x"] = random_f64({5}, 1);
  g.initializers["w"] = random_f64({5}, 2);
  g.nodes = {node("Mul", {"x", "w"}, "xw"),
             node("Exp", {"x"}, "ex"),
             sum_all("xw", "s1"),
             sum_all("ex", "s2"),
             sum_all("x", "s3"),
             node("Add", {"s1", "s2"}, "s12"),
             node("Add", {"s12", "s3"}, "loss")};
  Autograd ag(g, {"x", "w"}, "loss");
  ag.forward({});
  auto grads = ag.backward();
  for (int64_t i = 0; i < 5; ++i) {
    const double x = g.initializers["x"].at_f64(i), w = g.initializers["w"].at_f64(i);
    EXPECT_NEAR(grads["x"].at_f64(i), w + std::exp(x) + 1, 1e-12);
    EXPECT_NEAR(grads["w"].at_f64(i), x, 1e-12);
  }
}

TEST(AutogradCore, UnusedParamGetsZerosAndInputsGetNone) {
  Graph g;
  g.inputs.push_back({"data", TypeInfo::of(DType::f64, {3}), ""});
  g.initializers["p"] = random_f64({3}, 3);
  g.initializers["unused"] = random_f64({2, 2}, 4);
  g.nodes = {node("Mul", {"data", "p"}, "m"), sum_all("m", "loss")};
  Autograd ag(g, {"p", "unused"}, "loss");
  const Tensor data = random_f64({3}, 5);
  ag.forward({{"data", data}});
  EXPECT_NEAR(ag.value("loss").at_f64(0),
              data.at_f64(0) * g.initializers["p"].at_f64(0) +
                  data.at_f64(1) * g.initializers["p"].at_f64(1) +
                  data.at_f64(2) * g.initializers["p"].at_f64(2),
              1e-12);
  auto grads = ag.backward();
  EXPECT_EQ(grads.size(), 2u);
  EXPECT_FALSE(grads.count("data"));
  for (int64_t i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(grads["p"].at_f64(i), data.at_f64(i));
  ASSERT_EQ(grads["unused"].shape(), (Shape{2, 2}));
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(grads["unused"].at_f64(i), 0.0);
}

TEST(AutogradCore, MissingRuleOnThePathNamesTheNode) {
  Graph g;
  g.initializers["x"] = random_f64({4}, 6);
  g.initializers["axis"] = Tensor::scalar_i64(0);
  g.nodes = {node("CumSum", {"x", "axis"}, "f"), sum_all("f", "loss")};
  try {
    Autograd ag(g, {"x"}, "loss");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("CumSum 'f_node'"));
  }
}

TEST(AutogradCore, OpsWithoutRulesOffThePathAreFine) {
  // CumSum reads only a non-parameter input; Shape's output is an integer: neither needs a rule.
  Graph g;
  g.initializers["x"] = random_f64({2, 3}, 7);
  g.initializers["c0"] = random_f64({2, 3}, 8);
  g.initializers["axis"] = Tensor::scalar_i64(0);
  g.nodes = {node("CumSum", {"c0", "axis"}, "c"), node("Floor", {"c"}, "fc"),
             node("Shape", {"x"}, "sx"),          node("Reshape", {"x", "sx"}, "rx"),
             node("Mul", {"rx", "fc"}, "m"),      sum_all("m", "loss")};
  Autograd ag(g, {"x"}, "loss");
  ag.forward({});
  auto grads = ag.backward();
  const Tensor& c0 = g.initializers["c0"];
  for (int64_t i = 0; i < 6; ++i) {
    const double cum = c0.at_f64(i) + (i >= 3 ? c0.at_f64(i - 3) : 0.0);
    EXPECT_EQ(grads["x"].at_f64(i), std::floor(cum));
  }
}

TEST(AutogradCore, EachParameterGetsItsOwnGradientBuffer) {
  // Add hands the same dy to both inputs; an optimizer changing one in place must not change
  // the other.
  Graph g;
  g.initializers["p"] = random_f64({3}, 11);
  g.initializers["q"] = random_f64({3}, 12);
  g.nodes = {node("Add", {"p", "q"}, "s"), sum_all("s", "loss")};
  Autograd ag(g, {"p", "q"}, "loss");
  ag.forward({});
  auto grads = ag.backward();
  EXPECT_NE(grads["p"].raw(), grads["q"].raw());
  grads["p"].data<double>()[0] = 5;
  EXPECT_EQ(grads["q"].at_f64(0), 1.0);
}

TEST(AutogradCore, CastAndPiecewiseConstantOps) {
  // loss = sum(cast_f64(cast_f32(x))) + sum(floor(x)): d/dx = 1 (floor contributes 0).
  Graph g;
  g.initializers["x"] = random_f64({4}, 13, -3, 3);
  g.nodes = {node("Cast", {"x"}, "x32", {Attribute::of_int("to", 1)}),
             node("Cast", {"x32"}, "x64", {Attribute::of_int("to", 11)}),
             sum_all("x64", "s1"),
             node("Floor", {"x"}, "fl"),
             sum_all("fl", "s2"),
             node("Add", {"s1", "s2"}, "loss")};
  Autograd ag(g, {"x"}, "loss");
  ag.forward({});
  const Tensor dx = ag.backward().at("x");
  EXPECT_EQ(dx.dtype(), DType::f64);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(dx.at_f64(i), 1.0);
}

TEST(AutogradCore, ForwardSeesParametersUpdatedInPlace) {
  Graph g;
  g.initializers["x"] = random_f64({3}, 9);
  g.nodes = {sum_all("x", "loss")};
  Autograd ag(g, {"x"}, "loss");
  ag.forward({});
  const double before = ag.value("loss").at_f64(0);
  g.initializers["x"].data<double>()[1] += 2.0;
  ag.forward({});
  EXPECT_NEAR(ag.value("loss").at_f64(0), before + 2.0, 1e-12);
}

TEST(AutogradCore, BadArgumentsThrow) {
  Graph g;
  g.initializers["x"] = random_f64({3}, 10);
  g.nodes = {sum_all("x", "loss"), node("Identity", {"x"}, "vec")};
  EXPECT_THROW(Autograd(g, {"nope"}, "loss"), Error);
  EXPECT_THROW(Autograd(g, {"x"}, "nope"), Error);
  Autograd vec(g, {"x"}, "vec");
  vec.forward({});
  EXPECT_THROW(vec.backward(), Error);  // not a scalar
  Autograd ag(g, {"x"}, "loss");
  EXPECT_THROW(ag.backward(), Error);  // before forward
}

}  // namespace
}  // namespace nnaccel::testing
