#pragma once
// If on the fast path: both branches compiled into plans of their own at compile time (the values
// a branch reads from the enclosing graph become its inputs, or its initializers when constant),
// so a model whose whole body sits inside an If (Silero VAD) runs on fast kernels too.
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel.hpp"

namespace nnaccel {

struct OuterValue {
  std::string name;
  ValueDesc desc;        // plain
  const Tensor* constant;  // the value when it is a constant, else null
};

// Kernel inputs: cond, then the non-constant outer values in `outer` order. Allocates its outputs.
// Returns null when a branch cannot be compiled ahead (an outer value of unknown shape).
std::unique_ptr<Kernel> make_if_kernel(const Node& node, const Model& parent,
                                       const std::vector<OuterValue>& outer,
                                       const CompileOptions& options);

}  // namespace nnaccel
