// Reduction family: Reduce* (one engine), ArgMax/ArgMin, CumSum, TopK. Expected values are
// computed by hand in the comments.
#include <cmath>
#include <limits>

#include "core/cast.hpp"
#include "ops/op_test_util.hpp"

namespace nnaccel {
namespace {

using testing::make_node;
using testing::run_op;

constexpr float kInf = std::numeric_limits<float>::infinity();

template <typename T>
Tensor make(DType dt, Shape shape, std::vector<T> v) {
  Tensor t(dt, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), v.size());
  for (size_t i = 0; i < v.size(); ++i) t.data<T>()[i] = v[i];
  return t;
}

void expect_f32(const Tensor& t, const Shape& shape, const std::vector<float>& want,
                float tol = 1e-5f) {
  ASSERT_EQ(t.dtype(), DType::f32);
  ASSERT_EQ(t.shape(), shape);
  ASSERT_EQ(static_cast<size_t>(t.numel()), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const float got = t.data<float>()[i];
    if (std::isinf(want[i]))
      EXPECT_EQ(got, want[i]) << "at " << i;
    else
      EXPECT_NEAR(got, want[i], tol * std::max(1.0f, std::fabs(want[i]))) << "at " << i;
  }
}

void expect_i64(const Tensor& t, const Shape& shape, const std::vector<int64_t>& want) {
  ASSERT_EQ(t.dtype(), DType::i64);
  ASSERT_EQ(t.shape(), shape);
  EXPECT_EQ(t.to_i64_vector(), want);
}

// x = [[[1,2],[3,4],[5,6]], [[7,8],[9,10],[11,12]]], shape [2,3,2].
Tensor x232() { return Tensor::from_f32({2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}); }

Tensor reduce(const std::string& op, const Tensor& x, std::vector<int64_t> axes, int keepdims) {
  std::vector<Attribute> attrs{Attribute::of_int("keepdims", keepdims)};
  if (!axes.empty()) attrs.push_back(Attribute::of_ints("axes", axes));
  return run_op(make_node(op, 1, 1, attrs), {x})[0];
}

TEST(Reduction, SumOverTwoAxesKeepdims) {
  // Axes {0, 2}: for each middle index j, sum of x[:, j, :].
  // j=0: 1+2+7+8 = 18, j=1: 3+4+9+10 = 26, j=2: 5+6+11+12 = 34.
  Node n = make_node("ReduceSum", 2, 1, {Attribute::of_int("keepdims", 1)});
  auto y = run_op(n, {x232(), Tensor::from_i64({2}, {0, -1})});
  expect_f32(y[0], {1, 3, 1}, {18, 26, 34});
  Node n0 = make_node("ReduceSum", 2, 1, {Attribute::of_int("keepdims", 0)});
  y = run_op(n0, {x232(), Tensor::from_i64({2}, {-3, 2})});
  expect_f32(y[0], {3}, {18, 26, 34});
}

TEST(Reduction, SumWithoutAxesReducesAllUnlessNoop) {
  Node all = make_node("ReduceSum", 1, 1, {Attribute::of_int("keepdims", 0)});
  expect_f32(run_op(all, {x232()})[0], {}, {78});
  Node empty_axes = make_node("ReduceSum", 2, 1, {});
  expect_f32(run_op(empty_axes, {x232(), Tensor::from_i64({0}, {})})[0], {1, 1, 1}, {78});
  Node noop = make_node("ReduceSum", 2, 1, {Attribute::of_int("noop_with_empty_axes", 1)});
  expect_f32(run_op(noop, {x232(), Tensor::from_i64({0}, {})})[0], {2, 3, 2},
             {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
}

TEST(Reduction, EachOpOnOneAxis) {
  // x = [[1, -2], [3, -4]].
  Tensor x = Tensor::from_f32({2, 2}, {1, -2, 3, -4});
  expect_f32(reduce("ReduceL1", x, {1}, 0), {2}, {3, 7});
  expect_f32(reduce("ReduceL2", x, {1}, 0), {2}, {std::sqrt(5.0f), 5});
  expect_f32(reduce("ReduceSumSquare", x, {1}, 0), {2}, {5, 25});
  expect_f32(reduce("ReduceMean", x, {0}, 1), {1, 2}, {2, -3});
  expect_f32(reduce("ReduceMax", x, {1}, 1), {2, 1}, {1, 3});
  expect_f32(reduce("ReduceMin", x, {0}, 0), {2}, {1, -4});
  expect_f32(reduce("ReduceProd", x, {}, 0), {}, {24});
  Tensor p = Tensor::from_f32({2, 2}, {1, 2, 3, 4});
  expect_f32(reduce("ReduceLogSum", p, {0}, 0), {2}, {std::log(4.0f), std::log(6.0f)});
  // log(e^1 + e^2) = 2 + log(1 + e^-1).
  expect_f32(reduce("ReduceLogSumExp", p, {1}, 0), {2},
             {2 + std::log1p(std::exp(-1.0f)), 4 + std::log1p(std::exp(-1.0f))});
}

TEST(Reduction, MeanOverSeveralAxesMatchesSumOverCount) {
  Tensor x = testing::random_f32({3, 4, 5}, 7);
  Tensor mean = reduce("ReduceMean", x, {0, 2}, 0);
  Node n = make_node("ReduceSum", 2, 1, {Attribute::of_int("keepdims", 0)});
  Tensor sum = run_op(n, {x, Tensor::from_i64({2}, {0, 2})})[0];
  ASSERT_EQ(mean.shape(), Shape({4}));
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(mean.data<float>()[i], sum.data<float>()[i] / 15, 1e-6);
}

TEST(Reduction, LogSumExpIsStableForLargeMagnitudes) {
  Tensor big = make<double>(DType::f64, {3}, {1000, 1000, -kInf});
  Tensor y = reduce("ReduceLogSumExp", big, {}, 0);
  EXPECT_NEAR(y.data<double>()[0], 1000 + std::log(2.0), 1e-9);
  Tensor small = Tensor::from_f32({2}, {-1000, -1000});
  expect_f32(reduce("ReduceLogSumExp", small, {}, 0), {}, {-1000 + std::log(2.0f)});
}

TEST(Reduction, EmptySetsGiveTheIdentities) {
  Tensor x(DType::f32, {2, 0});
  expect_f32(reduce("ReduceMin", x, {1}, 0), {2}, {kInf, kInf});
  expect_f32(reduce("ReduceMax", x, {1}, 1), {2, 1}, {-kInf, -kInf});
  expect_f32(reduce("ReduceSum", x, {}, 0), {}, {0});
  expect_f32(reduce("ReduceProd", x, {1}, 0), {2}, {1, 1});
  expect_f32(reduce("ReduceLogSumExp", x, {1}, 0), {2}, {-kInf, -kInf});
  expect_f32(reduce("ReduceLogSum", x, {1}, 0), {2}, {-kInf, -kInf});
  EXPECT_TRUE(std::isnan(reduce("ReduceMean", x, {1}, 0).data<float>()[0]));
  // Reducing a kept empty axis gives an empty result.
  EXPECT_EQ(reduce("ReduceMin", x, {0}, 0).shape(), Shape({0}));
  Tensor xi(DType::i32, {0, 3});
  Tensor m = reduce("ReduceMin", xi, {0}, 0);
  EXPECT_EQ(m.data<int32_t>()[0], std::numeric_limits<int32_t>::max());
  EXPECT_THROW(reduce("ReduceMean", xi, {0}, 0), Error);  // undefined for integers
}

TEST(Reduction, IntegerTypes) {
  Tensor xi = make<int32_t>(DType::i32, {2, 3}, {1, -2, 3, 4, 5, -6});
  Tensor s = reduce("ReduceSum", xi, {}, 0);  // no axes input: everything
  EXPECT_EQ(s.dtype(), DType::i32);
  EXPECT_EQ(s.data<int32_t>()[0], 5);
  Tensor m = reduce("ReduceMean", xi, {1}, 0);  // 2/3 -> 0, 3/3 = 1
  EXPECT_EQ(m.data<int32_t>()[0], 0);
  EXPECT_EQ(m.data<int32_t>()[1], 1);
  Tensor l1 = reduce("ReduceL1", xi, {0}, 0);
  EXPECT_EQ(std::vector<int32_t>(l1.data<int32_t>(), l1.data<int32_t>() + 3),
            std::vector<int32_t>({5, 7, 9}));
  Tensor u = make<uint8_t>(DType::u8, {4}, {7, 200, 3, 199});
  EXPECT_EQ(reduce("ReduceMax", u, {}, 0).data<uint8_t>()[0], 200);
  Tensor i8 = make<int8_t>(DType::i8, {3}, {-7, 100, -128});
  EXPECT_EQ(reduce("ReduceMin", i8, {}, 0).data<int8_t>()[0], -128);
  Tensor i64 = make<int64_t>(DType::i64, {3}, {3, -4, 5});
  EXPECT_EQ(reduce("ReduceProd", i64, {0}, 1).data<int64_t>()[0], -60);
}

TEST(Reduction, Float16GoesThroughFloat) {
  Tensor h = cast_tensor(Tensor::from_f32({2, 2}, {1.5f, 2.5f, -3, 8}), DType::f16);
  Tensor y = reduce("ReduceMean", h, {1}, 0);
  ASSERT_EQ(y.dtype(), DType::f16);
  expect_f32(cast_tensor(y, DType::f32), {2}, {2, 2.5f});
}

TEST(Reduction, NaNPropagatesThroughMaxAndMin) {
  Tensor x = Tensor::from_f32({3}, {1, std::nanf(""), 3});
  EXPECT_TRUE(std::isnan(reduce("ReduceMax", x, {}, 0).data<float>()[0]));
  EXPECT_TRUE(std::isnan(reduce("ReduceMin", x, {}, 0).data<float>()[0]));
}

TEST(Reduction, RejectsBadAxes) {
  EXPECT_THROW(reduce("ReduceMax", x232(), {3}, 1), Error);
  EXPECT_THROW(reduce("ReduceMax", x232(), {-4}, 1), Error);
  EXPECT_THROW(reduce("ReduceMax", x232(), {1, -2}, 1), Error);  // the same axis twice
  // Opset 17: ReduceSum's axes are an input, the others' an attribute.
  EXPECT_THROW(run_op(make_node("ReduceSum", 1, 1, {Attribute::of_ints("axes", {0})}), {x232()}), Error);
  EXPECT_THROW(run_op(make_node("ReduceMax", 2, 1, {}), {x232(), Tensor::from_i64({1}, {0})}),
               Error);
  EXPECT_THROW(run_op(make_node("ReduceSum", 2, 1, {}), {x232(), Tensor::from_i64({1}, {5})}),
               Error);
}

// ---- shape functions ----

std::vector<TypeInfo> infer(const Node& n, const std::vector<TypeInfo>& types,
                            const std::vector<const Tensor*>& values) {
  std::vector<const TypeInfo*> tp;
  for (const TypeInfo& t : types) tp.push_back(&t);
  std::vector<const Tensor*> vals = values;
  vals.resize(types.size(), nullptr);
  InferContext ctx(n, tp, vals);
  OpRegistry::instance().find("", n.op_type)->infer(ctx);
  return ctx.outputs;
}

TEST(ReductionInfer, ShapesFromAttributesAndConstantAxes) {
  TypeInfo x = TypeInfo::of(DType::f32, {2, 3, 4});
  auto o = infer(make_node("ReduceMax", 1, 1, {Attribute::of_ints("axes", {-1}), Attribute::of_int("keepdims", 0)}),
                 {x}, {});
  EXPECT_EQ(o[0], TypeInfo::of(DType::f32, {2, 3}));
  Tensor axes = Tensor::from_i64({1}, {1});
  o = infer(make_node("ReduceSum", 2, 1, {}), {x, TypeInfo::of(DType::i64, {1})}, {nullptr, &axes});
  EXPECT_EQ(o[0], TypeInfo::of(DType::f32, {2, 1, 4}));
  // Axes not known: with keepdims the rank is known, the dims are not.
  o = infer(make_node("ReduceSum", 2, 1, {}), {x, TypeInfo::of(DType::i64, {1})}, {});
  EXPECT_TRUE(o[0].has_shape);
  ASSERT_EQ(o[0].dims.size(), 3u);
  EXPECT_FALSE(o[0].dims[0].known());
  o = infer(make_node("ReduceSum", 2, 1, {Attribute::of_int("keepdims", 0)}),
            {x, TypeInfo::of(DType::i64, {1})}, {});
  EXPECT_FALSE(o[0].has_shape);
  EXPECT_THROW(infer(make_node("ReduceL2", 1, 1, {Attribute::of_ints("axes", {3})}), {x}, {}), Error);
}

// ---- ArgMax / ArgMin ----

TEST(ArgMaxMin, TiesAndSelectLastIndex) {
  Tensor x = Tensor::from_f32({2, 3}, {2, 5, 5, 1, 1, 0});
  auto run = [&](const char* op, int64_t axis, int keep, int last) {
    return run_op(make_node(op, 1, 1,
                            {Attribute::of_int("axis", axis), Attribute::of_int("keepdims", keep),
                             Attribute::of_int("select_last_index", last)}),
                  {x})[0];
  };
  expect_i64(run("ArgMax", 1, 1, 0), {2, 1}, {1, 0});
  expect_i64(run("ArgMax", -1, 0, 1), {2}, {2, 1});
  expect_i64(run("ArgMin", 1, 0, 0), {2}, {0, 2});
  expect_i64(run("ArgMin", 0, 1, 0), {1, 3}, {1, 1, 1});
  expect_i64(run("ArgMax", 0, 0, 0), {3}, {0, 0, 0});
  EXPECT_THROW(run("ArgMax", 2, 1, 0), Error);
  auto o = infer(make_node("ArgMin", 1, 1, {Attribute::of_int("axis", 1), Attribute::of_int("keepdims", 0)}),
                 {TypeInfo::of(DType::f32, {2, 3, 4})}, {});
  EXPECT_EQ(o[0], TypeInfo::of(DType::i64, {2, 4}));
}

// ---- CumSum ----

TEST(CumSum, ExclusiveAndReverse) {
  Tensor x = make<double>(DType::f64, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto run = [&](int64_t axis, int exclusive, int reverse) {
    Tensor a = make<int32_t>(DType::i32, {}, {static_cast<int32_t>(axis)});
    Tensor y = run_op(
        make_node("CumSum", 2, 1, {Attribute::of_int("exclusive", exclusive), Attribute::of_int("reverse", reverse)}),
        {x, a})[0];
    EXPECT_EQ(y.dtype(), DType::f64);
    return std::vector<double>(y.data<double>(), y.data<double>() + y.numel());
  };
  EXPECT_EQ(run(1, 0, 0), std::vector<double>({1, 3, 6, 4, 9, 15}));
  EXPECT_EQ(run(-1, 1, 0), std::vector<double>({0, 1, 3, 0, 4, 9}));
  EXPECT_EQ(run(1, 0, 1), std::vector<double>({6, 5, 3, 15, 11, 6}));
  EXPECT_EQ(run(1, 1, 1), std::vector<double>({5, 3, 0, 11, 6, 0}));
  EXPECT_EQ(run(0, 0, 0), std::vector<double>({1, 2, 3, 5, 7, 9}));
  EXPECT_THROW(run(2, 0, 0), Error);
}

TEST(CumSum, Int64AndErrors) {
  Tensor x = Tensor::from_i64({4}, {5, -1, 2, 7});
  Tensor y = run_op(make_node("CumSum", 2, 1, {}), {x, Tensor::from_i64({1}, {0})})[0];
  expect_i64(y, {4}, {5, 4, 6, 13});
  EXPECT_THROW(run_op(make_node("CumSum", 2, 1, {}), {x, Tensor::from_i64({2}, {0, 0})}), Error);
  EXPECT_THROW(run_op(make_node("CumSum", 2, 1, {}), {x, Tensor::scalar_f32(0)}), Error);
}

// ---- TopK ----

TEST(TopK, TiesTakeTheLowerIndexFirst) {
  Tensor x = Tensor::from_f32({2, 4}, {3, 1, 3, 2, 2, 1, 1, 3});
  auto y = run_op(make_node("TopK", 2, 2, {}), {x, Tensor::from_i64({1}, {2})});
  expect_f32(y[0], {2, 2}, {3, 3, 3, 2});
  expect_i64(y[1], {2, 2}, {0, 2, 3, 0});
  y = run_op(make_node("TopK", 2, 2, {Attribute::of_int("largest", 0)}), {x, Tensor::from_i64({1}, {3})});
  expect_f32(y[0], {2, 3}, {1, 2, 3, 1, 1, 2});
  expect_i64(y[1], {2, 3}, {1, 3, 0, 1, 2, 0});
}

TEST(TopK, AlongAxisZeroAndEdgeK) {
  Tensor x = Tensor::from_f32({3, 2}, {1, 6, 5, 2, 3, 4});
  auto y = run_op(make_node("TopK", 2, 2, {Attribute::of_int("axis", 0)}), {x, Tensor::from_i64({1}, {2})});
  expect_f32(y[0], {2, 2}, {5, 6, 3, 4});
  expect_i64(y[1], {2, 2}, {1, 0, 2, 2});
  y = run_op(make_node("TopK", 2, 2, {}), {x, Tensor::from_i64({1}, {0})});
  EXPECT_EQ(y[0].shape(), Shape({3, 0}));
  EXPECT_THROW(run_op(make_node("TopK", 2, 2, {}), {x, Tensor::from_i64({1}, {3})}), Error);
  EXPECT_THROW(run_op(make_node("TopK", 2, 2, {}), {x, Tensor::from_i64({1}, {-1})}), Error);
}

TEST(TopK, NaNRanksAboveNumbers) {
  Tensor x = Tensor::from_f32({4}, {1, std::nanf(""), 7, 2});
  auto y = run_op(make_node("TopK", 2, 2, {}), {x, Tensor::from_i64({1}, {2})});
  EXPECT_TRUE(std::isnan(y[0].data<float>()[0]));
  expect_i64(y[1], {2}, {1, 2});
  y = run_op(make_node("TopK", 2, 2, {Attribute::of_int("largest", 0)}), {x, Tensor::from_i64({1}, {2})});
  expect_i64(y[1], {2}, {0, 3});
}

TEST(TopK, ShapeFunction) {
  Tensor k = Tensor::from_i64({1}, {2});
  TypeInfo x = TypeInfo::of(DType::f32, {3, 5});
  auto o = infer(make_node("TopK", 2, 2, {}), {x, TypeInfo::of(DType::i64, {1})}, {nullptr, &k});
  EXPECT_EQ(o[0], TypeInfo::of(DType::f32, {3, 2}));
  EXPECT_EQ(o[1], TypeInfo::of(DType::i64, {3, 2}));
  o = infer(make_node("TopK", 2, 2, {Attribute::of_int("axis", 0)}), {x, TypeInfo::of(DType::i64, {1})}, {});
  EXPECT_FALSE(o[0].dims[0].known());
  EXPECT_EQ(o[0].dims[1].value, 5);
  Tensor big = Tensor::from_i64({1}, {9});
  EXPECT_THROW(
      infer(make_node("TopK", 2, 2, {}), {x, TypeInfo::of(DType::i64, {1})}, {nullptr, &big}),
      Error);
}

}  // namespace
}  // namespace nnaccel
