// Data loading for training / calibration: IDX reader, Fashion-MNIST, npy folders, DataLoader.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>

#include "nnaccel/error.hpp"
#include "nnaccel/npy.hpp"
#include "train/data/data_loader.hpp"
#include "train/data/dataset.hpp"
#include "train/data/idx.hpp"

namespace nnaccel::train {
namespace {

namespace fs = std::filesystem;

// Expected values computed with /usr/bin/python3 (gzip + numpy) from Debian's files.
class FashionMnistTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    train_ = new Dataset(load_fashion_mnist(kFashionMnistDir, true));
    test_ = new Dataset(load_fashion_mnist(kFashionMnistDir, false));
  }
  static void TearDownTestSuite() {
    delete train_;
    delete test_;
    train_ = test_ = nullptr;
  }
  static Dataset* train_;
  static Dataset* test_;
};
Dataset* FashionMnistTest::train_ = nullptr;
Dataset* FashionMnistTest::test_ = nullptr;

int64_t image_sum(const Dataset& d, int64_t i) {
  const uint8_t* p = d.inputs.data<uint8_t>() + i * 28 * 28;
  return std::accumulate(p, p + 28 * 28, int64_t{0});
}

TEST_F(FashionMnistTest, CountsShapesAndDtypes) {
  EXPECT_EQ(train_->inputs.shape(), (Shape{60000, 28, 28}));
  EXPECT_EQ(train_->inputs.dtype(), DType::u8);
  EXPECT_EQ(train_->labels.shape(), (Shape{60000}));
  EXPECT_EQ(train_->labels.dtype(), DType::i64);
  EXPECT_EQ(test_->inputs.shape(), (Shape{10000, 28, 28}));
  EXPECT_EQ(test_->labels.shape(), (Shape{10000}));
}

TEST_F(FashionMnistTest, KnownLabelsHistogramsAndPixels) {
  const std::vector<int64_t> first_train{9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
  const std::vector<int64_t> first_test{9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(train_->labels.data<int64_t>()[i], first_train[i]) << i;
    EXPECT_EQ(test_->labels.data<int64_t>()[i], first_test[i]) << i;
  }
  std::array<int64_t, 10> hist_train{}, hist_test{};
  for (int64_t i = 0; i < 60000; ++i) ++hist_train[train_->labels.data<int64_t>()[i]];
  for (int64_t i = 0; i < 10000; ++i) ++hist_test[test_->labels.data<int64_t>()[i]];
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(hist_train[c], 6000) << c;
    EXPECT_EQ(hist_test[c], 1000) << c;
  }
  EXPECT_EQ(image_sum(*train_, 0), 76247);
  EXPECT_EQ(image_sum(*train_, 1), 84598);
  EXPECT_EQ(image_sum(*train_, 2), 28662);
  EXPECT_EQ(image_sum(*test_, 0), 33456);
  EXPECT_EQ(image_sum(*test_, 1), 100994);
  EXPECT_EQ(image_sum(*test_, 2), 51520);
  const uint8_t* p = train_->inputs.data<uint8_t>();
  const std::vector<int> row{0,   0,   0,   193, 228,
                             218, 213, 198, 180, 212};  // image 0, y=10, x=10..19
  for (int x = 0; x < 10; ++x) EXPECT_EQ(p[10 * 28 + 10 + x], row[x]) << x;
  EXPECT_EQ(p[14 * 28 + 25], 255);
}

TEST_F(FashionMnistTest, NormalizationOfKnownPixels) {
  LoaderOptions o;
  o.batch_size = 2;
  o.shuffle = false;
  o.mean = 0.2860f;
  o.std = 0.3530f;
  DataLoader loader(*train_, o);
  auto b = loader.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->inputs.shape(), (Shape{2, 1, 28, 28}));
  EXPECT_EQ(b->inputs.dtype(), DType::f32);
  EXPECT_EQ(b->labels.to_i64_vector(), (std::vector<int64_t>{9, 0}));
  const float* x = b->inputs.data<float>();
  EXPECT_NEAR(x[10 * 28 + 13], (193.0f / 255.0f - 0.2860f) / 0.3530f, 1e-5);
  EXPECT_NEAR(x[14 * 28 + 25], (1.0f - 0.2860f) / 0.3530f, 1e-5);
  EXPECT_NEAR(x[0], -0.2860f / 0.3530f, 1e-5);
  // Sum over image 0 follows from its pixel sum.
  double s = 0;
  for (int i = 0; i < 784; ++i) s += x[i];
  EXPECT_NEAR(s, (76247.0 / 255.0 - 784 * 0.2860) / 0.3530, 1e-2);
}

