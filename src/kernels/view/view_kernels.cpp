// Ops that only change how a buffer is viewed (Reshape, Flatten, Squeeze, Unsqueeze, Identity):
// the output may take over the input's buffer when the input dies there, and then the kernel
// does nothing; otherwise it copies.
#include <cstring>

#include "kernels/kernel.hpp"

namespace nnaccel {

namespace {

class ViewKernel final : public Kernel {
 public:
  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const Tensor& src = *inputs[0];
    Tensor& dst = outputs[0];
    if (dst.raw() != src.raw()) std::memcpy(dst.raw(), src.raw(), src.nbytes());
  }
  std::string name() const override { return "view (copy unless in place)"; }
  int inplace_input(int output) const override { return output == 0 ? 0 : -1; }
};

std::unique_ptr<Kernel> make_view(KernelRequest& req) {
  if (req.inputs.empty() || req.inputs[0] == nullptr || req.outputs.size() != 1) return nullptr;
  const ValueDesc& in = *req.inputs[0];
  const ValueDesc& out = req.outputs[0];
  if (!in.plain() || !in.known || !out.known || in.dtype != out.dtype) return nullptr;
  if (dtype_storage_bytes(in.dtype, shape_numel(in.shape)) !=
      dtype_storage_bytes(out.dtype, shape_numel(out.shape)))
    return nullptr;
  return std::make_unique<ViewKernel>();
}

}  // namespace

void register_view_kernels(KernelRegistry& r) {
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"})
    r.add({"", op, "view", make_view});
}

}  // namespace nnaccel
