// The checkpoint file: exact round trip, and one clear Error for each kind of damage.
#include "train/checkpoint.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "nnaccel/error.hpp"

namespace nnaccel::train {
namespace {

namespace fs = std::filesystem;

Checkpoint sample() {
  Checkpoint c;
  c.step = 1234;
  c.optimizer_steps = 1230;
  c.seed = 0xfedcba9876543210ull;
  c.batch_size = 64;
  c.optimizer = "adamw";
  c.threads = 2;
  c.loader = "nnaccel-loader-v1 seed=5 epoch=3 position=640";
  c.model_onnx = std::string("\x08\x08\x00\x12onnx bytes\n with newlines", 27);
  c.optimizer_state["conv 1.weight/m"] = Tensor::from_f32({2, 3}, {1, -2, 3.5f, 1e-30f, -0.0f, 7});
  c.optimizer_state["b/v"] = Tensor::from_f32({}, {0.25f});
  return c;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() / fmt::format("nnaccel_ckpt_test_{}.nnackpt", ::getpid()))
                .string();
  }
  void TearDown() override { fs::remove(path_); }
  std::string read_bytes() {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  void write_bytes(const std::string& b) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << b;
  }
  std::string error() {
    try {
      read_checkpoint(path_);
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
      EXPECT_NE(m.find(path_), std::string::npos) << m;
      return m;
    }
    return "";
  }
  std::string path_;
};

TEST_F(CheckpointTest, RoundTripIsExact) {
  const Checkpoint c = sample();
  write_checkpoint(path_, c);
  const Checkpoint r = read_checkpoint(path_);
  EXPECT_EQ(r.step, c.step);
  EXPECT_EQ(r.optimizer_steps, c.optimizer_steps);
  EXPECT_EQ(r.seed, c.seed);
  EXPECT_EQ(r.batch_size, c.batch_size);
  EXPECT_EQ(r.optimizer, c.optimizer);
  EXPECT_EQ(r.threads, c.threads);
  EXPECT_EQ(r.loader, c.loader);
  EXPECT_EQ(r.model_onnx, c.model_onnx);
  ASSERT_EQ(r.optimizer_state.size(), 2u);
  for (const auto& [name, t] : c.optimizer_state) {
    const Tensor& u = r.optimizer_state.at(name);
    EXPECT_EQ(u.shape(), t.shape()) << name;
    EXPECT_EQ(std::memcmp(u.raw(), t.raw(), t.nbytes()), 0) << name;
  }
}

TEST_F(CheckpointTest, DamageIsOneLineError) {
  write_checkpoint(path_, sample());
  const std::string good = read_bytes();
  for (size_t cut : {size_t{0}, size_t{5}, size_t{20}, good.size() / 2, good.size() - 1}) {
    write_bytes(good.substr(0, cut));
    EXPECT_NE(error(), "") << "cut at " << cut;
  }
  write_bytes(good.substr(0, good.size() - 1));
  EXPECT_NE(error().find("truncated"), std::string::npos);
  std::string flipped = good;
  flipped[good.size() - 3] ^= 1;
  write_bytes(flipped);
  EXPECT_NE(error().find("checksum"), std::string::npos);
  std::string magic = good;
  magic[0] = 'X';
  write_bytes(magic);
  EXPECT_NE(error().find("bad magic"), std::string::npos);
  std::string version = good;
  version.replace(version.find("checkpoint-v1"), 13, "checkpoint-v9");
  write_bytes(version);
  EXPECT_NE(error().find("unsupported format"), std::string::npos);
  std::string huge = good;  // header size field far beyond the file
  huge[15] = 0x7f;
  write_bytes(huge);
  EXPECT_NE(error().find("truncated"), std::string::npos);
  fs::remove(path_);
  EXPECT_NE(error().find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace nnaccel::train
