// Ops of the 'loss' family (see ops.def): NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
// Both read scores of shape [N, C, d1..dk] and integer targets [N, d1..dk]; SCE is NLL applied to
// LogSoftmax over axis 1. Sums are accumulated in double.
#include <cmath>

#include "ops/nn_common.hpp"

namespace nnaccel {

namespace {

using namespace nn;

enum class Reduction { none, sum, mean };

Reduction parse_reduction(const Node& node) {
  const std::string r = node.attr_string("reduction", "mean");
  if (r == "none") return Reduction::none;
  if (r == "sum") return Reduction::sum;
  if (r == "mean") return Reduction::mean;
  node_fail(node, "reduction '{}' is not one of none, sum, mean", r);
}

// Checks scores [N, C, d...] against target [N, d...] and weight [C] (dims may be -1).
void check_loss_shapes(const Node& node, const std::vector<int64_t>& x,
                       const std::vector<int64_t>& t, const std::vector<int64_t>* w) {
  if (x.size() < 2) node_fail(node, "scores have rank {}, expected [N, C, d1..dk]", x.size());
  bool ok = t.size() == x.size() - 1;
  for (size_t i = 0; ok && i < t.size(); ++i) {
    const int64_t xd = x[i == 0 ? 0 : i + 1];
    ok = xd < 0 || t[i] < 0 || xd == t[i];
  }
  if (!ok)
    node_fail(node, "target has shape [{}]; expected scores' shape [{}] without the class axis",
              fmt::join(t, ","), fmt::join(x, ","));
  if (w != nullptr && (w->size() != 1 || (x[1] >= 0 && (*w)[0] >= 0 && (*w)[0] != x[1])))
    node_fail(node, "weight has shape [{}], expected [{}] (one per class)", fmt::join(*w, ","),
              x[1]);
}

void infer_loss(InferContext& ctx) {
  const TypeInfo& xt = ctx.type(0);
  const TypeInfo& tt = ctx.type(1);
  if (tt.dtype != DType::i32 && tt.dtype != DType::i64 && tt.dtype != DType::undefined)
    ctx.fail("target must be int32 or int64, got {}", dtype_name(tt.dtype));
  const Reduction red = parse_reduction(ctx.node);
  if (xt.has_shape && tt.has_shape) {
    std::vector<int64_t> w;
    const bool has_w = ctx.has_input(2) && ctx.type(2).has_shape;
    if (has_w) w = known_dims(ctx.type(2));
    check_loss_shapes(ctx.node, known_dims(xt), known_dims(tt), has_w ? &w : nullptr);
  }
  if (red == Reduction::none) {
    TypeInfo t = tt;
    t.dtype = xt.dtype;
    ctx.outputs[0] = t;
  } else {
    ctx.outputs[0] = type_with_dims(xt.dtype, {});
  }
  if (ctx.num_outputs() > 1) ctx.outputs[1] = xt;
}

// loss[n, d] = -log_prob[n, target[n, d], d] * weight[target], 0 where target == ignore_index,
// then reduced. `mean` divides by the summed weights of the targets not ignored.
template <typename T>
Tensor nll_loss(const OpContext& ctx, const Tensor& log_prob, const Tensor& target,
                const Tensor* weight, Reduction red) {
  const int64_t n = log_prob.dim(0), c = log_prob.dim(1);
  const int64_t d = product(log_prob.shape(), 2);
  const bool has_ignore = ctx.attr("ignore_index") != nullptr;
  const int64_t ignore = ctx.attr_int("ignore_index", 0);
  const T* x = log_prob.data<T>();
  const T* w = weight != nullptr ? weight->data<T>() : nullptr;
  Tensor per(DType::f64, target.shape());
  double* pd = per.data<double>();
  double loss_sum = 0, weight_sum = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < d; ++i) {
      const int64_t e = b * d + i;
      const int64_t cls =
          target.dtype() == DType::i64 ? target.data<int64_t>()[e] : target.data<int32_t>()[e];
      if (has_ignore && cls == ignore) {
        pd[e] = 0;
        continue;
      }
      if (cls < 0 || cls >= c)
        ctx.fail("target {} at position {} is out of range [0, {})", cls, e, c);
      const double wt = w != nullptr ? static_cast<double>(w[cls]) : 1.0;
      pd[e] = -static_cast<double>(x[(b * c + cls) * d + i]) * wt;
      loss_sum += pd[e];
      weight_sum += wt;
    }
  if (red == Reduction::none) return cast_tensor(per, dtype_of<T>());
  Tensor r(dtype_of<T>(), {});
  // A mean over targets that are all ignored is 0 / 0, NaN, as in PyTorch and ONNX's reference.
  r.data<T>()[0] = static_cast<T>(red == Reduction::sum ? loss_sum : loss_sum / weight_sum);
  return r;
}

void run_loss(OpContext& ctx, bool softmax_first) {
  const DType io = ctx.input(0).dtype();
  const DType ct = float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(ctx.input(0), ct);
  const Tensor& target = ctx.input(1);
  if (target.dtype() != DType::i32 && target.dtype() != DType::i64)
    ctx.fail("target must be int32 or int64, got {}", dtype_name(target.dtype()));
  Tensor weight;
  if (ctx.has_input(2)) {
    float_compute_dtype(ctx.node, ctx.input(2).dtype());
    weight = to_dtype(ctx.input(2), ct);
  }
  std::vector<int64_t> wshape = weight.defined() ? weight.shape() : std::vector<int64_t>{};
  check_loss_shapes(ctx.node, x.shape(), target.shape(), weight.defined() ? &wshape : nullptr);
  const Reduction red = parse_reduction(ctx.node);
  visit_float(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor log_prob = x;
    if (softmax_first) {
      // LogSoftmax over the class axis.
      log_prob = Tensor(ct, x.shape());
      const int64_t n = x.dim(0), c = x.dim(1), d = product(x.shape(), 2);
      const T* xd = x.data<T>();
      T* lp = log_prob.data<T>();
      for (int64_t b = 0; b < n && c > 0; ++b)
        for (int64_t i = 0; i < d; ++i) {
          const T* xs = xd + b * c * d + i;
          double max = static_cast<double>(xs[0]);
          for (int64_t k = 1; k < c; ++k) max = std::max(max, static_cast<double>(xs[k * d]));
          double sum = 0;
          for (int64_t k = 0; k < c; ++k) sum += std::exp(static_cast<double>(xs[k * d]) - max);
          const double log_sum = std::log(sum);
          for (int64_t k = 0; k < c; ++k)
            lp[b * c * d + k * d + i] =
                static_cast<T>(static_cast<double>(xs[k * d]) - max - log_sum);
        }
      if (ctx.has_output(1)) ctx.outputs[1] = to_dtype(log_prob, io);
    }
    ctx.outputs[0] =
        to_dtype(nll_loss<T>(ctx, log_prob, target, weight.defined() ? &weight : nullptr, red), io);
  });
}

void run_nll_loss(OpContext& ctx) { run_loss(ctx, false); }
void run_softmax_cross_entropy_loss(OpContext& ctx) { run_loss(ctx, true); }

}  // namespace

void register_loss_ops(OpRegistry& r) {
  r.add({"NegativeLogLikelihoodLoss", "", infer_loss, run_nll_loss});
  r.add({"SoftmaxCrossEntropyLoss", "", infer_loss, run_softmax_cross_entropy_loss});
}

}  // namespace nnaccel
