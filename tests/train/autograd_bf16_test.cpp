// Mixed precision (Autograd::set_bf16_products): the outputs and gradients of Conv, Gemm and
// MatMul with bf16 operands match the f64 reference within what bf16 rounding allows, on random
// data of ragged sizes, and differ from the f32 results (the products really ran in bf16).
#include "core/cast.hpp"
#include "kernels/dnnl/dnnl_common.hpp"
#include "train/autograd/dnnl_ops.hpp"
#include "train/autograd_test_util.hpp"

namespace nnaccel::testing {
namespace {

// bf16 keeps 8 significant bits: each operand is off by up to 2^-9 relative, so a sum of
// products is off by ~1e-3 of its terms' size; 2e-2 of the largest value leaves room for
// unlucky cancellations. f32 products are ~1e-7 off: more than 1e-5 means bf16 ran.
void compare(const std::string& op, const std::vector<Tensor>& inputs,
             const std::vector<Attribute>& attrs) {
  const NodeRun ref = run_node(op, inputs, attrs, DType::f64);
  const NodeRun f32 = run_node(op, inputs, attrs, DType::f32);
  const NodeRun bf16 = run_node(op, inputs, attrs, DType::f32, true);
  const std::string& impl = grad::last_dnnl_impl();
  ASSERT_GE(impl.size(), 5u);
  EXPECT_EQ(impl.substr(impl.size() - 5), " bf16") << op << ": " << impl;
  EXPECT_EQ(impl.rfind("ref", 0), std::string::npos)
      << op << ": " << grad::last_dnnl_impl();
  ASSERT_EQ(bf16.y.dtype(), DType::f32);
  EXPECT_LT(relative_error(bf16.y, ref.y), 2e-2) << op << " output";
  EXPECT_GT(relative_error(bf16.y, ref.y), 1e-5) << op << " output: not computed in bf16?";
  EXPECT_LT(relative_error(f32.y, ref.y), 1e-5) << op << " output";
  for (const auto& [name, g] : ref.grads) {
    const Tensor& b = bf16.grads.at(name);
    ASSERT_EQ(b.dtype(), DType::f32) << name;
    EXPECT_LT(relative_error(b, g), 2e-2) << op << " d" << name;
    EXPECT_LT(relative_error(f32.grads.at(name), g), 1e-5) << op << " d" << name;
  }
}

class AutogradBf16 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!dnnl_kernels::cpu_has_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  }
};

TEST_F(AutogradBf16, ConvGradientsMatchReference) {
  // Ragged channel counts and sizes (no multiple of the 16-channel block), strides, pads.
  compare("Conv", {random_f64({3, 5, 13, 11}, 1), random_f64({7, 5, 3, 3}, 2), random_f64({7}, 3)},
          {attr_is("pads", {1, 1, 1, 1})});
  compare("Conv", {random_f64({2, 17, 9, 10}, 4), random_f64({19, 17, 3, 3}, 5)},
          {attr_is("strides", {2, 2}), attr_is("pads", {1, 0, 1, 1})});
  compare("Conv", {random_f64({2, 6, 10, 7}, 6), random_f64({9, 2, 3, 2}, 7)},
          {attr_i("group", 3), attr_is("dilations", {2, 1})});
  // The resnet-s projection: 1x1 stride 2 over an even size (a negative right pad).
  compare("Conv", {random_f64({4, 16, 14, 14}, 8), random_f64({32, 16, 1, 1}, 9)},
          {attr_is("strides", {2, 2})});
}

TEST_F(AutogradBf16, GemmAndMatMulGradientsMatchReference) {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      compare("Gemm",
              {random_f64(ta ? Shape{45, 19} : Shape{19, 45}, 10),
               random_f64(tb ? Shape{11, 45} : Shape{45, 11}, 11), random_f64({11}, 12)},
              {attr_i("transA", ta), attr_i("transB", tb), attr_f("alpha", 0.5f)});
  compare("MatMul", {random_f64({2, 3, 7, 33}, 13), random_f64({33, 5}, 14)}, {});
  compare("MatMul", {random_f64({2, 1, 9, 21}, 15), random_f64({3, 21, 6}, 16)}, {});
}

// The scope is per Autograd: one in bf16 does not change another's f32 products.
TEST_F(AutogradBf16, PrecisionIsPerAutograd) {
  const std::vector<Tensor> in = {random_f64({2, 3, 8, 8}, 17), random_f64({4, 3, 3, 3}, 18)};
  const NodeRun a = run_node("Conv", in, {}, DType::f32);
  run_node("Conv", in, {}, DType::f32, true);
  EXPECT_FALSE(grad::bf16_products());
  const NodeRun b = run_node("Conv", in, {}, DType::f32);
  for (const auto& [name, g] : a.grads)
    for (int64_t i = 0; i < g.numel(); ++i)
      ASSERT_EQ(g.at_f64(i), b.grads.at(name).at_f64(i)) << name << " " << i;
}

}  // namespace
}  // namespace nnaccel::testing
