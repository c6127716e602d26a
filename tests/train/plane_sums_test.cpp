// The vectorized plane sums of the f32 BatchNormalization paths against double loops, on random
// data of ragged lengths (whole vectors, tails, shorter than one vector).
#include "train/autograd/plane_sums.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace nnaccel::grad {
namespace {

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& f : v) f = u(rng);
  return v;
}

TEST(PlaneSums, MatchDoubleLoopsOnRaggedLengths) {
  for (int64_t n : {1, 3, 15, 16, 17, 31, 33, 49, 100, 196, 784, 1001}) {
    const size_t un = static_cast<size_t>(n);
    // An offset start: the loads must not assume alignment.
    const std::vector<float> x = random_floats(un + 1, 1 + static_cast<uint32_t>(n), -1, 3);
    const std::vector<float> g = random_floats(un + 1, 2 + static_cast<uint32_t>(n), -2, 2);
    const float* xp = x.data() + 1;
    const float* gp = g.data() + 1;
    const float mean = 0.7f;
    double sum = 0, sq = 0, sg = 0, sgx = 0, mag = 0;
    for (size_t i = 0; i < un; ++i) {
      sum += xp[i];
      sq += (static_cast<double>(xp[i]) - mean) * (static_cast<double>(xp[i]) - mean);
      sg += gp[i];
      sgx += static_cast<double>(gp[i]) * (static_cast<double>(xp[i]) - mean);
      mag += std::fabs(xp[i]) + std::fabs(gp[i]);
    }
    const double tol = 1e-6 * (mag + 1) * 4;
    EXPECT_NEAR(plane_sum(xp, n), sum, tol) << n;
    EXPECT_NEAR(plane_sum_sq_dev(xp, n, mean), sq, tol * 4) << n;
    double got_g = 1.0, got_gx = -1.0;  // added to, not overwritten
    plane_sum_g_gx(gp, xp, n, mean, got_g, got_gx);
    EXPECT_NEAR(got_g, 1.0 + sg, tol) << n;
    EXPECT_NEAR(got_gx, -1.0 + sgx, tol * 4) << n;

    std::vector<float> out(un + 2, 42.0f);
    plane_affine(gp, 1.5f, xp, -0.25f, 0.125f, out.data() + 1, n);
    for (size_t i = 0; i < un; ++i)
      ASSERT_NEAR(out[i + 1], 1.5 * gp[i] - 0.25 * xp[i] + 0.125, 1e-5) << n << " " << i;
    EXPECT_EQ(out[0], 42.0f);  // nothing written outside [0, n)
    EXPECT_EQ(out[un + 1], 42.0f);
    plane_affine(gp, -2.0f, nullptr, 9.0f, 0.5f, out.data() + 1, n);
    for (size_t i = 0; i < un; ++i)
      ASSERT_NEAR(out[i + 1], -2.0 * gp[i] + 0.5, 1e-5) << n << " " << i;
    EXPECT_EQ(out[un + 1], 42.0f);
  }
}

}  // namespace
}  // namespace nnaccel::grad
