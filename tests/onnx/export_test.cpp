// Export: import -> export -> import is lossless, ONNX's checker accepts what we write, and
// external data files are written and read back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "nnaccel/error.hpp"
#include "onnx/graph_compare.hpp"
#include "onnx/onnx_test_util.hpp"

namespace nnaccel {
namespace {

namespace fs = std::filesystem;
using testing::conformance_cases;
using testing::diff_model;
using testing::kTestDataRoot;
using testing::onnx_validate;

// Models whose graph inputs or outputs are sequences/optionals lose those types (TypeInfo holds
// tensor types only), so they cannot round-trip; they are counted and reported, not failed.
bool has_non_tensor_io(const Model& m) {
  for (const auto* list : {&m.graph.inputs, &m.graph.outputs})
    for (const ValueInfo& v : *list)
      if (v.type.dtype == DType::undefined) return true;
  return false;
}

void round_trip_folder(const std::string& folder) {
  std::vector<std::string> failures;
  int checked = 0, skipped = 0;
  for (const auto& dir : conformance_cases(std::string(kTestDataRoot) + "/" + folder)) {
    Model m1;
    try {
      m1 = load_onnx((dir / "model.onnx").string());
    } catch (const Error&) {
      continue;  // models nnaccel cannot load are the bad-input tests' business
    }
    if (has_non_tensor_io(m1)) {
      ++skipped;
      continue;
    }
    ++checked;
    std::string name = dir.filename().string();
    std::string bytes = serialize_onnx(m1);
    Model m2;
    try {
      m2 = load_onnx_bytes(bytes, "");
    } catch (const Error& e) {
      failures.push_back(name + ": reload: " + e.what());
      continue;
    }
    std::string d = diff_model(m1, m2);
    if (!d.empty()) failures.push_back(name + ": " + d);
    std::string err = onnx_validate(bytes);
    if (!err.empty()) failures.push_back(name + ": onnx: " + err);
    // A second export of the reloaded model is byte-identical: export is deterministic.
    if (serialize_onnx(m2) != bytes) failures.push_back(name + ": second export differs");
  }
  if (checked == 0) GTEST_SKIP() << "no conformance data in " << folder;
  std::printf("%s: %d models round-tripped, %d skipped\n", folder.c_str(), checked, skipped);
  std::string all;
  for (const auto& f : failures) all += f + "\n";
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << checked << " failed (" << skipped
                                << " with non-tensor inputs/outputs skipped):\n"
                                << all;
}

TEST(ExportRoundTrip, NodeConformanceModels) { round_trip_folder("node"); }
TEST(ExportRoundTrip, PytorchOperatorModels) { round_trip_folder("pytorch-operator"); }
TEST(ExportRoundTrip, PytorchConvertedModels) { round_trip_folder("pytorch-converted"); }
TEST(ExportRoundTrip, SimpleModels) { round_trip_folder("simple"); }

class ExportFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nnaccel_export_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  fs::path dir_;
};

// A weight above the external-data threshold, a small initializer below it, and a Constant's
// tensor above it (load these with keep_constants(), or the importer lifts the Constant).
LoadOptions keep_constants() {
  LoadOptions o;
  o.lift_constants_above = INT64_MAX;
  return o;
}

Model weights_model() {
  Model m;
  m.opsets[""] = kCanonicalOpset;
  m.producer_name = "test";
  m.graph.name = "g";
  m.graph.inputs = {ValueInfo{"x", TypeInfo::of(DType::f32, {1000}), ""}};
  m.graph.outputs = {ValueInfo{"y", TypeInfo::of(DType::f32, {1000}), ""}};
  Tensor w(DType::f32, {1000});
  for (int i = 0; i < 1000; ++i) w.data<float>()[i] = 0.5f * static_cast<float>(i);
  m.graph.initializers["w"] = w;
  m.graph.initializers["small"] = Tensor::from_f32({2}, {1, 2});
  Node add;
  add.op_type = "Add";
  add.name = "add";
  add.inputs = {"x", "w"};
  add.outputs = {"y"};
  m.graph.nodes.push_back(add);
  Node c;  // a Constant whose tensor is large enough to go external too
  c.op_type = "Constant";
  c.name = "c";
  c.outputs = {"s"};
  Attribute t;
  t.name = "value";
  t.kind = Attribute::Kind::t;
  t.t = Tensor(DType::i64, {300});
  for (int i = 0; i < 300; ++i) t.t.data<int64_t>()[i] = i * 7;
  c.attrs.push_back(t);
  m.graph.nodes.push_back(c);
  m.graph.outputs.push_back(ValueInfo{"s", TypeInfo::of(DType::i64, {300}), ""});
  return m;
}

TEST_F(ExportFiles, ForcedExternalDataIsWrittenAndReadBack) {
  Model m = weights_model();
  std::string path = (dir_ / "model.onnx").string();
  SaveOptions opts;
  opts.force_external_data = true;
  opts.external_threshold_bytes = 1024;
  save_onnx(m, path, opts);
  EXPECT_EQ(files(), (std::vector<std::string>{"model.onnx", "model.onnx.data"}));

  // The big tensors are external, the small one inline.
  onnx::ModelProto p;
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(p.ParseFromIstream(&in));
  for (const auto& t : p.graph().initializer()) {
    bool external = t.data_location() == onnx::TensorProto::EXTERNAL;
    EXPECT_EQ(external, t.name() == "w") << t.name();
  }
  EXPECT_EQ(p.graph().node(1).attribute(0).t().data_location(), onnx::TensorProto::EXTERNAL);
  // w (4000 bytes) at 0, the attribute tensor (2400 bytes) at the next 4 KiB boundary.
  EXPECT_EQ(fs::file_size(dir_ / "model.onnx.data"), 4096u + 2400u);

  Model back = load_onnx(path, keep_constants());
  EXPECT_EQ(diff_model(m, back), "");
  EXPECT_NO_THROW(onnx::checker::check_model(path));  // (the path form finds the data file)

  // Moving the folder keeps the model loadable: the location is relative.
  fs::path moved = dir_ / "moved";
  fs::create_directories(moved);
  fs::rename(dir_ / "model.onnx", moved / "model.onnx");
  fs::rename(dir_ / "model.onnx.data", moved / "model.onnx.data");
  EXPECT_EQ(diff_model(m, load_onnx((moved / "model.onnx").string(), keep_constants())), "");
}

TEST_F(ExportFiles, SmallModelsStayInOneFile) {
  Model m = weights_model();
  std::string path = (dir_ / "m.onnx").string();
  save_onnx(m, path);
  EXPECT_EQ(files(), (std::vector<std::string>{"m.onnx"}));
  EXPECT_EQ(diff_model(m, load_onnx(path, keep_constants())), "");
  // Overwriting an existing file works and leaves no temporary behind.
  save_onnx(m, path);
  EXPECT_EQ(files(), (std::vector<std::string>{"m.onnx"}));
}

TEST_F(ExportFiles, UnwritableFolderIsAnErrorAndLeavesNothing) {
  Model m = weights_model();
  EXPECT_THROW(save_onnx(m, (dir_ / "no" / "such" / "m.onnx").string()), Error);
  EXPECT_TRUE(files().empty());
}

TEST_F(ExportFiles, ExportWritesTheCanonicalOpsetAndKeepsOtherDomains) {
  Model m = weights_model();
  m.opsets["com.microsoft"] = 1;
  m.opsets.erase("");
  std::string bytes = serialize_onnx(m);
  onnx::ModelProto p = testing::parse_model(bytes);
  std::map<std::string, int64_t> opsets;
  for (const auto& o : p.opset_import()) opsets[o.domain()] = o.version();
  EXPECT_EQ(opsets, (std::map<std::string, int64_t>{{"", kCanonicalOpset}, {"com.microsoft", 1}}));
  EXPECT_GE(p.ir_version(), 8);
}

TEST_F(ExportFiles, TensorFilesRoundTrip) {
  Tensor t(DType::f16, {2, 3});
  for (int i = 0; i < 6; ++i) t.data<uint16_t>()[i] = static_cast<uint16_t>(0x3c00 + i);
  std::string path = (dir_ / "t.pb").string();
  save_tensor_pb(t, "weights", path);
  std::string name;
  Tensor back = load_tensor_pb(path, &name);
  EXPECT_EQ(name, "weights");
  EXPECT_EQ(testing::diff_tensor(t, back, "t"), "");
}

}  // namespace
}  // namespace nnaccel
