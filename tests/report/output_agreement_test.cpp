// Output agreement figures on values worked out by hand.
#include "report/output_agreement.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "nnaccel/error.hpp"

namespace nnaccel {
namespace {

TEST(OutputAgreement, SqnrCosineAndArgmaxPerPositionOfTheLastAxis) {
  // [2 sequences, 2 steps, 3 classes]: step argmaxes agree at 3 of 4 positions.
  Tensor ref = Tensor::from_f32({2, 2, 3}, {1, 2, 3, 3, 2, 1, 0, 1, 0, 2, 0, 0});
  Tensor got = Tensor::from_f32({2, 2, 3}, {1, 2, 4, 3, 2, 1, 0, 1, 2, 2, 0, 0});
  OutputAgreementAccumulator acc;
  acc.add(ref, got, "y");
  OutputAgreement r = acc.result();
  EXPECT_EQ(r.positions, 4);
  EXPECT_EQ(r.elements, 12);
  EXPECT_DOUBLE_EQ(r.argmax_agreement, 0.75);
  // signal 1+4+9+9+4+1+0+1+0+4+0+0 = 33, noise 1 + 4 = 5
  EXPECT_NEAR(r.sqnr_db, 10.0 * std::log10(33.0 / 5.0), 1e-12);
  // dot 1+4+12+9+4+1+0+1+0+4 = 36; |got|^2 = 33 - 9 + 16 + 4 = 44
  EXPECT_NEAR(r.cosine, 36.0 / std::sqrt(33.0 * 44.0), 1e-12);
  // A second batch accumulates.
  acc.add(ref, ref, "y");
  EXPECT_EQ(acc.result().positions, 8);
  EXPECT_NEAR(acc.result().sqnr_db, 10.0 * std::log10(66.0 / 5.0), 1e-12);
}

TEST(OutputAgreement, EqualOutputsAreInfiniteAndMismatchesAreErrors) {
  Tensor a = Tensor::from_f32({3}, {1, -2, 3});
  OutputAgreementAccumulator acc;
  acc.add(a, a, "y");
  EXPECT_TRUE(std::isinf(acc.result().sqnr_db));
  EXPECT_DOUBLE_EQ(acc.result().cosine, 1.0);
  EXPECT_DOUBLE_EQ(acc.result().argmax_agreement, 1.0);
  EXPECT_THROW(acc.add(a, Tensor::from_f32({1, 3}, {1, -2, 3}), "y"), Error);
  EXPECT_THROW(acc.add(a, Tensor(DType::i64, {3}), "y"), Error);
}

}  // namespace
}  // namespace nnaccel
