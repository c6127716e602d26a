// The f32 Conv, Gemm and MatMul of Autograd go through oneDNN (forward and gradients), the f32
// pools through their own forward; the results are compared with the f64 reference path on the
// same random data.
#include "core/cast.hpp"
#include "train/autograd/dnnl_ops.hpp"
#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

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
  const NodeRun ref = run_node(op, inputs, attrs, DType::f64);
  const NodeRun fast = run_node(op, inputs, attrs, DType::f32);
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
  // Windows that leave the last input rows unread (a negative right pad in oneDNN terms): their
  // gradient must be exactly zero there.
  compare("Conv", {random_f64({1, 2, 8, 8}, 11), random_f64({3, 2, 3, 3}, 12)},
          {attr_is("strides", {3, 3})});
  const std::vector<Tensor> downsample = {random_f64({2, 4, 6, 6}, 27),
                                          random_f64({8, 4, 1, 1}, 28)};
  compare("Conv", downsample, {attr_is("strides", {2, 2})});
  const NodeRun r = run_node("Conv", downsample, {attr_is("strides", {2, 2})}, DType::f32);
  for (int64_t c = 0; c < 2 * 4; ++c)
    for (int64_t w = 0; w < 6; ++w) EXPECT_EQ(r.grads.at("in0").at_f64(c * 36 + 5 * 6 + w), 0.0);
}

TEST(AutogradDnnl, ConvTransposeMatchesReference) {
  compare("ConvTranspose",
          {random_f64({2, 4, 5, 4}, 34), random_f64({4, 3, 3, 3}, 35), random_f64({6}, 36)},
          {attr_i("group", 2), attr_is("strides", {2, 1}), attr_is("pads", {1, 0, 0, 1}),
           attr_is("output_padding", {1, 0}), attr_is("dilations", {1, 2})});
  compare("ConvTranspose", {random_f64({1, 2, 3, 3}, 37), random_f64({2, 2, 3, 3}, 38)},
          {attr_is("strides", {2, 2}), attr_is("output_shape", {6, 7})});
  compare("ConvTranspose", {random_f64({2, 3, 6}, 39), random_f64({3, 2, 4}, 40)},
          {attr_is("strides", {2}), attr_s("auto_pad", "SAME_UPPER")});
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

TEST(AutogradDnnl, BatchNormMatchesReference) {
  const std::vector<Tensor> in = {random_f64({4, 3, 5, 6}, 29, -2, 2), random_f64({3}, 30),
                                  random_f64({3}, 31), random_f64({3}, 32),
                                  random_f64({3}, 33, 0.5, 2)};
  for (int training = 0; training < 2; ++training) {
    compare("BatchNormalization", in, {attr_i("training_mode", training)});
    // All three outputs of the f32 fast forward against the f32 reference kernel.
    Graph g;
    Node bn;
    bn.op_type = "BatchNormalization";
    bn.name = "bn";
    for (int i = 0; i < 5; ++i) {
      bn.inputs.push_back("in" + std::to_string(i));
      g.initializers[bn.inputs.back()] = cast_tensor(in[static_cast<size_t>(i)], DType::f32);
    }
    bn.outputs = {"y", "mean", "var"};
    bn.attrs = {attr_i("training_mode", training), attr_f("momentum", 0.7f)};
    g.nodes.push_back(bn);
    Autograd fast(g, {}, "y");
    fast.forward({});
    grad::set_dnnl_enabled(false);
    Autograd ref(g, {}, "y");
    ref.forward({});
    grad::set_dnnl_enabled(true);
    for (const char* out : {"y", "mean", "var"}) {
      const Tensor& a = fast.value(out);
      const Tensor& b = ref.value(out);
      ASSERT_EQ(a.shape(), b.shape()) << out;
      ASSERT_EQ(a.dtype(), b.dtype()) << out;
      // The fast forward sums planes in f32 partials: equal to float rounding, not bit for bit.
      for (int64_t i = 0; i < a.numel(); ++i)
        ASSERT_NEAR(a.at_f64(i), b.at_f64(i), 2e-6 * std::max(1.0, std::fabs(b.at_f64(i))))
            << out << i;
    }
  }
}

TEST(AutogradDnnl, DisabledRunsTheReferenceWithTheSameResults) {
  const std::vector<Tensor> in = {random_f64({2, 3, 6, 6}, 22), random_f64({4, 3, 3, 3}, 23)};
  const NodeRun fast = run_node("Conv", in, {}, DType::f32);
  grad::set_dnnl_enabled(false);
  const NodeRun ref = run_node("Conv", in, {}, DType::f32);
  grad::set_dnnl_enabled(true);
  for (const auto& [name, g] : ref.grads)
    for (int64_t i = 0; i < g.numel(); ++i)
      ASSERT_NEAR(fast.grads.at(name).at_f64(i), g.at_f64(i), 1e-4) << name;
}

}  // namespace
}  // namespace nnaccel::testing
