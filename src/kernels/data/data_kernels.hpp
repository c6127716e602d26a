#pragma once
#include <memory>

#include "kernels/kernel.hpp"

namespace nnaccel {

// Plain inputs of one dtype; or channel-blocked inputs of one block size concatenated on axis 1
// when every input's channel count is a multiple of the block (the output is then blocked too).
std::unique_ptr<Kernel> make_concat_kernel(KernelRequest& request);
// Plain input, constant starts/ends/axes/steps.
std::unique_ptr<Kernel> make_slice_kernel(KernelRequest& request);
// Plain f32 input, constant scales/sizes, nearest or linear (cubic too) on the trailing two axes.
std::unique_ptr<Kernel> make_resize_kernel(KernelRequest& request);

}  // namespace nnaccel
