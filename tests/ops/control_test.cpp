// If and Loop run through a Session (so bodies execute in the executor's scopes and read outer
// values). Bodies use only ops of this engineer's families (an RNN with W = R = 1 and an
// identity activation is an adder), so the tests run without the elementwise families.
#include "nnaccel/session.hpp"
#include "ops/op_test_util.hpp"

namespace nnaccel {
namespace {

using testing::make_node;
using testing::run_op;

ValueInfo vi(const std::string& name, DType dt, const Shape& shape) {
  return ValueInfo{name, TypeInfo::of(dt, shape), ""};
}

Tensor bool_scalar(bool v) {
  Tensor t(DType::boolean, {});
  t.data<bool>()[0] = v;
  return t;
}

Attribute graph_attr(const std::string& name, Graph g) {
  return Attribute::of_graph(name, std::make_shared<Graph>(std::move(g)));
}

Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
          std::vector<Attribute> attrs = {}) {
  Node n;
  n.op_type = op;
  n.name = op + "_" + out[0];
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  return n;
}

// h_out = x + h_in for [1, 1, 1] tensors: an RNN step with W = R = 1 and Affine(1, 0).
Node adder(const std::string& x, const std::string& h_in, const std::string& h_out) {
  Attribute acts;
  acts.name = "activations";
  acts.kind = Attribute::Kind::strings;
  acts.strings = {"Affine"};
  return node("RNN", {x, "one_w", "one_r", "", "", h_in}, {"", h_out},
              {Attribute::of_int("hidden_size", 1), acts});
}

void add_ones(Graph& g) {
  g.initializers["one_w"] = Tensor::from_f32({1, 1, 1}, {1});
  g.initializers["one_r"] = Tensor::from_f32({1, 1, 1}, {1});
}

TEST(If, PicksEachBranchAndReadsOuterValues) {
  Model m;
  m.opsets[""] = kCanonicalOpset;
  // cond's shape is left open so a 1-element tensor can be fed too.
  m.graph.inputs = {ValueInfo{"cond", TypeInfo{DType::boolean, false, {}}, ""},
                    vi("a", DType::f32, {1, 1, 1}), vi("b", DType::f32, {1, 1, 1})};
  add_ones(m.graph);
  Graph then_g;  // no nodes: returns the outer value a
  then_g.name = "then";
  then_g.outputs = {vi("a", DType::f32, {1, 1, 1})};
  Graph else_g;  // a node reading two outer values: a + b
  else_g.name = "else";
  else_g.nodes = {adder("a", "b", "sum")};
  else_g.outputs = {vi("sum", DType::f32, {1, 1, 1})};
  m.graph.nodes = {node("If", {"cond"}, {"res"},
                        {graph_attr("then_branch", then_g), graph_attr("else_branch", else_g)})};
  m.graph.outputs = {vi("res", DType::f32, {1, 1, 1})};
  Session s(m);
  Tensor a = Tensor::from_f32({1, 1, 1}, {3}), b = Tensor::from_f32({1, 1, 1}, {4});
  EXPECT_EQ(s.run({{"cond", bool_scalar(true)}, {"a", a}, {"b", b}})[0].to_f32_vector(),
            std::vector<float>{3});
  EXPECT_EQ(s.run({{"cond", bool_scalar(false)}, {"a", a}, {"b", b}})[0].to_f32_vector(),
            std::vector<float>{7});
  // A 1-element bool tensor is a valid condition; two elements are not.
  Tensor one(DType::boolean, {1});
  one.data<bool>()[0] = true;
  EXPECT_EQ(s.run({{"cond", one}, {"a", a}, {"b", b}})[0].to_f32_vector(), std::vector<float>{3});
  EXPECT_THROW(s.run({{"cond", Tensor(DType::boolean, {2})}, {"a", a}, {"b", b}}), Error);
}

TEST(If, LstmInsideABranchMatchesTheLstmOp) {
  // The Silero VAD pattern: an LSTM (layout 0) inside a branch, its weights and state outer.
  Tensor X = testing::random_f32({3, 2, 4}, 1), W = testing::random_f32({1, 20, 4}, 2),
         R = testing::random_f32({1, 20, 5}, 3), B = testing::random_f32({1, 40}, 4),
         h0 = testing::random_f32({1, 2, 5}, 5), c0 = testing::random_f32({1, 2, 5}, 6);
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.graph.inputs = {vi("cond", DType::boolean, {}), vi("X", DType::f32, {3, 2, 4}),
                    vi("h0", DType::f32, {1, 2, 5}), vi("c0", DType::f32, {1, 2, 5})};
  m.graph.initializers = {{"W", W}, {"R", R}, {"B", B}};
  Graph then_g;
  then_g.name = "then";
  then_g.nodes = {node("LSTM", {"X", "W", "R", "B", "", "h0", "c0"}, {"Y", "Yh", "Yc"},
                       {Attribute::of_int("hidden_size", 5)})};
  then_g.outputs = {vi("Yh", DType::f32, {1, 2, 5}), vi("Yc", DType::f32, {1, 2, 5})};
  Graph else_g;
  else_g.name = "else";
  else_g.outputs = {vi("h0", DType::f32, {1, 2, 5}), vi("c0", DType::f32, {1, 2, 5})};
  m.graph.nodes = {node("If", {"cond"}, {"h", "c"},
                        {graph_attr("then_branch", then_g), graph_attr("else_branch", else_g)})};
  m.graph.outputs = {vi("h", DType::f32, {1, 2, 5}), vi("c", DType::f32, {1, 2, 5})};
  Session s(m);
  auto out = s.run({{"cond", bool_scalar(true)}, {"X", X}, {"h0", h0}, {"c0", c0}});
  auto want =
      run_op(make_node("LSTM", 7, 3, {Attribute::of_int("hidden_size", 5)}), {X, W, R, B, Tensor{}, h0, c0});
  // The fast path may run a fast LSTM kernel (simd): equal up to float rounding.
  for (int o = 0; o < 2; ++o) {
    const std::vector<float> got = out[o].to_f32_vector(), ref = want[o + 1].to_f32_vector();
    ASSERT_EQ(got.size(), ref.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], ref[i], 1e-5f) << o << " " << i;
  }
  auto skip = s.run({{"cond", bool_scalar(false)}, {"X", X}, {"h0", h0}, {"c0", c0}});
  EXPECT_EQ(skip[0].to_f32_vector(), h0.to_f32_vector());
}

