// bf16_is_faster: measured once per CPU and cached.
#include "kernels/dnnl/dnnl_precision.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "kernels/dnnl/dnnl_common.hpp"

namespace nnaccel::dnnl_kernels {
namespace {

TEST(DnnlPrecision, SpeedupIsMeasuredOnlyWithNativeBf16) {
  std::optional<double> s = measure_bf16_speedup();
  EXPECT_EQ(s.has_value(), cpu_has_bf16());
  // A ratio of two times: positive and finite (its size depends on the load, not tested).
  if (s) {
    EXPECT_TRUE(*s > 0 && std::isfinite(*s)) << *s;
  }
  EXPECT_FALSE(cpu_model_name().empty());
}

TEST(DnnlPrecision, AnswerIsCachedUnderXdgCacheHome) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("nnaccel_cache_test_" + std::to_string(getpid()));
  const char* old = std::getenv("XDG_CACHE_HOME");
  std::string saved = old != nullptr ? old : "";
  setenv("XDG_CACHE_HOME", dir.c_str(), 1);
  const bool faster = bf16_is_faster();
  if (old != nullptr)
    setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  else
    unsetenv("XDG_CACHE_HOME");
  if (!cpu_has_bf16()) {
    EXPECT_FALSE(faster);
  } else {
    std::ifstream in(dir / "nnaccel" / "bf16_speed.txt");
    std::string line;
    ASSERT_TRUE(std::getline(in, line)) << "no cache file written";
    EXPECT_NE(line.find(cpu_model_name()), std::string::npos) << line;
    EXPECT_EQ(std::stod(line.substr(0, line.find('\t'))) > 1.1, faster) << line;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nnaccel::dnnl_kernels
