// Gradient rules of NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (scores [N, C, d...],
// integer targets [N, d...], optional class weights [C]). Each target position contributes
// coef = weight[target] * dloss (divided by the summed weights for mean) to
//   NLL: d input[n, target, d] = -coef
//   SCE: d scores[n, k, d] = coef * (softmax[n, k, d] - [k == target])
// plus, for SCE, what reaches its optional log_prob output: dlp - softmax * sum_k dlp.
#include <cmath>

#include "train/autograd/grad_util.hpp"

namespace nnaccel {

namespace {

using namespace grad;

int64_t target_at(const Tensor& t, int64_t e) {
  return t.dtype() == DType::i64 ? t.data<int64_t>()[e] : t.data<int32_t>()[e];
}

void loss_rule(GradContext& c, bool softmax_first) {
  if (wants(c, 2)) rule_fail(c.node, "no gradient for the class weights");
  if (!wants(c, 0)) return;
  const Tensor& x = input(c, 0);
  const Tensor& target = input(c, 1);
  const Tensor* weight = c.inputs.size() > 2 ? c.inputs[2] : nullptr;
  if (x.rank() < 2 || target.numel() * x.dim(1) != x.numel())
    rule_fail(c.node, "scores {} and target {} do not match", shape_str(x.shape()),
              shape_str(target.shape()));
  if (target.dtype() != DType::i64 && target.dtype() != DType::i32)
    rule_fail(c.node, "target must be int32 or int64");
  const std::string reduction = c.node.attr_string("reduction", "mean");
  const bool has_ignore = c.node.attr("ignore_index") != nullptr;
  const int64_t ignore = c.node.attr_int("ignore_index", 0);
  const int64_t n = x.dim(0), classes = x.dim(1), d = x.numel() / std::max<int64_t>(1, n * classes);
  auto class_weight = [&](int64_t cls) { return weight != nullptr ? weight->at_f64(cls) : 1.0; };

  // coef per target position.
  std::vector<double> coef(static_cast<size_t>(target.numel()), 0.0);
  const bool has_loss_grad = !c.grad_outputs.empty() && c.grad_outputs[0] != nullptr;
  if (has_loss_grad) {
    const Tensor& dl = *c.grad_outputs[0];
    double weight_sum = 0;
    for (int64_t e = 0; e < target.numel(); ++e) {
      const int64_t cls = target_at(target, e);
      if (has_ignore && cls == ignore) continue;
      if (cls < 0 || cls >= classes)
        rule_fail(c.node, "target {} at position {} is out of range [0, {})", cls, e, classes);
      weight_sum += class_weight(cls);
    }
    for (int64_t e = 0; e < target.numel(); ++e) {
      const int64_t cls = target_at(target, e);
      if (has_ignore && cls == ignore) continue;
      double g;
      if (reduction == "none") {
        g = dl.at_f64(e);
      } else if (reduction == "sum") {
        g = dl.at_f64(0);
      } else if (reduction == "mean") {
        g = dl.at_f64(0) / weight_sum;
      } else {
        rule_fail(c.node, "reduction '{}' is not one of none, sum, mean", reduction);
      }
      coef[static_cast<size_t>(e)] = g * class_weight(cls);
    }
  }
  const Tensor* dlp = c.grad_outputs.size() > 1 ? c.grad_outputs[1] : nullptr;
  Tensor dx(x.dtype(), x.shape());
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    T* g = dx.data<T>();
    std::vector<double> p(static_cast<size_t>(classes));
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < d; ++i) {
        const int64_t e = b * d + i;
        const int64_t base = b * classes * d + i;
        const double ce = coef[static_cast<size_t>(e)];
        if (!softmax_first) {
          if (ce != 0) g[base + target_at(target, e) * d] = static_cast<T>(-ce);
          continue;
        }
        double max = xd[base];
        for (int64_t k = 1; k < classes; ++k)
          max = std::max(max, static_cast<double>(xd[base + k * d]));
        double sum = 0;
        for (int64_t k = 0; k < classes; ++k) {
          p[static_cast<size_t>(k)] = std::exp(static_cast<double>(xd[base + k * d]) - max);
          sum += p[static_cast<size_t>(k)];
        }
        for (double& v : p) v /= sum;
        double lp_sum = 0;
        if (dlp != nullptr)
          for (int64_t k = 0; k < classes; ++k)
            lp_sum += static_cast<double>(dlp->data<T>()[base + k * d]);
        const int64_t cls = ce != 0 ? target_at(target, e) : -1;
        for (int64_t k = 0; k < classes; ++k) {
          const double pk = p[static_cast<size_t>(k)];
          double v = ce * (pk - (k == cls ? 1.0 : 0.0));
          if (dlp != nullptr) v += static_cast<double>(dlp->data<T>()[base + k * d]) - pk * lp_sum;
          g[base + k * d] = static_cast<T>(v);
        }
      }
  });
  c.grad_inputs[0] = dx;
}

void grad_nll(GradContext& c) { loss_rule(c, false); }
void grad_softmax_cross_entropy(GradContext& c) { loss_rule(c, true); }

}  // namespace

void register_loss_grads(GradRegistry& r) {
  r.add("", "NegativeLogLikelihoodLoss", grad_nll);
  r.add("", "SoftmaxCrossEntropyLoss", grad_softmax_cross_entropy);
}

}  // namespace nnaccel
