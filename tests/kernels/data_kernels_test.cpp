// Concat, Slice and Resize fast kernels against their reference kernels, on random data with
// ragged sizes.
#include <gtest/gtest.h>

#include "kernels/kernel_test_util.hpp"

namespace nnaccel::testing {
namespace {

TEST(DataKernels, ConcatMatchesTheReferenceOnEveryAxis) {
  uint32_t seed = 1;
  for (int64_t axis : {0, 1, 2, -1}) {
    std::vector<Tensor> in = {random_f32({2, 3, 5}, seed++), random_f32({2, 3, 5}, seed++),
                              random_f32({2, 3, 5}, seed++)};
    // Ragged: the concatenated axis differs per input.
    int64_t a = axis < 0 ? axis + 3 : axis;
    Shape s1 = {2, 3, 5}, s2 = {2, 3, 5};
    s1[static_cast<size_t>(a)] = 1;
    s2[static_cast<size_t>(a)] = 7;
    in[1] = random_f32(s1, seed++);
    in[2] = random_f32(s2, seed++);
    Node node = make_node("Concat", 3, 1, {Attribute::of_int("axis", axis)});
    Tensor want = run_op(node, in)[0];
    FastKernel fk = make_fast_kernel("data", node, in, {want.shape()});
    ASSERT_TRUE(fk.kernel) << "axis " << axis;
    expect_same_values(run_fast_kernel(fk, in)[0], want, 0, "concat axis " + std::to_string(axis));
  }
}

TEST(DataKernels, ConcatOfBlockedChannelsStaysBlocked) {
  // Two blocked inputs of 16 and 32 channels: the output is the blocked concat of 48 channels.
  Graph graph;
  Node node = make_node("Concat", 2, 1, {Attribute::of_int("axis", 1)});
  graph.nodes.push_back(node);
  ValueDesc a{DType::f32, {2, 16, 3, 3}, true, 16}, b{DType::f32, {2, 32, 3, 3}, true, 16};
  std::vector<ValueDesc> outs = {ValueDesc{DType::f32, {2, 48, 3, 3}, true, 0}};
  CompileOptions options;
  KernelRequest req{node, graph, {&a, &b}, {nullptr, nullptr}, outs, options};
  std::unique_ptr<Kernel> k;
  for (const KernelEntry* e : KernelRegistry::instance().find("", "Concat"))
    if (e->variant == "data") k = e->make(req);
  ASSERT_TRUE(k);
  EXPECT_EQ(req.outputs[0].block, 16);
  Tensor ta = random_f32(a.physical_shape(), 3), tb = random_f32(b.physical_shape(), 4);
  Tensor out(DType::f32, req.outputs[0].physical_shape());
  const Tensor* ins[] = {&ta, &tb};
  std::vector<Tensor> o = {out};
  k->run(ins, o);
  // Block 0 of image 1 comes from a, blocks 1-2 from b.
  const int64_t plane = 3 * 3 * 16;
  EXPECT_EQ(o[0].data<float>()[(1 * 3 + 0) * plane + 5], ta.data<float>()[(1 * 1 + 0) * plane + 5]);
  EXPECT_EQ(o[0].data<float>()[(1 * 3 + 2) * plane + 7], tb.data<float>()[(1 * 2 + 1) * plane + 7]);
  // Channels that are not a multiple of the block go back to the compiler (plain).
  ValueDesc c{DType::f32, {2, 17, 3, 3}, true, 16};
  KernelRequest req2{node, graph, {&a, &c}, {nullptr, nullptr}, outs, options};
  for (const KernelEntry* e : KernelRegistry::instance().find("", "Concat"))
    if (e->variant == "data") {
      EXPECT_FALSE(e->make(req2));
    }
}

TEST(DataKernels, SliceMatchesTheReferenceWithStepsAndNegativeIndices) {
  struct Case {
    std::vector<int64_t> starts, ends, axes, steps;
  };
  const Case cases[] = {
      {{0}, {128}, {2}, {1}},               // the q/k/v split of a fused projection
      {{1, -4}, {3, 1000}, {0, 2}, {1, 1}},
      {{5}, {-100}, {2}, {-2}},             // backwards with a step
      {{-1, 0}, {-1000, 7}, {1, 2}, {-1, 3}},
      {{2}, {INT64_MAX}, {-1}, {1}},
  };
  Tensor x = random_f32({3, 5, 13}, 11);
  for (const Case& c : cases) {
    Node node = make_node("Slice", 5, 1);
    std::vector<Tensor> in = {x, Tensor::from_i64({(int64_t)c.starts.size()}, c.starts),
                              Tensor::from_i64({(int64_t)c.ends.size()}, c.ends),
                              Tensor::from_i64({(int64_t)c.axes.size()}, c.axes),
                              Tensor::from_i64({(int64_t)c.steps.size()}, c.steps)};
    Tensor want = run_op(node, in)[0];
    if (want.numel() == 0) continue;
    FastKernel fk = make_fast_kernel("data", node, in, {want.shape()}, {false, true, true, true, true});
    ASSERT_TRUE(fk.kernel);
    expect_same_values(run_fast_kernel(fk, in)[0], want, 0, "slice");
  }
}

TEST(DataKernels, ResizeMatchesTheReferenceForEachModeAndTransform) {
  const char* coords[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"};
  uint32_t seed = 20;
  for (const char* mode : {"nearest", "linear", "cubic"})
    for (const char* coord : coords)
      for (const Shape& in_shape : {Shape{1, 3, 7, 5}, Shape{2, 1, 4, 9}}) {
        Node node = make_node("Resize", 3, 1,
                              {Attribute::of_string("mode", mode),
                               Attribute::of_string("coordinate_transformation_mode", coord)});
        Tensor x = random_f32(in_shape, seed++);
        Tensor scales = Tensor::from_f32({4}, {1.0f, 1.0f, 2.0f, 1.5f});
        std::vector<Tensor> in = {x, Tensor(), scales};
        Tensor want = run_op(node, in)[0];
        FastKernel fk = make_fast_kernel("data", node, in, {want.shape()}, {false, true, true});
        ASSERT_TRUE(fk.kernel) << mode << " " << coord;
        expect_same_values(run_fast_kernel(fk, in)[0], want, 1e-5,
                           std::string(mode) + " " + coord);
      }
}

TEST(DataKernels, ResizeOfLeadingAxesGoesToTheReference) {
  Node node = make_node("Resize", 3, 1, {Attribute::of_string("mode", "nearest")});
  Tensor x = random_f32({1, 2, 4, 4}, 5);
  std::vector<Tensor> in = {x, Tensor(), Tensor::from_f32({4}, {1.0f, 2.0f, 2.0f, 2.0f})};
  FastKernel fk = make_fast_kernel("data", node, in, {{1, 4, 8, 8}}, {false, true, true});
  EXPECT_FALSE(fk.kernel);
}

}  // namespace
}  // namespace nnaccel::testing