// ---- IDX errors on hand-made files ----

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("nnaccel_data_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}

void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  gzclose(f);
}

std::vector<uint8_t> idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, size_t payload,
                               uint8_t fill = 1) {
  std::vector<uint8_t> v;
  put_be32(v, magic);
  for (uint32_t d : dims) put_be32(v, d);
  v.insert(v.end(), payload, fill);
  return v;
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "no Error thrown";
  } catch (const Error& e) {
    for (const auto& frag : fragments) {
      EXPECT_NE(std::string(e.what()).find(frag), std::string::npos)
          << "message '" << e.what() << "' lacks '" << frag << "'";
    }
  }
}

TEST(IdxReader, ReadsSmallFile) {
  TempDir dir;
  auto bytes = idx_bytes(0x803, {2, 3, 2}, 0);
  for (uint8_t i = 0; i < 12; ++i) bytes.push_back(i * 10);
  write_gz(dir.file("a.gz"), bytes);
  Tensor t = read_idx_u8(dir.file("a.gz"), 3);
  EXPECT_EQ(t.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(t.dtype(), DType::u8);
  EXPECT_EQ(t.at_i64(11), 110);
  EXPECT_EQ(t.at_i64(5), 50);
}

TEST(IdxReader, TruncatedAndWrongFiles) {
  TempDir dir;
  const std::string trunc = dir.file("train-images-idx3-ubyte.gz");
  write_gz(trunc, idx_bytes(0x803, {60000, 28, 28}, 1000 - 16));
  expect_error([&] { read_idx_u8(trunc); },
               {"train-images-idx3-ubyte.gz: truncated: 47040016 bytes expected, 1000 present"});

  const std::string magic = dir.file("magic.gz");
  write_gz(magic, idx_bytes(0x802, {4, 4}, 16));
  expect_error([&] { read_idx_u8(magic); }, {"magic.gz", "bad magic 0x00000802"});

  const std::string trailing = dir.file("trailing.gz");
  write_gz(trailing, idx_bytes(0x801, {4}, 6));
  expect_error([&] { read_idx_u8(trailing); }, {"trailing.gz", "2 trailing bytes"});

  const std::string header = dir.file("header.gz");
  write_gz(header, {0, 0, 8, 3, 0, 0});
  expect_error([&] { read_idx_u8(header); }, {"header.gz", "truncated: header needs 16 bytes, 6"});

  const std::string empty = dir.file("empty.gz");
  write_gz(empty, {});
  expect_error([&] { read_idx_u8(empty); }, {"empty.gz", "truncated: no IDX magic"});

  const std::string labels = dir.file("labels.gz");
  write_gz(labels, idx_bytes(0x801, {4}, 4));
  EXPECT_EQ(read_idx_u8(labels, 1).shape(), (Shape{4}));
  expect_error([&] { read_idx_u8(labels, 3); }, {"labels.gz", "has 1 dims, expected 3"});
  expect_error([&] { read_idx_u8(labels, 0, 3); }, {"labels.gz", "exceeds the cap of 3 bytes"});

  // Dims whose product overflows 64 bits are rejected before any allocation.
  const std::string huge = dir.file("huge.gz");
  write_gz(huge, idx_bytes(0x803, {0xffffffffu, 0xffffffffu, 0xffffffffu}, 10));
  expect_error([&] { read_idx_u8(huge); }, {"huge.gz", "describe more than the cap"});

  expect_error([&] { read_idx_u8(dir.file("missing.gz")); }, {"missing.gz: cannot open"});

  // Uncompressed IDX files are read as well (zlib passes non-gzip data through).
  const std::string plain = dir.file("plain.idx");
  const auto raw = idx_bytes(0x801, {3}, 3, 7);
  std::ofstream(plain, std::ios::binary).write(reinterpret_cast<const char*>(raw.data()), 11);
  EXPECT_EQ(read_idx_u8(plain).to_i64_vector(), (std::vector<int64_t>{7, 7, 7}));
}

TEST(IdxReader, CutGzipStreamIsAnError) {
  TempDir dir;
  std::ifstream in(std::string(kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz", std::ios::binary);
  std::vector<char> gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(gz.size(), 1000u);
  const std::string cut = dir.file("cut.gz");
  std::ofstream(cut, std::ios::binary).write(gz.data(), 1000);
  expect_error([&] { read_idx_u8(cut); },
               {"cut.gz: corrupt gzip stream", "unexpected end of file"});
}

TEST(FashionMnistLoader, LabelOutOfRangeAndCountMismatch) {
  TempDir dir;
  write_gz(dir.file("t10k-images-idx3-ubyte.gz"), idx_bytes(0x803, {3, 28, 28}, 3 * 784));
  write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), {0, 0, 8, 1, 0, 0, 0, 3, 1, 10, 2});
  expect_error([&] { load_fashion_mnist(dir.file(""), false); },
               {"t10k-labels-idx1-ubyte.gz", "label 10 of sample 1 is out of range 0..9"});
  write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), {0, 0, 8, 1, 0, 0, 0, 2, 1, 2});
  expect_error([&] { load_fashion_mnist(dir.file(""), false); }, {"2 labels but", "has 3 images"});
  write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 9});
  Dataset d = load_fashion_mnist(dir.file(""), false);
  EXPECT_EQ(d.labels.to_i64_vector(), (std::vector<int64_t>{1, 2, 9}));
  write_gz(dir.file("train-images-idx3-ubyte.gz"), idx_bytes(0x803, {3, 28, 27}, 3 * 28 * 27));
  write_gz(dir.file("train-labels-idx1-ubyte.gz"), {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 9});
  expect_error([&] { load_fashion_mnist(dir.file(""), true); }, {"28x27, expected 28x28"});
}