TEST(If, ShapeFunctionMergesTheBranches) {
  const OpSchema* s = OpRegistry::instance().find("", "If");
  ASSERT_NE(s, nullptr);
  Graph t, e;
  t.outputs = {vi("x", DType::f32, {2, 3}), vi("y", DType::i64, {4})};
  e.outputs = {vi("x", DType::f32, {2, 5}), vi("y", DType::i64, {4, 1})};
  Node n =
      node("If", {"c"}, {"o1", "o2"}, {graph_attr("then_branch", t), graph_attr("else_branch", e)});
  TypeInfo c = TypeInfo::of(DType::boolean, {});
  InferContext ctx(n, {&c}, {nullptr});
  s->infer(ctx);
  ASSERT_TRUE(ctx.outputs[0].has_shape);
  EXPECT_EQ(ctx.outputs[0].dims[0].value, 2);
  EXPECT_FALSE(ctx.outputs[0].dims[1].known());
  EXPECT_EQ(ctx.outputs[1].dtype, DType::i64);
  EXPECT_FALSE(ctx.outputs[1].has_shape);  // ranks differ
  e.outputs[0].type.dtype = DType::f64;
  Node bad =
      node("If", {"c"}, {"o1", "o2"}, {graph_attr("then_branch", t), graph_attr("else_branch", e)});
  InferContext bctx(bad, {&c}, {nullptr});
  EXPECT_THROW(s->infer(bctx), Error);
}

// Loop(M, cond, y) with body (i, cond_in, y_in) -> (cond_out, y_in + x, y_in + x as scan).
Model loop_model(bool body_cond_false) {
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.graph.inputs = {vi("M", DType::i64, {}), vi("cond", DType::boolean, {}),
                    vi("y", DType::f32, {1, 1, 1}), vi("x", DType::f32, {1, 1, 1})};
  Graph body;
  body.name = "body";
  add_ones(body);
  body.inputs = {vi("i", DType::i64, {}), vi("cond_in", DType::boolean, {}),
                 vi("y_in", DType::f32, {1, 1, 1})};
  body.nodes = {adder("x", "y_in", "y_out")};
  std::string cond_out = "cond_in";
  if (body_cond_false) {
    body.initializers["stop"] = bool_scalar(false);
    cond_out = "stop";
  }
  body.outputs = {vi(cond_out, DType::boolean, {}), vi("y_out", DType::f32, {1, 1, 1}),
                  vi("y_out", DType::f32, {1, 1, 1})};
  m.graph.nodes = {node("Loop", {"M", "cond", "y"}, {"final", "scan"}, {graph_attr("body", body)})};
  m.graph.outputs = {vi("final", DType::f32, {1, 1, 1}), ValueInfo{"scan", {}, ""}};
  return m;
}

