#pragma once
// How much arithmetic a node does, roughly, for deciding whether it is worth more than one
// thread: a parallel region costs microseconds on an idle machine, and on a busy one a thread of
// the region may wait a whole scheduler slice for its partner. Small nodes run on one thread.
#include <vector>

#include "kernels/kernel.hpp"

namespace nnaccel {

// Floating-point operations (or element touches for data movement) of `node` with these input
// and output descriptions; 0 when unknown.
double estimate_work(const Node& node, const std::vector<const ValueDesc*>& inputs,
                     const std::vector<ValueDesc>& outputs);

// Below this much work a node runs on one thread.
inline constexpr double kSerialWork = 2.0e6;

}  // namespace nnaccel
