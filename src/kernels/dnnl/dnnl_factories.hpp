#pragma once
// The oneDNN-backed kernel factories (registered in dnnl_kernels.cpp). Each returns nullptr for
// a case it does not handle, so the next factory or the reference kernel runs it.
#include <memory>

#include "kernels/kernel.hpp"

namespace nnaccel::dnnl_kernels {

// Conv and ai.nnaccel FusedConv (X, W, B, Z: bias, residual added before the activation).
std::unique_ptr<Kernel> make_dnnl_conv(KernelRequest& request);
std::unique_ptr<Kernel> make_dnnl_conv_transpose(KernelRequest& request);
// MatMul and ai.nnaccel FusedMatMul (A, B, bias [N]).
std::unique_ptr<Kernel> make_dnnl_matmul(KernelRequest& request);
// Gemm and ai.nnaccel FusedGemm.
std::unique_ptr<Kernel> make_dnnl_gemm(KernelRequest& request);
// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool (f32; MaxPool also u8/i8).
std::unique_ptr<Kernel> make_dnnl_pool(KernelRequest& request);
// ai.nnaccel QConv, QLinearConv, ConvInteger (s8 weights with zero point 0, constant qparams).
std::unique_ptr<Kernel> make_dnnl_qconv(KernelRequest& request);
// ai.nnaccel QMatMul, QLinearMatMul, MatMulInteger (constant s8 [K, N] weights).
std::unique_ptr<Kernel> make_dnnl_qmatmul(KernelRequest& request);

}  // namespace nnaccel::dnnl_kernels
