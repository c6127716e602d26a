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

TEST(DnnlPrecision, CacheFileFollowsXdgCacheHome) {
  const char* old = std::getenv("XDG_CACHE_HOME");
  const std::string saved = old != nullptr ? old : "";
  setenv("XDG_CACHE_HOME", "/some/where", 1);
  const std::string file = default_bf16_cache_file();
  if (old != nullptr) {
    setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  } else {
    unsetenv("XDG_CACHE_HOME");
  }
  EXPECT_EQ(file, "/some/where/nnaccel/bf16_speed.txt");
}

TEST(DnnlPrecision, AnswerIsMeasuredOnceAndCached) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("nnaccel_cache_test_" + std::to_string(getpid()));
  const std::filesystem::path file = dir / "nnaccel" / "bf16_speed.txt";
  const bool faster = bf16_is_faster_cached_in(file.string());
  if (!cpu_has_bf16()) {
    EXPECT_FALSE(faster);
    EXPECT_FALSE(std::filesystem::exists(file));
  } else {
    std::string line;
    {
      std::ifstream in(file);
      ASSERT_TRUE(std::getline(in, line)) << "no cache file written";
    }
    EXPECT_NE(line.find(cpu_model_name()), std::string::npos) << line;
    EXPECT_EQ(std::stod(line.substr(0, line.find('\t'))) > 1.1, faster) << line;
    // A cached answer is read, not measured again: rewrite it to the opposite and ask again.
    const std::string key = line.substr(line.find('\t') + 1);
    {
      std::ofstream out(file);
      out << (faster ? "0.5" : "3.0") << '\t' << key << '\n';
    }
    EXPECT_EQ(bf16_is_faster_cached_in(file.string()), !faster);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nnaccel::dnnl_kernels
