#include "runtime/work_estimate.hpp"

namespace nnaccel {

namespace {

double numel(const ValueDesc* d) {
  if (d == nullptr || !d->known) return 0;
  double n = 1;
  for (int64_t s : d->shape) n *= static_cast<double>(s);
  return n;
}

}  // namespace

double estimate_work(const Node& node, const std::vector<const ValueDesc*>& inputs,
                     const std::vector<ValueDesc>& outputs) {
  const std::string& op = node.op_type;
  const double out = outputs.empty() ? 0 : numel(&outputs[0]);
  auto in_shape = [&](size_t i) -> const Shape* {
    return i < inputs.size() && inputs[i] != nullptr && inputs[i]->known ? &inputs[i]->shape
                                                                         : nullptr;
  };
  // The integer forms count like their float ones (QConv and QLinearConv take the weights as
  // input 3; ConvInteger as input 1): counted as data movement they ran on one thread and lost
  // half the speed at batch 1 (MobileNetV2's 14x14 and 7x7 layers).
  const bool int_conv = op == "QConv" || op == "QLinearConv";
  if (op == "Conv" || op == "FusedConv" || op == "ConvTranspose" || op == "ConvInteger" ||
      int_conv) {
    const Shape* w = in_shape(int_conv ? 3 : 1);
    const Shape* x = in_shape(0);
    if (w == nullptr || x == nullptr || w->size() < 2) return 0;
    double per_out = 1;  // multiply-adds per output element: C_in/group * kernel volume
    for (size_t i = 1; i < w->size(); ++i) per_out *= static_cast<double>((*w)[i]);
    if (op == "ConvTranspose") return 2.0 * numel(inputs[0]) * per_out;
    return 2.0 * out * per_out;
  }
  if (op == "MatMul" || op == "FusedMatMul" || op == "Gemm" || op == "FusedGemm" ||
      op == "MatMulInteger" || op == "QLinearMatMul" || op == "QMatMul") {
    const Shape* a = in_shape(0);
    if (a == nullptr || a->empty()) return 0;
    int64_t k = a->back();
    if ((op == "Gemm" || op == "FusedGemm") && node.attr_int("transA", 0) && a->size() == 2)
      k = (*a)[0];
    return 2.0 * out * static_cast<double>(k);
  }
  if (op == "LSTM" || op == "GRU" || op == "RNN") {
    const Shape* x = in_shape(0);
    const Shape* w = in_shape(1);
    const Shape* r = in_shape(2);
    if (x == nullptr || w == nullptr || r == nullptr || x->size() != 3 || w->size() != 3)
      return 0;
    const double steps = static_cast<double>((*x)[0]) * static_cast<double>((*x)[1]);
    return 2.0 * steps * static_cast<double>((*w)[1]) *
           static_cast<double>((*w)[2] + (*r)[2]) * static_cast<double>((*w)[0]);
  }
  // Everything else touches each element a few times.
  double touched = out;
  for (const ValueDesc* d : inputs) touched += numel(d);
  return 4.0 * touched;
}

}  // namespace nnaccel
