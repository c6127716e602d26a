// Softmax, LogSoftmax and Hardmax (opset-13 form: one axis), and Dropout.
#include <cmath>
#include <limits>
#include <random>

#include "ops/nn_common.hpp"

namespace nnaccel {

namespace {

using namespace nn;

// A tensor seen as [outer, n, inner] around one axis.
struct AxisView {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisView axis_view(const Node& node, const Shape& shape, int64_t axis_attr) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (rank == 0) node_fail(node, "input must have rank >= 1");
  const int64_t axis = normalize_axis(node, axis_attr, rank);
  AxisView v;
  v.outer = product(shape, 0, static_cast<size_t>(axis));
  v.n = shape[static_cast<size_t>(axis)];
  v.inner = product(shape, static_cast<size_t>(axis) + 1);
  return v;
}

void infer_axis_op(InferContext& ctx) {
  const TypeInfo& t = ctx.type(0);
  if (t.has_shape) {
    const int64_t rank = static_cast<int64_t>(t.dims.size());
    if (rank == 0) ctx.fail("input must have rank >= 1");
    normalize_axis(ctx.node, ctx.node.attr_int("axis", -1), rank);
  }
  ctx.outputs[0] = t;
}

enum class SoftmaxKind { softmax, log_softmax, hardmax };

template <typename T>
void softmax_forward(const T* x, T* y, const AxisView& v, SoftmaxKind kind) {
  if (v.n == 0) return;
  for (int64_t o = 0; o < v.outer; ++o) {
    for (int64_t i = 0; i < v.inner; ++i) {
      const T* xs = x + o * v.n * v.inner + i;
      T* ys = y + o * v.n * v.inner + i;
      // The maximum is subtracted first so exp never overflows; Hardmax marks its first index.
      int64_t arg = 0;
      for (int64_t j = 1; j < v.n; ++j)
        if (xs[j * v.inner] > xs[arg * v.inner]) arg = j;
      const double max = static_cast<double>(xs[arg * v.inner]);
      if (kind == SoftmaxKind::hardmax) {
        for (int64_t j = 0; j < v.n; ++j) ys[j * v.inner] = static_cast<T>(j == arg ? 1 : 0);
        continue;
      }
      double sum = 0;
      for (int64_t j = 0; j < v.n; ++j) sum += std::exp(static_cast<double>(xs[j * v.inner]) - max);
      const double log_sum = std::log(sum);
      for (int64_t j = 0; j < v.n; ++j) {
        const double d = static_cast<double>(xs[j * v.inner]) - max;
        ys[j * v.inner] =
            static_cast<T>(kind == SoftmaxKind::softmax ? std::exp(d) / sum : d - log_sum);
      }
    }
  }
}

void run_softmax_kind(OpContext& ctx, SoftmaxKind kind) {
  const DType io = ctx.input(0).dtype();
  const DType ct = float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(ctx.input(0), ct);
  AxisView v = axis_view(ctx.node, x.shape(), ctx.attr_int("axis", -1));
  Tensor y(ct, x.shape());
  visit_float(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_forward<T>(x.data<T>(), y.data<T>(), v, kind);
  });
  ctx.outputs[0] = to_dtype(y, io);
}

void run_softmax(OpContext& ctx) { run_softmax_kind(ctx, SoftmaxKind::softmax); }
void run_log_softmax(OpContext& ctx) { run_softmax_kind(ctx, SoftmaxKind::log_softmax); }
void run_hardmax(OpContext& ctx) { run_softmax_kind(ctx, SoftmaxKind::hardmax); }

// ---------------------------------------------------------------------------------------------
// Dropout (opset 13): inputs data, ratio (default 0.5), training_mode (default false). Outside
// training it is the identity with an all-true mask. In training each element is kept with
// probability 1 - ratio and scaled by 1 / (1 - ratio). With a `seed` attribute the draws are
// MT19937 seeded with it and converted to doubles as numpy's legacy RandomState does
// (np.random.seed(seed); np.random.uniform(size) >= ratio), so seeded runs are reproducible and
// agree with ONNX's reference; without one the seed comes from std::random_device.

void infer_dropout(InferContext& ctx) {
  ctx.outputs[0] = ctx.type(0);
  if (ctx.num_outputs() > 1) {
    TypeInfo m = ctx.type(0);
    m.dtype = DType::boolean;
    ctx.outputs[1] = m;
  }
}

double uniform_res53(std::mt19937& rng) {
  const uint32_t a = rng() >> 5, b = rng() >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

void run_dropout(OpContext& ctx) {
  const Tensor& x0 = ctx.input(0);
  double ratio = 0.5;
  if (ctx.has_input(1)) {
    const Tensor& r = ctx.input(1);
    if (r.numel() != 1 || !dtype_is_float(r.dtype()))
      ctx.fail("ratio must be a float scalar, got {} {}", dtype_name(r.dtype()),
               shape_str(r.shape()));
    ratio = r.at_f64(0);
  }
  bool training = false;
  if (ctx.has_input(2)) {
    const Tensor& t = ctx.input(2);
    if (t.numel() != 1 || t.dtype() != DType::boolean)
      ctx.fail("training_mode must be a bool scalar, got {} {}", dtype_name(t.dtype()),
               shape_str(t.shape()));
    training = t.data<bool>()[0];
  }
  if (!(ratio >= 0 && ratio < 1)) ctx.fail("ratio {} must be in [0, 1)", ratio);
  Tensor mask;
  const bool want_mask = ctx.has_output(1);
  if (!training || ratio == 0) {
    ctx.outputs[0] = x0;
    if (want_mask) {
      mask = Tensor(DType::boolean, x0.shape());
      std::fill(mask.data<bool>(), mask.data<bool>() + mask.numel(), true);
      ctx.outputs[1] = mask;
    }
    return;
  }
  const DType io = x0.dtype();
  const DType ct = float_compute_dtype(ctx.node, io);
  Tensor x = to_dtype(x0, ct);
  mask = Tensor(DType::boolean, x.shape());
  const Attribute* seed_attr = ctx.attr("seed");
  std::mt19937 rng(seed_attr != nullptr ? static_cast<uint32_t>(seed_attr->i)
                                        : std::random_device{}());
  bool* md = mask.data<bool>();
  for (int64_t i = 0; i < mask.numel(); ++i) md[i] = uniform_res53(rng) >= ratio;
  Tensor y(ct, x.shape());
  visit_float(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T scale = static_cast<T>(1.0 / (1.0 - ratio));
    const T* xd = x.data<T>();
    T* yd = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) yd[i] = md[i] ? xd[i] * scale : T(0);
  });
  ctx.outputs[0] = to_dtype(y, io);
  if (want_mask) ctx.outputs[1] = mask;
}

}  // namespace

void register_normalization_softmax_ops(OpRegistry& r) {
  r.add({"Softmax", "", infer_axis_op, run_softmax});
  r.add({"LogSoftmax", "", infer_axis_op, run_log_softmax});
  r.add({"Hardmax", "", infer_axis_op, run_hardmax});
  // Random in training mode: never constant-folded.
  r.add({"Dropout", "", infer_dropout, run_dropout, /*deterministic=*/false});
}

}  // namespace nnaccel
