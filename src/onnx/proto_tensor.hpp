#pragma once
// Conversion between onnx::TensorProto and Tensor. Sizes are checked against the bytes present
// before anything is allocated; external data is read only from inside the model's folder.
#include <onnx/onnx_pb.h>

#include <string>

#include "nnaccel/tensor.hpp"

namespace nnaccel {

// base_dir: folder of the model file, for external data ("" forbids external data).
Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir);
void tensor_to_proto(const Tensor& t, onnx::TensorProto* p);

}  // namespace nnaccel
