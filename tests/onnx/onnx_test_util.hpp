#pragma once
// Helpers for the ONNX import/export tests: conformance folders, and validation of our exported
// models with ONNX's own checker and shape inference.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "nnaccel/onnx_io.hpp"

namespace nnaccel::testing {

inline const char* kTestDataRoot = "/usr/share/libonnx-testdata/data";

// Every folder holding a model.onnx below `dir` (sorted).
inline std::vector<std::filesystem::path> conformance_cases(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (fs::exists(e.path() / "model.onnx", ec)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

inline onnx::ModelProto parse_model(const std::string& bytes) {
  onnx::ModelProto p;
  if (!p.ParseFromString(bytes)) throw Error("exported bytes do not parse");
  return p;
}

// Runs ONNX's checker and strict shape inference (with data propagation) on a serialized model;
// returns "" or the error. Shape inference merges with the declared output shapes, so a rewrite
// that changes an output's shape is caught here.
inline std::string onnx_validate(const std::string& bytes) {
  try {
    onnx::ModelProto p = parse_model(bytes);
    onnx::checker::check_model(p);
    onnx::ShapeInferenceOptions opts(/*check_type=*/true, /*error_mode=*/1, /*data_prop=*/true);
    onnx::shape_inference::InferShapes(p, onnx::OpSchemaRegistry::Instance(), opts);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace nnaccel::testing
