// ONNX TensorProto files (.pb), as used by ONNX's backend test data.
#include <google/protobuf/stubs/logging.h>
#include <onnx/onnx_pb.h>

#include <climits>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.hpp"
#include "core/check.hpp"
#include "nnaccel/onnx_io.hpp"
#include "onnx/proto_tensor.hpp"

namespace nnaccel {

Tensor load_tensor_pb(const std::string& path, std::string* name) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail("cannot open tensor file '{}'", path);
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) fail("cannot open tensor file '{}'", path);
  if (size >= static_cast<uintmax_t>(INT32_MAX))
    fail("'{}' is over protobuf's 2 GB limit for a TensorProto file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open tensor file '{}'", path);
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size) fail("could not read '{}'", path);
  onnx::TensorProto p;
  {
    google::protobuf::LogSilencer quiet;
    if (!p.ParseFromString(bytes)) fail("'{}' is not an ONNX TensorProto file", path);
  }
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
