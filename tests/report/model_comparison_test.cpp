// compare_models on the tiny Fashion-MNIST CNN: against itself everything agrees exactly; against
// its dynamic int8 form the weights shrink and the predictions hold; models that do not match are
// errors.
#include "report/model_comparison.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "compress/quantize/quantize_dynamic.hpp"
#include "nnaccel/error.hpp"
#include "nnaccel/npy.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/train.hpp"

namespace nnaccel {
namespace {

namespace fs = std::filesystem;

struct Files {
  std::string model, data;
};

// A data folder per test: ctest runs the tests of this file in parallel processes.
Files tiny_cnn_files() {
  const std::string src = std::string(NNACCEL_SOURCE_DIR) + "/models/";
  const std::string dir = ::testing::TempDir() + "/model_comparison_data_" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  save_npy(load_npy(src + "tiny_cnn_input.npy"), dir + "/inputs.npy");
  save_npy(load_npy(src + "tiny_cnn_labels.npy"), dir + "/labels.npy");
  return {src + "tiny_cnn.onnx", dir};
}

TEST(ModelComparison, AModelAgainstItselfAgreesExactly) {
  Files f = tiny_cnn_files();
  CompareOptions o;
  o.data = {f.data};
  o.batch = 3;
  o.iters = 1;
  ModelComparison r = compare_models(f.model, f.model, o);
  EXPECT_EQ(r.samples, 8);
  EXPECT_EQ(r.batches, 3);  // 3 + 3 + 2
  EXPECT_EQ(r.latency_batch, 3);
  const double want = evaluate_accuracy(load_onnx(f.model), load_labeled_data(f.data, false));
  EXPECT_DOUBLE_EQ(r.a.accuracy, want);
  EXPECT_DOUBLE_EQ(r.b.accuracy, want);
  EXPECT_GE(want, 0.5);
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].output, "logits");
  EXPECT_TRUE(std::isinf(r.outputs[0].agreement.sqnr_db));
  EXPECT_DOUBLE_EQ(r.outputs[0].agreement.cosine, 1.0);
  EXPECT_DOUBLE_EQ(r.outputs[0].agreement.argmax_agreement, 1.0);
  EXPECT_EQ(r.outputs[0].agreement.positions, 8);
  EXPECT_EQ(r.a.file_bytes, fs::file_size(f.model));
  EXPECT_EQ(r.a.weight_bytes, r.b.weight_bytes);
  EXPECT_GT(r.a.median_ms, 0.0);
}

TEST(ModelComparison, DynamicInt8KeepsPredictionsWithAQuarterOfTheWeights) {
  Files f = tiny_cnn_files();
  Model q = load_onnx(f.model);
  quantize_dynamic(q, {});
  const std::string qpath = ::testing::TempDir() + "/model_comparison_dynamic.onnx";
  save_onnx(q, qpath);
  CompareOptions o;
  o.data = {f.data};
  o.iters = 1;
  ModelComparison r = compare_models(f.model, qpath, o);
  EXPECT_LT(r.b.weight_bytes * 3, r.a.weight_bytes);
  EXPECT_LT(r.b.file_bytes, r.a.file_bytes);
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_GT(r.outputs[0].agreement.sqnr_db, 25.0);
  EXPECT_GT(r.outputs[0].agreement.cosine, 0.99);
  EXPECT_GE(r.outputs[0].agreement.argmax_agreement, 7.0 / 8.0);
  EXPECT_NEAR(r.b.accuracy, r.a.accuracy, 1.0 / 8.0 + 1e-9);
}

TEST(ModelComparison, ModelsThatDoNotMatchAreErrors) {
  Files f = tiny_cnn_files();
  CompareOptions o;
  o.data = {f.data};
  EXPECT_THROW(compare_models(f.model, f.data + "/absent.onnx", o), Error);
  o.iters = 0;
  EXPECT_THROW(compare_models(f.model, f.model, o), Error);
  o.iters = 1;
  o.data = {f.data + "/absent"};
  EXPECT_THROW(compare_models(f.model, f.model, o), Error);
}

}  // namespace
}  // namespace nnaccel