// ---- npy folder ----

TEST(NpyFolder, LoadsInputsAndLabelsAndChecksCounts) {
  TempDir dir;
  Tensor x(DType::u8, {5, 2, 2});
  for (int i = 0; i < 20; ++i) x.data<uint8_t>()[i] = static_cast<uint8_t>(i);
  save_npy(x, dir.file("inputs.npy"));
  Dataset no_labels = load_npy_folder(dir.file(""));
  EXPECT_EQ(no_labels.size(), 5);
  EXPECT_FALSE(no_labels.labels.defined());

  Tensor y(DType::i32, {5});
  for (int i = 0; i < 5; ++i) y.data<int32_t>()[i] = 4 - i;
  save_npy(y, dir.file("labels.npy"));
  Dataset d = load_npy_folder(dir.file(""));
  EXPECT_EQ(d.inputs.shape(), (Shape{5, 2, 2}));
  EXPECT_EQ(d.labels.dtype(), DType::i64);
  EXPECT_EQ(d.labels.to_i64_vector(), (std::vector<int64_t>{4, 3, 2, 1, 0}));
  EXPECT_EQ(d.inputs.at_i64(19), 19);

  save_npy(Tensor(DType::i64, {4}), dir.file("labels.npy"));
  expect_error([&] { load_npy_folder(dir.file("")); }, {"labels.npy", "4 labels but", "5 samples"});
  save_npy(Tensor(DType::f32, {5}), dir.file("labels.npy"));
  expect_error([&] { load_npy_folder(dir.file("")); }, {"labels.npy", "unsupported"});
  fs::remove(dir.file("inputs.npy"));
  expect_error([&] { load_npy_folder(dir.file("")); }, {"inputs.npy: missing"});
}

// ---- DataLoader ----

Dataset counting_dataset(int64_t n, int64_t h = 2, int64_t w = 2) {
  Dataset d{Tensor(DType::u8, {n, h, w}), Tensor(DType::i64, {n})};
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < h * w; ++k) d.inputs.data<uint8_t>()[i * h * w + k] = uint8_t(i);
    d.labels.data<int64_t>()[i] = i % 10;
  }
  return d;
}

std::vector<int64_t> epoch_order(DataLoader& l) {
  std::vector<int64_t> all;
  while (auto b = l.next()) all.insert(all.end(), b->indices.begin(), b->indices.end());
  return all;
}

