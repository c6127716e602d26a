// Activation functions of the 'elementwise_unary' family: Relu and its relatives, the sigmoids,
// Softplus/Softsign, Shrink. PRelu takes a second (slope) input and lives with the binary ops.
#include <cmath>
#include <limits>

#include "ops/elementwise_common.hpp"

namespace nnaccel::elementwise {

namespace {

void add_float(OpRegistry& r, const char* name, RunFn run) {
  r.add({name, "", infer_unary<TypeSet::floats>, run});
}

void run_elu(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  ctx.outputs[0] = map_float(ctx, ctx.input(0), [&](auto v) {
    using T = decltype(v);
    return v < 0 ? static_cast<T>(alpha) * std::expm1(v) : v;
  });
}

void run_celu(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  if (alpha == 0) ctx.fail("alpha must not be 0");
  ctx.outputs[0] = map_float(ctx, ctx.input(0), [&](auto v) {
    using T = decltype(v);
    const T a = static_cast<T>(alpha);
    return std::max(T(0), v) + std::min(T(0), a * std::expm1(v / a));
  });
}

void run_selu(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.67326319217681884765625f);
  const float gamma = ctx.attr_float("gamma", 1.05070102214813232421875f);
  ctx.outputs[0] = map_float(ctx, ctx.input(0), [&](auto v) {
    using T = decltype(v);
    const T g = static_cast<T>(gamma);
    return v > 0 ? g * v : g * static_cast<T>(alpha) * std::expm1(v);
  });
}

void run_leaky_relu(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.01f);
  ctx.outputs[0] = map_float(
      ctx, ctx.input(0), [&](auto v) { return v < 0 ? static_cast<decltype(v)>(alpha) * v : v; });
}

void run_thresholded_relu(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  ctx.outputs[0] = map_float(ctx, ctx.input(0), [&](auto v) {
    return v > static_cast<decltype(v)>(alpha) ? v : decltype(v)(0);
  });
}

void run_hard_sigmoid(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.2f);
  const float beta = ctx.attr_float("beta", 0.5f);
  ctx.outputs[0] = map_float(ctx, ctx.input(0), [&](auto v) {
    using T = decltype(v);
    return std::max(T(0), std::min(T(1), static_cast<T>(alpha) * v + static_cast<T>(beta)));
  });
}

void run_hard_swish(OpContext& ctx) {
  ctx.outputs[0] = map_float(ctx, ctx.input(0), [](auto v) {
    using T = decltype(v);
    return v * std::max(T(0), std::min(T(1), v / T(6) + T(0.5)));
  });
}

void run_sigmoid(OpContext& ctx) {
  ctx.outputs[0] = map_float(ctx, ctx.input(0), [](auto v) {
    using T = decltype(v);
    // Two forms so that exp never overflows.
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
  });
}

void run_softplus(OpContext& ctx) {
  ctx.outputs[0] = map_float(ctx, ctx.input(0), [](auto v) {
    // log(1 + e^v) without overflow for large v.
    return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
  });
}

void run_softsign(OpContext& ctx) {
  ctx.outputs[0] = map_float(ctx, ctx.input(0), [](auto v) {
    using T = decltype(v);
    return v / (T(1) + std::fabs(v));
  });
}

// Shrink accepts integers too: compare in double, produce the element type.
void run_shrink(OpContext& ctx) {
  const double bias = ctx.attr_float("bias", 0.0f);
  const double lambd = ctx.attr_float("lambd", 0.5f);
  ctx.outputs[0] = map_numeric(ctx, ctx.input(0), TypeSet::numeric, [&](auto v) {
    using T = decltype(v);
    const double d = static_cast<double>(v);
    if (d < -lambd) return saturate_to<T>(d + bias);
    if (d > lambd) return saturate_to<T>(d - bias);
    return T(0);
  });
}

void run_relu(OpContext& ctx) {
  ctx.outputs[0] = map_numeric(ctx, ctx.input(0), TypeSet::signed_numeric, [](auto v) {
    using T = decltype(v);
    return v < T(0) ? T(0) : v;  // NaN stays NaN
  });
}

}  // namespace

void register_elementwise_activation_ops(OpRegistry& r) {
  r.add({"Relu", "", infer_unary<TypeSet::signed_numeric>, run_relu});
  add_float(r, "LeakyRelu", run_leaky_relu);
  add_float(r, "ThresholdedRelu", run_thresholded_relu);
  add_float(r, "Elu", run_elu);
  add_float(r, "Celu", run_celu);
  add_float(r, "Selu", run_selu);
  add_float(r, "HardSigmoid", run_hard_sigmoid);
  add_float(r, "HardSwish", run_hard_swish);
  add_float(r, "Sigmoid", run_sigmoid);
  add_float(r, "Softplus", run_softplus);
  add_float(r, "Softsign", run_softsign);
  r.add({"Shrink", "", infer_unary<TypeSet::numeric>, run_shrink});
}

}  // namespace nnaccel::elementwise
