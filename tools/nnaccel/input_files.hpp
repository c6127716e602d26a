#pragma once
// Loading model inputs from files, shared by `run` and `bench`.
#include <string>

#include "nnaccel/tensor.hpp"

namespace nnaccel::cli {

// A tensor from a .npy file or an ONNX TensorProto .pb file; Error if missing
// or another kind.
Tensor load_input_file(const std::string& path);

// Splits "NAME=VALUE" (the flag names the option in the error).
void split_name_value(const std::string& spec, const char* flag, const char* what,
                      std::string& name, std::string& value);

}  // namespace nnaccel::cli
