#pragma once
// Resize's sampling pattern, computed once from the node and the shapes: for every output
// coordinate along every axis, the input indices and weights it reads. The reference kernel and
// the fast kernel (src/kernels/data) both sample with these taps, so they cannot disagree about
// coordinate transforms, rounding or edge handling.
#include <vector>

#include "nnaccel/graph.hpp"

namespace nnaccel {

struct ResizeAxisTaps {
  int taps = 1;                 // taps per output coordinate (1 nearest, 2 linear, 4 cubic)
  std::vector<int64_t> index;   // [out_len * taps]; unused taps repeat a used index, weight 0
  std::vector<float> weight;    // [out_len * taps]
};

struct ResizeTaps {
  Shape out;
  bool nearest = true;
  std::vector<ResizeAxisTaps> axes;  // one per axis
};

// Throws Error naming the node on bad attributes or inputs. Returns false for what the taps
// cannot express (tf_crop_and_resize, which extrapolates outside the input).
bool resize_taps(const Node& node, const Shape& in, const Tensor* roi, const Tensor* scales,
                 const Tensor* sizes, ResizeTaps& result);

}  // namespace nnaccel
