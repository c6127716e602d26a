// Calibration data sources: batch files in name order, NAME=DIR per input, an inputs.npy data set
// cut into batches, the sample limit, and the checks against the model's declared inputs.
#include "compress/quantize/calibration_data.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "ir/passes_test_util.hpp"
#include "nnaccel/error.hpp"
#include "nnaccel/npy.hpp"

namespace nnaccel {
namespace {

namespace fs = std::filesystem;
using testing::random_tensor;

std::string fresh_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/calibration_data_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

ValueInfo input(const std::string& name, std::vector<Dim> dims, DType t = DType::f32) {
  ValueInfo v{name, {}, ""};
  v.type.dtype = t;
  v.type.has_shape = true;
  v.type.dims = std::move(dims);
  return v;
}

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (a.data<float>()[i] != b.data<float>()[i]) return false;
  return true;
}

TEST(CalibrationData, BatchFilesComeInNameOrderAndStopAtTheSampleLimit) {
  const std::string dir = fresh_dir("files");
  // Written out of order; "b10" sorts before "b2" by name, which is the documented order.
  Tensor b2 = random_tensor({3, 4}, 2), b10 = random_tensor({2, 4}, 10),
         c = random_tensor({4, 4}, 3);
  save_npy(b2, dir + "/b2.npy");
  save_npy(c, dir + "/c.npy");
  save_npy(b10, dir + "/b10.npy");
  std::vector<ValueInfo> inputs = {input("x", {Dim{-1, "N"}, Dim{4, ""}})};
  CalibrationData all({dir}, inputs, {});
  EXPECT_EQ(all.total_batches(), 3);
  std::vector<Tensor> got;
  while (auto b = all.next()) got.push_back(b->feeds.at("x"));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(same_values(got[0], b10));
  EXPECT_TRUE(same_values(got[1], b2));
  EXPECT_TRUE(same_values(got[2], c));
  EXPECT_EQ(all.samples_read(), 9);

  CalibrationDataOptions limit;
  limit.max_samples = 4;  // 2 from b10, then 2 of b2's 3 rows
  CalibrationData cut({dir}, inputs, limit);
  auto first = cut.next();
  auto second = cut.next();
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(cut.next());
  EXPECT_EQ(second->samples, 2);
  ASSERT_EQ(second->feeds.at("x").shape(), (Shape{2, 4}));
  for (int64_t i = 0; i < 8; ++i)
    EXPECT_EQ(second->feeds.at("x").data<float>()[i], b2.data<float>()[i]);
  EXPECT_EQ(cut.samples_read(), 4);

  // Resuming skips the files already read.
  CalibrationData resumed({dir}, inputs, {});
  resumed.skip(2, 5);
  auto last = resumed.next();
  ASSERT_TRUE(last);
  EXPECT_TRUE(same_values(last->feeds.at("x"), c));
  EXPECT_EQ(resumed.samples_read(), 9);
}

TEST(CalibrationData, NameEqualsDirFeedsEachInputFromItsFolder) {
  const std::string da = fresh_dir("named_a"), db = fresh_dir("named_b");
  for (int k = 0; k < 2; ++k) {
    save_npy(random_tensor({2, 3}, 20 + k), da + "/" + std::to_string(k) + ".npy");
    save_npy(random_tensor({2, 5}, 30 + k), db + "/" + std::to_string(k) + ".npy");
  }
  std::vector<ValueInfo> inputs = {input("a", {Dim{-1, "N"}, Dim{3, ""}}),
                                   input("b", {Dim{-1, "N"}, Dim{5, ""}})};
  CalibrationData data({"b=" + db, "a=" + da}, inputs, {});
  int batches = 0;
  while (auto b = data.next()) {
    EXPECT_TRUE(same_values(b->feeds.at("a"), random_tensor({2, 3}, 20 + batches)));
    EXPECT_TRUE(same_values(b->feeds.at("b"), random_tensor({2, 5}, 30 + batches)));
    ++batches;
  }
  EXPECT_EQ(batches, 2);
  // Every input needs a folder, names must exist, folders must hold as many batches.
  EXPECT_THROW(CalibrationData({"a=" + da}, inputs, {}), Error);
  EXPECT_THROW(CalibrationData({"a=" + da, "c=" + db}, inputs, {}), Error);
  EXPECT_THROW(CalibrationData({da}, inputs, {}), Error);  // a bare folder for two inputs
  save_npy(random_tensor({2, 5}, 40), db + "/2.npy");
  EXPECT_THROW(CalibrationData({"a=" + da, "b=" + db}, inputs, {}), Error);
}

TEST(CalibrationData, BatchesThatDoNotFitTheModelAreErrorsNamingTheFile) {
  const std::string dir = fresh_dir("bad");
  save_npy(random_tensor({2, 4}, 1), dir + "/0.npy");
  save_npy(random_tensor({2, 5}, 2), dir + "/1.npy");
  CalibrationData data({dir}, {input("x", {Dim{-1, ""}, Dim{4, ""}})}, {});
  ASSERT_TRUE(data.next());
  try {
    data.next();
    FAIL() << "a [2,5] batch for a [?,4] input was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1.npy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
  CalibrationData wrong_type({dir}, {input("x", {Dim{-1, ""}, Dim{4, ""}}, DType::u8)}, {});
  EXPECT_THROW(wrong_type.next(), Error);
  EXPECT_THROW(CalibrationData({fresh_dir("empty")}, {input("x", {})}, {}), Error);
  EXPECT_THROW(CalibrationData({dir + "/absent"}, {input("x", {})}, {}), Error);
  CalibrationDataOptions negative;
  negative.max_samples = -1;
  EXPECT_THROW(CalibrationData({dir}, {input("x", {})}, negative), Error);
}

TEST(CalibrationData, AnInputsNpyFolderIsCutIntoScaledImageBatchesWithLabels) {
  const std::string dir = fresh_dir("dataset");
  Tensor images(DType::u8, {10, 4, 4});
  for (int64_t i = 0; i < images.numel(); ++i)
    images.data<uint8_t>()[i] = static_cast<uint8_t>(i * 7);
  Tensor labels(DType::i64, {10});
  for (int64_t i = 0; i < 10; ++i) labels.data<int64_t>()[i] = i % 3;
  save_npy(images, dir + "/inputs.npy");
  save_npy(labels, dir + "/labels.npy");
  CalibrationDataOptions o;
  o.batch_size = 4;
  o.max_samples = 6;
  o.shuffle = false;
  CalibrationData data({dir}, {input("img", {Dim{-1, ""}, Dim{1, ""}, Dim{4, ""}, Dim{4, ""}})}, o);
  EXPECT_TRUE(data.has_labels());
  EXPECT_EQ(data.total_batches(), 2);
  auto a = data.next();
  auto b = data.next();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(data.next());
  EXPECT_EQ(a->feeds.at("img").shape(), (Shape{4, 1, 4, 4}));
  EXPECT_EQ(b->feeds.at("img").shape(), (Shape{2, 1, 4, 4}));
  // Pixels scaled to [0, 1] as the models section of the README says.
  EXPECT_FLOAT_EQ(b->feeds.at("img").data<float>()[3],
                  static_cast<float>((4 * 16 + 3) * 7 % 256) / 255.0f);
  EXPECT_EQ(b->labels.shape(), (Shape{2}));
  EXPECT_EQ(b->labels.data<int64_t>()[1], 5 % 3);
}

// A sequence model's input [batch, L, D] takes an inputs.npy of [N, L, D] as it is (the loader's
// image channel of 1 is not inserted), values unscaled.
TEST(CalibrationData, AnInputsNpyFolderFeedsASequenceModelItsOwnRank) {
  const std::string dir = fresh_dir("sequence");
  const Tensor seq = random_tensor({5, 3, 8}, 9);
  save_npy(seq, dir + "/inputs.npy");
  CalibrationDataOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  CalibrationData data({dir}, {input("src", {Dim{-1, "batch"}, Dim{3, ""}, Dim{8, ""}})}, o);
  auto a = data.next();
  auto b = data.next();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->feeds.at("src").shape(), (Shape{4, 3, 8}));
  EXPECT_EQ(b->feeds.at("src").shape(), (Shape{1, 3, 8}));
  EXPECT_EQ(b->feeds.at("src").data<float>()[5], seq.data<float>()[4 * 24 + 5]);
}

}  // namespace
}  // namespace nnaccel
