#pragma once
// QuantizeLinear writing, and DequantizeLinear reading, the channels-last integer layout of the
// oneDNN int8 kernels (kernels/dnnl/dnnl_int8.hpp), converting layout and numbers in one pass
// (quant_layout_impl.cpp). Called first by quant_kernels.cpp's factories; null when the case is not
// theirs (the plain kernels then take it).
#include <memory>

#include "kernels/kernel.hpp"

namespace nnaccel::simd {

// x plain or channel-blocked f32 (rank 3 to 5), one scale or one per channel (axis 1), and every
// reader of the u8/i8 output `out` takes channels-last: writes it channels-last.
std::unique_ptr<Kernel> make_quantize_channels_last(KernelRequest& r, DType out);

// x channels-last u8/i8, one scale or one per channel: writes f32 channel-blocked when every reader
// takes that (dnnl_common's consumers_take_blocked) and there is more than one pixel, else plain.
std::unique_ptr<Kernel> make_dequantize_channels_last(KernelRequest& r);

}  // namespace nnaccel::simd
