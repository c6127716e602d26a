#pragma once
// The umbrella header of nnaccel's public API.
#include "nnaccel/dtype.hpp"
#include "nnaccel/error.hpp"
#include "nnaccel/graph.hpp"
#include "nnaccel/npy.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/session.hpp"
#include "nnaccel/tensor.hpp"
#include "nnaccel/train.hpp"
