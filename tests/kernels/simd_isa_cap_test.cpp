// NNACCEL_MAX_ISA caps the simd kernels' target (ctest runs the Simd* suites under each cap in
// separate processes; the cap is read once per process).
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cstdlib>
#include <string>

#include "kernels/simd/isa_cap.hpp"

namespace nnaccel::simd {
namespace {

TEST(SimdIsaCap, FollowsTheEnvironment) {
  const char* env = std::getenv("NNACCEL_MAX_ISA");
  const std::string cap = env != nullptr ? env : "";
  const int64_t cpu = hwy::SupportedTargets();
  if (cap == "scalar") {
    EXPECT_FALSE(simd_enabled());
    return;
  }
  if (!simd_enabled()) GTEST_SKIP() << "CPU below AVX2";
  const std::string target = simd_target_name();
  if (cap == "avx2") {
    EXPECT_EQ(target, "AVX2");
  } else if ((cpu & HWY_AVX3) != 0) {
    EXPECT_EQ(target, "AVX3");
  }
}

}  // namespace
}  // namespace nnaccel::simd
