// The f32 Conv, Gemm and MatMul of Autograd go through oneDNN (forward and gradients), the f32
// pools through their own forward; the results are compared with the f64 reference path on the
// same random data.
#include "core/cast.hpp"
#include "train/autograd/dnnl_ops.hpp"
#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

struct Result {
  Tensor y;
  std::map<std::string, Tensor> grads;
};

// One node; loss = sum(y * r) with r fixed; everything in `dtype`.
Result run(const std::string& op, const std::vector<Tensor>& inputs, std::vector<Attribute> attrs,
           DType dtype) {
  Graph g;
  Node n;
  n.op_type = op;
  n.name = "under_test";
  n.attrs = std::move(attrs);
  std::vector<std::string> params;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = inputs[i].defined() ? "in" + std::to_string(i) : "";
    n.inputs.push_back(name);
    if (inputs[i].defined()) {
      g.initializers[name] = cast_tensor(inputs[i], dtype);
      params.push_back(name);
    }
  }
  n.outputs = {"y"};
  g.nodes.push_back(n);
  Graph probe = g;
  Autograd shapes(probe, {}, "y");
  shapes.forward({});
  g.initializers["r"] = cast_tensor(random_f64(shapes.value("y").shape(), 99), dtype);
  Node mul;
  mul.op_type = "Mul";
  mul.name = "mul";
  mul.inputs = {"y", "r"};
  mul.outputs = {"yr"};
  Node sum;
  sum.op_type = "ReduceSum";
  sum.name = "sum";
  sum.inputs = {"yr"};
  sum.outputs = {"loss"};
  sum.attrs = {Attribute::of_int("keepdims", 0)};
  g.nodes.push_back(mul);
  g.nodes.push_back(sum);
  Autograd ag(g, params, "loss");
  ag.forward({});
  Result r;
  r.y = ag.value("y").clone();
  r.grads = ag.backward();
  return r;
}

void expect_close(const Tensor& f32, const Tensor& f64, const std::string& what) {
  ASSERT_EQ(f32.shape(), f64.shape()) << what;
  ASSERT_EQ(f32.dtype(), DType::f32) << what;
  double scale = 0;
  for (int64_t i = 0; i < f64.numel(); ++i) scale = std::max(scale, std::fabs(f64.at_f64(i)));
  for (int64_t i = 0; i < f64.numel(); ++i)
    ASSERT_NEAR(f32.at_f64(i), f64.at_f64(i), 1e-5 * std::max(1.0, scale)) << what << " " << i;
}

void compare(const std::string& op, const std::vector<Tensor>& inputs,
             const std::vector<Attribute>& attrs) {
  ASSERT_TRUE(grad::dnnl_enabled());
  const Result ref = run(op, inputs, attrs, DType::f64);
  const Result fast = run(op, inputs, attrs, DType::f32);
  expect_close(fast.y, ref.y, op + " output");
  for (const auto& [name, g] : ref.grads) expect_close(fast.grads.at(name), g, op + " d" + name);
}

TEST(AutogradDnnl, ConvMatchesReference) {
  compare("Conv", {random_f64({3, 3, 11, 9}, 1), random_f64({5, 3, 3, 3}, 2), random_f64({5}, 3)},
          {});
  compare("Conv", {random_f64({2, 6, 10, 7}, 4), random_f64({9, 2, 3, 2}, 5), random_f64({9}, 6)},
          {attr_i("group", 3), attr_is("strides", {2, 1}), attr_is("pads", {1, 0, 1, 1}),
           attr_is("dilations", {2, 1})});
  compare("Conv", {random_f64({2, 4, 13}, 7), random_f64({4, 1, 5}, 8)},
          {attr_i("group", 4), attr_s("auto_pad", "SAME_UPPER"), attr_is("strides", {2})});
  compare("Conv", {random_f64({1, 2, 5, 6, 4}, 9), random_f64({3, 2, 2, 3, 2}, 10)},
          {attr_is("pads", {1, 1, 0, 0, 1, 1})});
  // A window that leaves the last input column unread (negative right pad in oneDNN terms):
  // the reference path takes over.
  compare("Conv", {random_f64({1, 2, 8, 8}, 11), random_f64({3, 2, 3, 3}, 12)},
          {attr_is("strides", {3, 3})});
}

TEST(AutogradDnnl, GemmMatchesReference) {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      compare("Gemm",
              {random_f64(ta ? Shape{33, 17} : Shape{17, 33}, 13),
               random_f64(tb ? Shape{9, 33} : Shape{33, 9}, 14), random_f64({9}, 15)},
              {attr_i("transA", ta), attr_i("transB", tb), attr_f("alpha", 0.5f),
               attr_f("beta", 2.0f)});
}

TEST(AutogradDnnl, MatMulMatchesReference) {
  compare("MatMul", {random_f64({2, 3, 7, 5}, 16), random_f64({5, 4}, 17)}, {});
  compare("MatMul", {random_f64({2, 1, 7, 5}, 18), random_f64({3, 5, 4}, 19)}, {});
  compare("MatMul", {random_f64({5}, 20), random_f64({2, 5, 3}, 21)}, {});
}

TEST(AutogradDnnl, PoolsMatchReference) {
  // The f32 pools run their own plane-by-plane forward; f64 the reference kernels.
  compare("MaxPool", {random_f64({2, 3, 9, 8}, 24)},
          {attr_is("kernel_shape", {3, 2}), attr_is("strides", {2, 2}),
           attr_is("pads", {1, 0, 1, 1}), attr_i("ceil_mode", 1)});
  compare("MaxPool", {random_f64({2, 2, 11}, 25)},
          {attr_is("kernel_shape", {3}), attr_is("dilations", {2}), attr_is("strides", {2})});
  for (int include = 0; include < 2; ++include)
    compare(
        "AveragePool", {random_f64({2, 3, 7, 9}, 26)},
        {attr_is("kernel_shape", {3, 3}), attr_is("strides", {2, 2}), attr_is("pads", {1, 1, 1, 0}),
         attr_i("count_include_pad", include), attr_i("ceil_mode", 1 - include)});
}

TEST(AutogradDnnl, DisabledRunsTheReferenceWithTheSameResults) {
  const std::vector<Tensor> in = {random_f64({2, 3, 6, 6}, 22), random_f64({4, 3, 3, 3}, 23)};
  const Result fast = run("Conv", in, {}, DType::f32);
  grad::set_dnnl_enabled(false);
  const Result ref = run("Conv", in, {}, DType::f32);
  grad::set_dnnl_enabled(true);
  for (const auto& [name, g] : ref.grads)
    for (int64_t i = 0; i < g.numel(); ++i)
      ASSERT_NEAR(fast.grads.at(name).at_f64(i), g.at_f64(i), 1e-4) << name;
}

}  // namespace
}  // namespace nnaccel::testing
