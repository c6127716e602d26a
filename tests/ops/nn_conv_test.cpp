// Conv and ConvTranspose: hand-computed cases, identities on random data (1x1 conv = MatMul,
// grouped conv = per-group convs, ConvTranspose = adjoint of Conv, 1-D/3-D = 2-D on slices), a
// direct 2-D loop, shape functions and errors.
#include "ops/nn_test_util.hpp"

namespace nnaccel::testing {
namespace {

Tensor iota_f32(const Shape& s, float start = 0) {
  Tensor t(DType::f32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

Tensor ones_f32(const Shape& s) {
  Tensor t(DType::f32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 1;
  return t;
}

// Direct 2-D convolution, written independently of the kernel under test.
Tensor direct_conv2d(const Tensor& x, const Tensor& w, const Tensor* b, int64_t group,
                     std::array<int64_t, 2> stride, std::array<int64_t, 2> dil,
                     std::array<int64_t, 4> pads) {
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const int64_t m = w.dim(0), cg = w.dim(1), kh = w.dim(2), kw = w.dim(3);
  const int64_t oh = (h + pads[0] + pads[2] - ((kh - 1) * dil[0] + 1)) / stride[0] + 1;
  const int64_t ow = (wd + pads[1] + pads[3] - ((kw - 1) * dil[1] + 1)) / stride[1] + 1;
  Tensor y(DType::f32, {n, m, oh, ow});
  const int64_t mg = m / group;
  for (int64_t bi = 0; bi < n; ++bi)
    for (int64_t mi = 0; mi < m; ++mi)
      for (int64_t yi = 0; yi < oh; ++yi)
        for (int64_t xi = 0; xi < ow; ++xi) {
          double acc = b ? b->data<float>()[mi] : 0;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t u = 0; u < kh; ++u)
              for (int64_t v = 0; v < kw; ++v) {
                const int64_t iy = yi * stride[0] - pads[0] + u * dil[0];
                const int64_t ix = xi * stride[1] - pads[1] + v * dil[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const int64_t cin = (mi / mg) * cg + ci;
                acc += x.data<float>()[((bi * c + cin) * h + iy) * wd + ix] *
                       w.data<float>()[((mi * cg + ci) * kh + u) * kw + v];
              }
          y.data<float>()[((bi * m + mi) * oh + yi) * ow + xi] = static_cast<float>(acc);
        }
  return y;
}

TEST(NnConv, BasicWithAndWithoutPadding) {
  Tensor x = iota_f32({1, 1, 5, 5});
  Tensor w = ones_f32({1, 1, 3, 3});
  Tensor y = run_op(make_node("Conv", 2, 1, {Attribute::of_ints("pads", {1, 1, 1, 1})}), {x, w})[0];
  expect_values(y, {1, 1, 5, 5}, {12,  21, 27, 33,  24,  33,  54,  63, 72,  51,  63,  99, 108,
                                  117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84});
  y = run_op(make_node("Conv", 2, 1), {x, w})[0];
  expect_values(y, {1, 1, 3, 3}, {54, 63, 72, 99, 108, 117, 144, 153, 162});
}

TEST(NnConv, StridesAndAsymmetricPadding) {
  Tensor x = iota_f32({1, 1, 7, 5});
  Tensor w = ones_f32({1, 1, 3, 3});
  Node n = make_node("Conv", 2, 1, {Attribute::of_ints("pads", {1, 0, 1, 0}), Attribute::of_ints("strides", {2, 2})});
  Tensor y = run_op(n, {x, w})[0];
  // Rows -1..1 (two real rows), columns 0..2 for the first output.
  expect_values(y, {1, 1, 4, 2}, {21, 33, 99, 117, 189, 207, 171, 183});
  EXPECT_EQ(dims_of(infer_op(n, {ti(DType::f32, {1, 1, 7, 5}), ti(DType::f32, {1, 1, 3, 3})})[0]),
            (std::vector<int64_t>{1, 1, 4, 2}));
}

TEST(NnConv, AutoPadPutsTheOddPixelWhereItsNameSays) {
  Tensor x = iota_f32({1, 1, 4, 4}, 1);
  Tensor w = ones_f32({1, 1, 2, 2});
  Tensor upper = run_op(make_node("Conv", 2, 1, {Attribute::of_string("auto_pad", "SAME_UPPER")}), {x, w})[0];
  Tensor lower = run_op(make_node("Conv", 2, 1, {Attribute::of_string("auto_pad", "SAME_LOWER")}), {x, w})[0];
  ASSERT_EQ(upper.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(upper.data<float>()[0], 1 + 2 + 5 + 6);  // padding after: window starts at (0, 0)
  EXPECT_EQ(upper.data<float>()[15], 16);            // bottom-right sees only itself
  EXPECT_EQ(lower.data<float>()[0], 1);              // padding before: window starts at (-1, -1)
  EXPECT_EQ(lower.data<float>()[15], 11 + 12 + 15 + 16);
  Tensor valid = run_op(make_node("Conv", 2, 1, {Attribute::of_string("auto_pad", "VALID")}), {x, w})[0];
  EXPECT_EQ(valid.shape(), (Shape{1, 1, 3, 3}));
}

TEST(NnConv, MatchesADirectLoopWithGroupsStridesDilationsAndBias) {
  Tensor x = random_f32({2, 6, 9, 8}, 1);
  Tensor w = random_f32({4, 3, 3, 2}, 2);
  Tensor b = random_f32({4}, 3);
  Node n = make_node("Conv", 3, 1,
                     {Attribute::of_int("group", 2), Attribute::of_ints("strides", {2, 1}),
                      Attribute::of_ints("dilations", {1, 2}), Attribute::of_ints("pads", {1, 0, 2, 1})});
  Tensor y = run_op(n, {x, w, b})[0];
  expect_close(y, direct_conv2d(x, w, &b, 2, {2, 1}, {1, 2}, {1, 0, 2, 1}), 1e-5);
}

TEST(NnConv, OneByOneKernelEqualsMatMul) {
  Tensor x = random_f32({2, 5, 3, 4}, 4);
  Tensor w = random_f32({6, 5, 1, 1}, 5);
  Tensor y = run_op(make_node("Conv", 2, 1), {x, w})[0];
  for (int64_t b = 0; b < 2; ++b) {
    Tensor xb(DType::f32, {5, 12});
    std::copy(x.data<float>() + b * 60, x.data<float>() + (b + 1) * 60, xb.data<float>());
    Tensor mm = run_op(make_node("MatMul", 2, 1), {w.reshaped({6, 5}), xb})[0];
    Tensor yb(DType::f32, {6, 12});
    std::copy(y.data<float>() + b * 72, y.data<float>() + (b + 1) * 72, yb.data<float>());
    expect_close(yb, mm, 1e-6);
  }
}

TEST(NnConv, GroupedConvEqualsPerGroupConvs) {
  Tensor x = random_f32({2, 6, 7, 5}, 6);
  Tensor w = random_f32({9, 2, 3, 3}, 7);
  Node grouped = make_node("Conv", 2, 1, {Attribute::of_int("group", 3), Attribute::of_ints("pads", {1, 1, 1, 1})});
  Tensor y = run_op(grouped, {x, w})[0];
  Node single = make_node("Conv", 2, 1, {Attribute::of_ints("pads", {1, 1, 1, 1})});
  for (int64_t g = 0; g < 3; ++g) {
    Tensor yg =
        run_op(single,
               {slice_axis1(x, 2 * g, 2 * g + 2),
                slice_axis1(w.reshaped({1, 9, 2, 9}), 3 * g, 3 * g + 3).reshaped({3, 2, 3, 3})})[0];
    expect_close(slice_axis1(y, 3 * g, 3 * g + 3), yg, 1e-6);
  }
}

TEST(NnConv, OneDAndThreeDAgreeWithTwoD) {
  // A 1-D conv is a 2-D conv over a height of 1.
  Tensor x1 = random_f32({2, 3, 11}, 8);
  Tensor w1 = random_f32({4, 3, 3}, 9);
  Tensor y1 = run_op(make_node("Conv", 2, 1,
                               {Attribute::of_ints("strides", {2}), Attribute::of_ints("pads", {1, 2}),
                                Attribute::of_ints("dilations", {2})}),
                     {x1, w1})[0];
  Tensor y2 = run_op(make_node("Conv", 2, 1,
                               {Attribute::of_ints("strides", {1, 2}), Attribute::of_ints("pads", {0, 1, 0, 2}),
                                Attribute::of_ints("dilations", {1, 2})}),
                     {x1.reshaped({2, 3, 1, 11}), w1.reshaped({4, 3, 1, 3})})[0];
  expect_close(y1.reshaped(y2.shape()), y2, 1e-6);
  // A 3-D conv with kernel depth 1 is a 2-D conv on each depth slice.
  Tensor x3 = random_f32({1, 2, 3, 5, 4}, 10);
  Tensor w3 = random_f32({3, 2, 1, 2, 2}, 11);
  Tensor y3 = run_op(make_node("Conv", 2, 1), {x3, w3})[0];
  ASSERT_EQ(y3.shape(), (Shape{1, 3, 3, 4, 3}));
  for (int64_t d = 0; d < 3; ++d) {
    Tensor xs(DType::f32, {1, 2, 5, 4});
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t i = 0; i < 20; ++i)
        xs.data<float>()[c * 20 + i] = x3.data<float>()[(c * 3 + d) * 20 + i];
    Tensor ys = run_op(make_node("Conv", 2, 1), {xs, w3.reshaped({3, 2, 2, 2})})[0];
    for (int64_t m = 0; m < 3; ++m)
      for (int64_t i = 0; i < 12; ++i)
        EXPECT_NEAR(y3.data<float>()[(m * 3 + d) * 12 + i], ys.data<float>()[m * 12 + i], 1e-5);
  }
}

TEST(NnConv, DoubleAndHalfRunInTheirOwnType) {
  Tensor x = random_f64({1, 2, 4, 4}, 12);
  Tensor w = random_f64({3, 2, 3, 3}, 13);
  Tensor yd = run_op(make_node("Conv", 2, 1), {x, w})[0];
  EXPECT_EQ(yd.dtype(), DType::f64);
  Tensor yf =
      run_op(make_node("Conv", 2, 1), {cast_tensor(x, DType::f32), cast_tensor(w, DType::f32)})[0];
  expect_close(cast_tensor(yd, DType::f32), yf, 1e-5);
  Tensor yh =
      run_op(make_node("Conv", 2, 1), {cast_tensor(x, DType::f16), cast_tensor(w, DType::f16)})[0];
  EXPECT_EQ(yh.dtype(), DType::f16);
  expect_close(cast_tensor(yh, DType::f32), yf, 2e-2, 1e-2);
}

TEST(NnConv, RejectsInconsistentShapes) {
  Node n = make_node("Conv", 2, 1);
  // Three input channels, weight expects two.
  EXPECT_THROW(run_op(n, {random_f32({1, 3, 5, 5}, 1), random_f32({4, 2, 3, 3}, 2)}), Error);
  EXPECT_THROW(infer_op(n, {ti(DType::f32, {1, 3, 5, 5}), ti(DType::f32, {4, 2, 3, 3})}), Error);
  // Output channels not divisible by group.
  Node g = make_node("Conv", 2, 1, {Attribute::of_int("group", 2)});
  EXPECT_THROW(run_op(g, {random_f32({1, 4, 5, 5}, 1), random_f32({3, 2, 3, 3}, 2)}), Error);
  // Bias of the wrong size.
  EXPECT_THROW(run_op(make_node("Conv", 3, 1), {random_f32({1, 2, 5, 5}, 1),
                                                random_f32({4, 2, 3, 3}, 2), random_f32({3}, 3)}),
               Error);
  // kernel_shape disagreeing with the weight, kernel larger than the input, rank mismatch.
  EXPECT_THROW(run_op(make_node("Conv", 2, 1, {Attribute::of_ints("kernel_shape", {2, 2})}),
                      {random_f32({1, 2, 5, 5}, 1), random_f32({4, 2, 3, 3}, 2)}),
               Error);
  EXPECT_THROW(run_op(n, {random_f32({1, 2, 2, 2}, 1), random_f32({4, 2, 3, 3}, 2)}), Error);
  EXPECT_THROW(run_op(n, {random_f32({1, 2, 5}, 1), random_f32({4, 2, 3, 3}, 2)}), Error);
  EXPECT_THROW(run_op(make_node("Conv", 2, 1, {Attribute::of_ints("strides", {0, 1})}),
                      {random_f32({1, 2, 5, 5}, 1), random_f32({4, 2, 3, 3}, 2)}),
               Error);
}

TEST(NnConv, ShapeFunctionKeepsSymbolicBatchAndHandlesUnknownDims) {
  Node n = make_node("Conv", 2, 1, {Attribute::of_ints("strides", {2, 2}), Attribute::of_ints("pads", {1, 1, 1, 1})});
  TypeInfo x = ti(DType::f32, {-1, 3, 224, -1});
  x.dims[0].param = "batch";
  std::vector<TypeInfo> out = infer_op(n, {x, ti(DType::f32, {64, 3, 7, 7})});
  ASSERT_TRUE(out[0].has_shape);
  EXPECT_EQ(out[0].dims[0].param, "batch");
  EXPECT_EQ(dims_of(out[0]), (std::vector<int64_t>{-1, 64, 110, -1}));
}

// ---------------------------------------------------------------------------------------------

TEST(NnConvTranspose, HandComputedOneD) {
  Tensor x = Tensor::from_f32({1, 1, 3}, {1, 2, 3});
  Tensor w = Tensor::from_f32({1, 1, 2}, {1, 10});
  expect_values(run_op(make_node("ConvTranspose", 2, 1), {x, w})[0], {1, 1, 4}, {1, 12, 23, 30});
  expect_values(run_op(make_node("ConvTranspose", 2, 1, {Attribute::of_ints("strides", {2})}), {x, w})[0],
                {1, 1, 6}, {1, 10, 2, 20, 3, 30});
  // Pads crop the full result; output_padding adds positions at the end.
  expect_values(run_op(make_node("ConvTranspose", 2, 1,
                                 {Attribute::of_ints("strides", {2}), Attribute::of_ints("pads", {1, 0}),
                                  Attribute::of_ints("output_padding", {1})}),
                       {x, w})[0],
                {1, 1, 6}, {10, 2, 20, 3, 30, 0});
  Tensor b = Tensor::from_f32({1}, {100});
  expect_values(run_op(make_node("ConvTranspose", 3, 1), {x, w, b})[0], {1, 1, 4},
                {101, 112, 123, 130});
}

TEST(NnConvTranspose, IsTheAdjointOfConv) {
  // <Conv(x, w), y> == <x, ConvTranspose(y, w)> for the same weight tensor, which Conv reads as
  // [M, C/group, k...] and ConvTranspose as [C_in, M_out/group, k...].
  Tensor x = random_f64({2, 4, 9, 7}, 20);
  Tensor w = random_f64({6, 2, 3, 2}, 21);
  std::vector<Attribute> attrs = {Attribute::of_int("group", 2), Attribute::of_ints("strides", {2, 3}),
                                  Attribute::of_ints("dilations", {2, 1}), Attribute::of_ints("pads", {1, 0, 2, 1})};
  Tensor y_fwd = run_op(make_node("Conv", 2, 1, attrs), {x, w})[0];
  Tensor y = random_f64(y_fwd.shape(), 22);
  // output_padding recovers the input size: (4-1)*2 + 1 + 5 - 3 = 9 and (3-1)*3 + 0 + 2 - 1 = 7.
  attrs.push_back(Attribute::of_ints("output_padding", {1, 0}));
  Tensor x_back = run_op(make_node("ConvTranspose", 2, 1, attrs), {y, w})[0];
  ASSERT_EQ(x_back.shape(), x.shape());
  EXPECT_NEAR(sum_of_products(y_fwd, y), sum_of_products(x, x_back), 1e-9);
}

TEST(NnConvTranspose, OutputShapeAndAutoPad) {
  Tensor x = iota_f32({1, 1, 3, 3});
  Tensor w = ones_f32({1, 2, 3, 3});
  // output_shape larger than the full result: the extra row and column get no input.
  Node os = make_node("ConvTranspose", 2, 1,
                      {Attribute::of_ints("strides", {3, 2}), Attribute::of_ints("output_shape", {10, 8})});
  Node op = make_node("ConvTranspose", 2, 1,
                      {Attribute::of_ints("strides", {3, 2}), Attribute::of_ints("output_padding", {1, 1})});
  Tensor a = run_op(os, {x, w})[0];
  ASSERT_EQ(a.shape(), (Shape{1, 2, 10, 8}));
  expect_close(a, run_op(op, {x, w})[0], 0);
  EXPECT_EQ(a.data<float>()[9 * 8 + 3], 0);
  EXPECT_EQ(dims_of(infer_op(os, {ti(DType::f32, {1, 1, 3, 3}), ti(DType::f32, {1, 2, 3, 3})})[0]),
            (std::vector<int64_t>{1, 2, 10, 8}));
  // SAME_UPPER: output = input * stride, cropping the odd position at the end.
  Node same = make_node("ConvTranspose", 2, 1,
                        {Attribute::of_string("auto_pad", "SAME_UPPER"), Attribute::of_ints("strides", {2, 2})});
  Tensor s = run_op(same, {x, w})[0];
  ASSERT_EQ(s.shape(), (Shape{1, 2, 6, 6}));
  Tensor full = run_op(make_node("ConvTranspose", 2, 1, {Attribute::of_ints("strides", {2, 2})}), {x, w})[0];
  ASSERT_EQ(full.shape(), (Shape{1, 2, 7, 7}));
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t c = 0; c < 6; ++c)
      EXPECT_EQ(s.data<float>()[r * 6 + c], full.data<float>()[r * 7 + c]);
}

TEST(NnConvTranspose, RejectsInconsistentShapes) {
  Node n = make_node("ConvTranspose", 2, 1);
  EXPECT_THROW(run_op(n, {random_f32({1, 3, 4, 4}, 1), random_f32({2, 2, 3, 3}, 2)}), Error);
  EXPECT_THROW(infer_op(n, {ti(DType::f32, {1, 3, 4, 4}), ti(DType::f32, {2, 2, 3, 3})}), Error);
  EXPECT_THROW(run_op(make_node("ConvTranspose", 2, 1, {Attribute::of_int("group", 2)}),
                      {random_f32({1, 3, 4, 4}, 1), random_f32({3, 2, 3, 3}, 2)}),
               Error);
  EXPECT_THROW(run_op(make_node("ConvTranspose", 2, 1, {Attribute::of_ints("output_padding", {2, 0})}),
                      {random_f32({1, 2, 4, 4}, 1), random_f32({2, 2, 3, 3}, 2)}),
               Error);
}

}  // namespace
}  // namespace nnaccel::testing
