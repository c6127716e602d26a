#include "kernels/dnnl/dnnl_factories.hpp"
#include "kernels/kernel.hpp"

namespace nnaccel {

void register_dnnl_kernels(KernelRegistry& r) {
  using namespace dnnl_kernels;
  r.add({"", "Conv", "dnnl", make_dnnl_conv});
  r.add({"ai.nnaccel", "FusedConv", "dnnl", make_dnnl_conv});
  r.add({"", "ConvTranspose", "dnnl", make_dnnl_conv_transpose});
  r.add({"", "MatMul", "dnnl", make_dnnl_matmul});
  r.add({"ai.nnaccel", "FusedMatMul", "dnnl", make_dnnl_matmul});
  r.add({"", "Gemm", "dnnl", make_dnnl_gemm});
  r.add({"ai.nnaccel", "FusedGemm", "dnnl", make_dnnl_gemm});
  for (const char* op : {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"})
    r.add({"", op, "dnnl", make_dnnl_pool});
  r.add({"ai.nnaccel", "QConv", "dnnl", make_dnnl_qconv});
  r.add({"", "QLinearConv", "dnnl", make_dnnl_qconv});
  r.add({"", "ConvInteger", "dnnl", make_dnnl_qconv});
  r.add({"ai.nnaccel", "QMatMul", "dnnl", make_dnnl_qmatmul});
  r.add({"", "QLinearMatMul", "dnnl", make_dnnl_qmatmul});
  r.add({"", "MatMulInteger", "dnnl", make_dnnl_qmatmul});
}

}  // namespace nnaccel
