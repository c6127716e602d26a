#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/cast.hpp"
#include "nnaccel/error.hpp"
#include "nnaccel/tensor.hpp"

namespace nnaccel {
namespace {

TEST(Tensor, AllocatesZeroedAndReshapes) {
  Tensor t(DType::f32, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
  t.data<float>()[5] = 7;
  Tensor r = t.reshaped({3, 2});
  EXPECT_EQ(r.data<float>()[5], 7.0f);  // shares the buffer
  EXPECT_THROW(t.reshaped({4}), Error);
}

TEST(Tensor, RejectsNegativeAndOverflowingShapes) {
  EXPECT_THROW(Tensor(DType::f32, {-1, 3}), Error);
  EXPECT_THROW(Tensor(DType::f32, {int64_t{1} << 40, int64_t{1} << 40}), Error);
}

TEST(Tensor, RespectsTheAllocationCap) {
  uint64_t old = max_allocation_bytes();
  set_max_allocation_bytes(1000);
  EXPECT_THROW(Tensor(DType::f32, {1000}), Error);
  EXPECT_NO_THROW(Tensor(DType::f32, {100}));
  set_max_allocation_bytes(old);
}

TEST(Tensor, SubByteStorageRoundsUp) {
  Tensor t(DType::i4, {3});
  EXPECT_EQ(t.nbytes(), 2u);
}

TEST(DType, HalfConversionsRoundToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // rounds to inf
  EXPECT_EQ(f32_to_f16(5.9604645e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x0001), 5.9604645e-08f);
  // Every half value survives a round trip through float.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // NaN payloads
    ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h) << h;
  }
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  // 1 + 2^-8 is halfway between two bf16 values: ties to even (down).
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);  // 1 + 3*2^-8 ties up to even
}

TEST(Cast, FloatToIntTruncatesAndSaturates) {
  Tensor t = Tensor::from_f32({4}, {1.7f, -1.7f, 300.0f, NAN});
  Tensor r = cast_tensor(t, DType::i8);
  EXPECT_EQ(r.data<int8_t>()[0], 1);
  EXPECT_EQ(r.data<int8_t>()[1], -1);
  EXPECT_EQ(r.data<int8_t>()[2], 127);
  EXPECT_EQ(r.data<int8_t>()[3], 0);
  Tensor b = cast_tensor(t, DType::boolean);
  EXPECT_EQ(b.data<uint8_t>()[0], 1);
}

}  // namespace
}  // namespace nnaccel

namespace nnaccel {
namespace {

TEST(Tensor, EmptyShapesStillNeedStridesThatFit) {
  EXPECT_EQ(shape_numel({0, 5, 7}), 0);
  EXPECT_THROW(shape_numel({0, int64_t{1} << 40, int64_t{1} << 40}), Error);
}

}  // namespace
}  // namespace nnaccel
