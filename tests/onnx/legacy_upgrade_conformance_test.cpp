// The legacy upgrade on every ONNX conformance model of an older opset: it must load, and the
// upgraded model must pass ONNX's checker and strict shape inference at the canonical opset
// (which also checks the rewritten graph against the outputs' declared shapes).
#include <gtest/gtest.h>

#include <fstream>

#include "nnaccel/error.hpp"
#include "onnx/onnx_test_util.hpp"

namespace nnaccel {
namespace {

using testing::conformance_cases;
using testing::kTestDataRoot;
using testing::onnx_validate;

onnx::ModelProto read_proto(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto p;
  if (!p.ParseFromIstream(&in)) throw Error("cannot parse " + path);
  return p;
}

int64_t file_opset(const onnx::ModelProto& p) {
  for (const auto& o : p.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  return -1;
}

// Sequences, optionals and maps: nnaccel's TypeInfo holds tensor types only, so such models do
// not survive export (their graph inputs/outputs lose the type).
bool has_non_tensor_types(const onnx::GraphProto& g) {
  for (const auto* list : {&g.input(), &g.output(), &g.value_info()})
    for (const auto& v : *list)
      if (v.has_type() && !v.type().has_tensor_type()) return true;
  for (const auto& n : g.node())
    for (const auto& a : n.attribute()) {
      if (a.has_g() && has_non_tensor_types(a.g())) return true;
      for (const auto& sg : a.graphs())
        if (has_non_tensor_types(sg)) return true;
      if (a.type() == onnx::AttributeProto::TYPE_PROTO) return true;
    }
  return false;
}

// Loads that fail for reasons unrelated to the upgrade (types nnaccel does not hold).
bool unsupported_elsewhere(const std::string& msg) {
  return msg.find("string tensors") != std::string::npos;
}

void check_folder(const std::string& folder, bool legacy_only) {
  std::vector<std::string> failures;
  int checked = 0;
  for (const auto& dir : conformance_cases(std::string(kTestDataRoot) + "/" + folder)) {
    std::string path = (dir / "model.onnx").string();
    onnx::ModelProto proto = read_proto(path);
    int64_t opset = file_opset(proto);
    if (legacy_only && (opset < 0 || opset >= kCanonicalOpset)) continue;
    if (has_non_tensor_types(proto.graph())) continue;
    Model m;
    try {
      m = load_onnx(path);
    } catch (const Error& e) {
      if (!unsupported_elsewhere(e.what()))
        failures.push_back(dir.filename().string() + ": load: " + e.what());
      continue;
    }
    ++checked;
    EXPECT_EQ(m.opsets[""], kCanonicalOpset);
    std::string err = onnx_validate(serialize_onnx(m));
    if (!err.empty()) failures.push_back(dir.filename().string() + ": onnx check: " + err);
  }
  if (checked == 0) GTEST_SKIP() << "no conformance data in " << folder;
  std::string all;
  for (const auto& f : failures) all += f + "\n";
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << checked << " failed:\n" << all;
}

TEST(LegacyUpgradeConformance, PytorchOperator) { check_folder("pytorch-operator", false); }
TEST(LegacyUpgradeConformance, PytorchConverted) { check_folder("pytorch-converted", false); }
TEST(LegacyUpgradeConformance, NodeCasesOfOlderOpsets) { check_folder("node", true); }

}  // namespace
}  // namespace nnaccel
