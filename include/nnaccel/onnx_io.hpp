#pragma once
// Reading and writing ONNX files. Import validates everything that depends on the file's bytes and
// throws Error naming the problem; it upgrades legacy opsets to kCanonicalOpset.
#include <cstdint>
#include <string>

#include "nnaccel/graph.hpp"

namespace nnaccel {

struct LoadOptions {
  int max_subgraph_depth = 16;  // If/Loop/Scan nesting allowed
  // Constant nodes whose value holds more than this many elements become initializers.
  int64_t lift_constants_above = 0;
};

Model load_onnx(const std::string& path, const LoadOptions& options = {});
Model load_onnx_bytes(const std::string& bytes, const std::string& base_dir,
                      const LoadOptions& options = {});

struct SaveOptions {
  // Tensors at least this large go to an external data file next to the model when the whole
  // model would not fit in protobuf's 2 GB limit (or always, if force_external_data).
  int64_t external_threshold_bytes = 1024;
  bool force_external_data = false;
};

// Writes atomically (temporary file, flush, rename). The model is written at kCanonicalOpset.
void save_onnx(const Model& model, const std::string& path, const SaveOptions& options = {});
std::string serialize_onnx(const Model& model);  // in-memory, no external data

// Reads an ONNX TensorProto (.pb) file, as in ONNX's backend test data.
Tensor load_tensor_pb(const std::string& path, std::string* name = nullptr);
void save_tensor_pb(const Tensor& t, const std::string& name, const std::string& path);

}  // namespace nnaccel
