#include "input_files.hpp"

#include <filesystem>

#include "core/check.hpp"
#include "nnaccel/npy.hpp"
#include "nnaccel/onnx_io.hpp"

namespace nnaccel::cli {

Tensor load_input_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail("input file '{}' not found", path);
  if (path.size() >= 4 && path.substr(path.size() - 4) == ".npy") return load_npy(path);
  if (path.size() >= 3 && path.substr(path.size() - 3) == ".pb") return load_tensor_pb(path);
  fail("input file '{}' must end in .npy or .pb", path);
}

void split_name_value(const std::string& spec, const char* flag, const char* what,
                      std::string& name, std::string& value) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) fail("{} '{}' should be NAME={}", flag, spec, what);
  name = spec.substr(0, eq);
  value = spec.substr(eq + 1);
}

}  // namespace nnaccel::cli
