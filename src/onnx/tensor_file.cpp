// ONNX TensorProto files (.pb), as used by ONNX's backend test data.
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/check.hpp"
#include "nnaccel/onnx_io.hpp"
#include "onnx/proto_tensor.hpp"

namespace nnaccel {

Tensor load_tensor_pb(const std::string& path, std::string* name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open tensor file '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  onnx::TensorProto p;
  if (!p.ParseFromString(ss.str())) fail("'{}' is not an ONNX TensorProto file", path);
  if (name != nullptr) *name = p.name();
  try {
    return tensor_from_proto(p, "");
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
}

void save_tensor_pb(const Tensor& t, const std::string& name, const std::string& path) {
  onnx::TensorProto p;
  p.set_name(name);
  tensor_to_proto(t, &p);
  std::string bytes;
  if (!p.SerializeToString(&bytes)) fail("could not serialize tensor '{}'", name);
  write_file_atomic(path, bytes);
}

}  // namespace nnaccel