TEST(DataLoader, BatchingKeepsOrDropsTheLastPartialBatch) {
  LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  o.scale = 1.0f;
  DataLoader keep(counting_dataset(10), o);
  EXPECT_EQ(keep.batches_per_epoch(), 3);
  std::vector<int64_t> sizes;
  while (auto b = keep.next()) {
    sizes.push_back(b->inputs.dim(0));
    EXPECT_EQ(b->labels.dim(0), b->inputs.dim(0));
    // Unshuffled: sample i holds value i everywhere.
    for (int64_t i = 0; i < b->inputs.dim(0); ++i) {
      EXPECT_EQ(b->inputs.data<float>()[i * 4 + 3], static_cast<float>(b->indices[i]));
    }
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));
  EXPECT_EQ(keep.epoch(), 1);
  EXPECT_EQ(keep.position(), 0);

  o.drop_last = true;
  DataLoader drop(counting_dataset(10), o);
  EXPECT_EQ(drop.batches_per_epoch(), 2);
  EXPECT_EQ(epoch_order(drop), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(drop.epoch(), 1);
}

TEST(DataLoader, SeededShuffleIsReproducible) {
  LoaderOptions o;
  o.batch_size = 7;
  o.seed = 42;
  DataLoader a(counting_dataset(100), o), b(counting_dataset(100), o);
  const auto ea0 = epoch_order(a), ea1 = epoch_order(a);
  EXPECT_EQ(ea0, epoch_order(b));
  EXPECT_EQ(ea1, epoch_order(b));
  EXPECT_NE(ea0, ea1);  // each epoch is a new permutation
  auto sorted = ea0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(100);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);
  EXPECT_NE(ea0, iota);
  o.seed = 43;
  DataLoader c(counting_dataset(100), o);
  EXPECT_NE(epoch_order(c), ea0);
}

TEST(DataLoader, ResumeFromSavedStateContinuesIdentically) {
  LoaderOptions o;
  o.batch_size = 3;
  o.seed = 7;
  o.crop_padding = 1;
  o.hflip = true;
  o.mean = 0.5f;
  o.std = 0.25f;
  Dataset d = counting_dataset(10, 4, 4);
  for (int64_t i = 0; i < d.inputs.numel(); ++i) d.inputs.data<uint8_t>()[i] = uint8_t(i * 7);
  DataLoader ref(d, o);
  std::vector<Batch> expected;
  for (int e = 0; e < 3; ++e) {
    while (auto b = ref.next()) expected.push_back(*b);
  }
  ASSERT_EQ(expected.size(), 12u);

  EXPECT_EQ(DataLoader(d, o).state().to_string(), "nnaccel-loader-v1 seed=7 epoch=0 position=0");
  // Interrupt after k batches (k = 3: mid epoch 0; k = 6: mid epoch 1), save the state as text,
  // restore it into a fresh loader and compare the remaining batches with the uninterrupted run.
  std::string mid;
  for (size_t k : {size_t{3}, size_t{6}}) {
    DataLoader first(d, o);
    for (size_t i = 0; i < k;) i += first.next().has_value() ? 1 : 0;
    const std::string saved = first.state().to_string();
    if (k == 3) {
      EXPECT_EQ(saved, "nnaccel-loader-v1 seed=7 epoch=0 position=9");
      mid = saved;
    } else {
      EXPECT_EQ(saved, "nnaccel-loader-v1 seed=7 epoch=1 position=6");
    }
    DataLoader resumed(d, o);
    resumed.restore(LoaderState::parse(saved));
    std::vector<Batch> got;
    while (got.size() + k < expected.size()) {
      if (auto b = resumed.next()) got.push_back(*b);
    }
    for (size_t i = 0; i < got.size(); ++i) {
      const Batch& want = expected[i + k];
      EXPECT_EQ(got[i].indices, want.indices) << k << " " << i;
      EXPECT_EQ(got[i].labels.to_i64_vector(), want.labels.to_i64_vector()) << k << " " << i;
      EXPECT_EQ(got[i].inputs.to_f32_vector(), want.inputs.to_f32_vector()) << k << " " << i;
    }
  }

  LoaderOptions other = o;
  other.seed = 8;
  DataLoader wrong(d, other);
  expect_error([&] { wrong.restore(LoaderState::parse(mid)); }, {"seed 7", "loader has 8"});
  expect_error([&] { DataLoader(d, o).restore({7, 0, 11}); }, {"position 11 out of range"});
  expect_error([&] { LoaderState::parse("nnaccel-loader-v1 seed=7 epoch=0"); },
               {"malformed data loader state"});
}

