// optimize() over ONNX's backend test models (pytorch-converted, pytorch-operator, node,
// simple): outputs before and after agree with the test data's expected outputs, with the
// standard-only optimizer and with the fusing one (run by the reference interpreter).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "ir/passes/passes.hpp"
#include "nnaccel/error.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/session.hpp"

namespace nnaccel {
namespace {

namespace fs = std::filesystem;

const char* kDirs[] = {"/usr/share/libonnx-testdata/data/pytorch-converted",
                       "/usr/share/libonnx-testdata/data/pytorch-operator",
                       "/usr/share/libonnx-testdata/data/node",
                       "/usr/share/libonnx-testdata/data/simple"};

std::vector<std::string> pb_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, std::string>> v;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string f = e.path().filename().string();
    if (f.rfind(prefix, 0) == 0 && f.size() > 3 && f.substr(f.size() - 3) == ".pb")
      v.emplace_back(std::atoi(f.c_str() + prefix.size()), e.path().string());
  }
  std::sort(v.begin(), v.end());
  std::vector<std::string> r;
  for (auto& p : v) r.push_back(p.second);
  return r;
}

// "" when all outputs match the expected ones (ONNX's tolerance: rtol 1e-3, atol 1e-7).
std::string run_and_compare(const Model& m, const fs::path& data) {
  Session s(m, SessionOptions{.fast = false});
  std::map<std::string, Tensor> feeds;
  std::vector<std::string> ins = pb_files(data, "input_");
  for (size_t i = 0; i < ins.size() && i < s.inputs().size(); ++i)
    feeds[s.inputs()[i].name] = load_tensor_pb(ins[i]);
  std::vector<Tensor> outs = s.run(feeds);
  std::vector<std::string> exp = pb_files(data, "output_");
  if (exp.size() != outs.size()) return "output count differs";
  for (size_t i = 0; i < outs.size(); ++i) {
    Tensor e = load_tensor_pb(exp[i]);
    if (e.dtype() != outs[i].dtype() || e.shape() != outs[i].shape())
      return "output " + std::to_string(i) + " dtype or shape differs";
    for (int64_t k = 0; k < e.numel(); ++k) {
      double a = outs[i].at_f64(k), x = e.at_f64(k);
      if (std::isnan(a) && std::isnan(x)) continue;
      if (!(std::fabs(a - x) <= 1e-7 + 1e-3 * std::fabs(x)))
        return "output " + std::to_string(i) + " differs at " + std::to_string(k);
    }
  }
  return "";
}

TEST(PassOptimizeConformance, BackendTestModelsKeepTheirOutputs) {
  if (!fs::exists(kDirs[0])) GTEST_SKIP() << kDirs[0] << " not installed";
  int checked = 0, skipped = 0, changed = 0, fused = 0;
  std::vector<fs::path> cases;
  for (const char* dir : kDirs)
    if (fs::exists(dir))
      for (const auto& e : fs::directory_iterator(dir)) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  for (const fs::path& c : cases) {
    fs::path data = c / "test_data_set_0";
    if (!fs::exists(c / "model.onnx") || !fs::exists(data)) continue;
    Model m;
    try {
      m = load_onnx((c / "model.onnx").string());
      if (!run_and_compare(m, data).empty()) {
        ++skipped;  // fails without optimization: not this test's business
        continue;
      }
    } catch (const Error&) {
      ++skipped;
      continue;
    }
    for (bool fuse : {false, true}) {
      Model opt = m;
      try {
        optimize(opt, OptimizeOptions{.fuse = fuse});
        if (!fuse && (opt.graph.nodes.size() != m.graph.nodes.size() ||
                      opt.graph.initializers.size() != m.graph.initializers.size()))
          ++changed;
        bool has_fused = false;
        for (const Node& n : opt.graph.nodes) {
          EXPECT_TRUE(fuse || n.domain.empty()) << c.filename() << ": " << n.op_type;
          has_fused = has_fused || n.domain == "ai.nnaccel";
        }
        fused += has_fused;
        std::string diff = run_and_compare(opt, data);
        EXPECT_EQ(diff, "") << c.filename() << (fuse ? " (fused)" : "");
      } catch (const Error& e) {
        ADD_FAILURE() << c.filename() << (fuse ? " (fused): " : ": ") << e.what();
      }
    }
    ++checked;
  }
  EXPECT_GE(checked, 900) << skipped << " skipped";
  // Constant nodes (e.g. Reshape targets) and Identity/Transpose chains are common in exports.
  EXPECT_GT(changed, 0);
  // The pytorch-converted models hold Conv+ReLU, Linear+ReLU...
  EXPECT_GT(fused, 20);
  std::printf("%d models checked (%d rewritten, %d with fused ops), %d skipped\n", checked, changed,
              fused, skipped);
}

}  // namespace
}  // namespace nnaccel
