#include "train/autograd/grad_conv_dnnl.hpp"

namespace nnaccel::grad {

bool conv_backward_dnnl(const Tensor&, const Tensor&, const Tensor&, int64_t, const nn::Window&,
                        Tensor*, Tensor*) {
  return false;
}

}  // namespace nnaccel::grad
