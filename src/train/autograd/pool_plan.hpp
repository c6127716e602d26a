#pragma once
// The windows of a pool (MaxPool, AveragePool) resolved once for every output position, so the
// forward and backward loops run plane by plane over contiguous memory (and in parallel over
// planes) instead of rebuilding each window for every plane.
#include <vector>

#include "ops/nn_common.hpp"

namespace nnaccel::grad {

struct PoolPlan {
  int64_t planes = 0, in_size = 0, out_size = 0;
  Shape out_shape;
  // Output position o reads input offsets taps[begin[o] .. begin[o + 1]) of its plane.
  std::vector<int64_t> begin, taps;
  std::vector<double> divisor;  // AveragePool: what the window's sum is divided by
};

// Throws Error naming the node on bad attributes or input rank.
PoolPlan make_pool_plan(const Node& node, const Shape& x);

}  // namespace nnaccel::grad