TEST(Loop, TripCountWithCarriedSumAndScanOutput) {
  Session s(loop_model(false));
  Tensor y = Tensor::from_f32({1, 1, 1}, {1}), x = Tensor::from_f32({1, 1, 1}, {2});
  auto out = s.run({{"M", Tensor::scalar_i64(3)}, {"cond", bool_scalar(true)}, {"y", y}, {"x", x}});
  EXPECT_EQ(out[0].to_f32_vector(), std::vector<float>{7});
  ASSERT_EQ(out[1].shape(), (Shape{3, 1, 1, 1}));
  EXPECT_EQ(out[1].to_f32_vector(), (std::vector<float>{3, 5, 7}));
  // Zero trips: the initial value passes through and the scan output is empty.
  auto none =
      s.run({{"M", Tensor::scalar_i64(0)}, {"cond", bool_scalar(true)}, {"y", y}, {"x", x}});
  EXPECT_EQ(none[0].to_f32_vector(), std::vector<float>{1});
  EXPECT_EQ(none[1].shape(), (Shape{0, 1, 1, 1}));
  // A false initial condition also runs no iteration.
  auto f = s.run({{"M", Tensor::scalar_i64(5)}, {"cond", bool_scalar(false)}, {"y", y}, {"x", x}});
  EXPECT_EQ(f[0].to_f32_vector(), std::vector<float>{1});
}

TEST(Loop, BodyConditionStopsTheLoop) {
  Session s(loop_model(true));
  Tensor y = Tensor::from_f32({1, 1, 1}, {1}), x = Tensor::from_f32({1, 1, 1}, {2});
  auto out =
      s.run({{"M", Tensor::scalar_i64(10)}, {"cond", bool_scalar(true)}, {"y", y}, {"x", x}});
  EXPECT_EQ(out[0].to_f32_vector(), std::vector<float>{3});  // one iteration, then cond false
  EXPECT_EQ(out[1].shape(), (Shape{1, 1, 1, 1}));
}

TEST(Loop, ForLoopIgnoresTheBodyConditionAndNeedsATerminator) {
  Model m = loop_model(true);
  m.graph.nodes[0].inputs[1] = "";  // no cond input: a for loop over M
  m.graph.inputs.erase(m.graph.inputs.begin() + 1);
  Session s(m);
  Tensor y = Tensor::from_f32({1, 1, 1}, {1}), x = Tensor::from_f32({1, 1, 1}, {2});
  auto out = s.run({{"M", Tensor::scalar_i64(4)}, {"y", y}, {"x", x}});
  EXPECT_EQ(out[0].to_f32_vector(), std::vector<float>{9});

  Model endless = loop_model(false);
  endless.graph.nodes[0].inputs[0] = "";
  endless.graph.nodes[0].inputs[1] = "";
  endless.graph.inputs.erase(endless.graph.inputs.begin(), endless.graph.inputs.begin() + 2);
  Session e(endless);
  EXPECT_THROW(e.run({{"y", y}, {"x", x}}), Error);
}

TEST(Loop, ShapeFunction) {
  const OpSchema* s = OpRegistry::instance().find("", "Loop");
  ASSERT_NE(s, nullptr);
  Model m = loop_model(false);
  const Node& n = m.graph.nodes[0];
  TypeInfo M = TypeInfo::of(DType::i64, {}), c = TypeInfo::of(DType::boolean, {});
  TypeInfo y = TypeInfo::of(DType::f32, {1, 1, 1});
  InferContext ctx(n, {&M, &c, &y}, {nullptr, nullptr, nullptr});
  s->infer(ctx);
  EXPECT_EQ(ctx.outputs[0], y);
  ASSERT_TRUE(ctx.outputs[1].has_shape);
  ASSERT_EQ(ctx.outputs[1].dims.size(), 4u);
  EXPECT_FALSE(ctx.outputs[1].dims[0].known());
  EXPECT_EQ(ctx.outputs[1].dims[1].value, 1);
  // A carried input of another element type than the body's output is an error.
  TypeInfo yi = TypeInfo::of(DType::i32, {1, 1, 1});
  InferContext bad(n, {&M, &c, &yi}, {nullptr, nullptr, nullptr});
  EXPECT_THROW(s->infer(bad), Error);
}

}  // namespace
}  // namespace nnaccel