TEST(DataLoader, CropAndFlipOnHandMadeImage) {
  // One 3x3 image with values 1..9, padding 1, identity normalization.
  Dataset d{Tensor(DType::u8, {1, 3, 3}), Tensor()};
  for (int i = 0; i < 9; ++i) d.inputs.data<uint8_t>()[i] = static_cast<uint8_t>(i + 1);
  LoaderOptions o;
  o.scale = 1.0f;
  o.crop_padding = 1;
  o.hflip = true;
  DataLoader l(d, o);
  std::array<float, 9> out{};
  l.render(0, {1, 1, false}, out.data());  // centred window = the image
  EXPECT_EQ(out, (std::array<float, 9>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  l.render(0, {0, 0, false}, out.data());  // shifted down-right, zero padding enters top-left
  EXPECT_EQ(out, (std::array<float, 9>{0, 0, 0, 0, 1, 2, 0, 4, 5}));
  l.render(0, {2, 1, false}, out.data());  // shifted up
  EXPECT_EQ(out, (std::array<float, 9>{4, 5, 6, 7, 8, 9, 0, 0, 0}));
  l.render(0, {1, 1, true}, out.data());
  EXPECT_EQ(out, (std::array<float, 9>{3, 2, 1, 6, 5, 4, 9, 8, 7}));
  l.render(0, {0, 2, true}, out.data());  // window x+1 then mirrored
  EXPECT_EQ(out, (std::array<float, 9>{0, 0, 0, 0, 3, 2, 0, 6, 5}));
  expect_error([&] { l.render(0, {3, 0, false}, out.data()); }, {"crop offset"});

  // The loader's draws cover every offset and both flips, and its batches are render(augment).
  std::array<int, 3> dy_seen{}, dx_seen{};
  int flips = 0;
  for (int64_t pos = 0; pos < 200; ++pos) {
    const Augment a = l.augment_for(0, pos);
    ASSERT_TRUE(a.dy >= 0 && a.dy <= 2 && a.dx >= 0 && a.dx <= 2);
    ++dy_seen[a.dy];
    ++dx_seen[a.dx];
    flips += a.flip;
  }
  for (int k = 0; k < 3; ++k) {
    EXPECT_GT(dy_seen[k], 30);
    EXPECT_GT(dx_seen[k], 30);
  }
  EXPECT_GT(flips, 60);
  EXPECT_LT(flips, 140);
  for (int e = 0; e < 3; ++e) {
    auto b = l.next();
    ASSERT_TRUE(b.has_value());
    EXPECT_FALSE(b->labels.defined());
    l.render(0, l.augment_for(e, 0), out.data());
    EXPECT_EQ(b->inputs.to_f32_vector(), std::vector<float>(out.begin(), out.end()));
    EXPECT_FALSE(l.next().has_value());
  }
}

TEST(DataLoader, RejectsBadOptionsAndInputs) {
  LoaderOptions o;
  o.batch_size = 0;
  expect_error([&] { DataLoader(counting_dataset(4), o); }, {"batch_size must be >= 1"});
  o.batch_size = 2;
  o.std = 0;
  expect_error([&] { DataLoader(counting_dataset(4), o); }, {"std must be > 0"});
  o.std = 1;
  Dataset d = counting_dataset(4);
  d.inputs = d.inputs.reshaped({4, 4});
  expect_error([&] { DataLoader(d, o); }, {"[N,H,W] or [N,C,H,W]"});
  d = counting_dataset(4);
  d.labels = Tensor(DType::i64, {3});
  expect_error([&] { DataLoader(d, o); }, {"labels must be int64 [4]"});
}

TEST(DataLoader, FourDimensionalFloatInputsKeepChannels) {
  Dataset d{Tensor(DType::f32, {2, 2, 1, 2}), Tensor()};
  for (int i = 0; i < 8; ++i) d.inputs.data<float>()[i] = static_cast<float>(i);
  LoaderOptions o;
  o.shuffle = false;
  o.scale = 2.0f;
  o.mean = 1.0f;
  o.std = 0.5f;
  DataLoader l(d, o);
  auto b = l.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->inputs.shape(), (Shape{2, 2, 1, 2}));
  EXPECT_EQ(b->inputs.to_f32_vector(),
            (std::vector<float>{-2, 2, 6, 10, 14, 18, 22, 26}));  // (2x - 1) / 0.5
}

}  // namespace
}  // namespace nnaccel::train
