#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "nnaccel/error.hpp"
#include "nnaccel/npy.hpp"

namespace nnaccel {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("nnaccel_npy_" + name)).string();
}

TEST(Npy, RoundTripsEveryDtypeAndShape) {
  for (DType t : {DType::f32, DType::f64, DType::i8, DType::u8, DType::i64, DType::boolean,
                  DType::f16}) {
    for (const Shape& s : {Shape{}, Shape{5}, Shape{2, 3, 4}}) {
      Tensor x(t, s);
      auto* b = static_cast<uint8_t*>(x.raw());
      for (size_t i = 0; i < x.nbytes(); ++i) b[i] = t == DType::boolean ? i % 2 : (i * 37 + 11) & 0xff;
      std::string p = temp_path("rt.npy");
      save_npy(x, p);
      Tensor y = load_npy(p);
      EXPECT_EQ(y.dtype(), t);
      EXPECT_EQ(y.shape(), s);
      ASSERT_EQ(y.nbytes(), x.nbytes());
      EXPECT_EQ(std::memcmp(x.raw(), y.raw(), x.nbytes()), 0);
      std::remove(p.c_str());
    }
  }
}

TEST(Npy, RejectsTruncatedAndForeignFiles) {
  Tensor x = Tensor::from_f32({4}, {1, 2, 3, 4});
  std::string p = temp_path("trunc.npy");
  save_npy(x, p);
  std::filesystem::resize_file(p, std::filesystem::file_size(p) - 3);
  EXPECT_THROW(load_npy(p), Error);
  {
    std::ofstream f(p, std::ios::binary);
    f << "not a numpy file at all";
  }
  EXPECT_THROW(load_npy(p), Error);
  std::remove(p.c_str());
  EXPECT_THROW(load_npy(temp_path("missing.npy")), Error);
}

}  // namespace
}  // namespace nnaccel
