// Gradient rules of elementwise ops: activations and unary math (dx = dy * f'(x)), and the
// broadcasting binary ops, whose input gradients are summed over the dims an input was
// broadcast along. Derivatives are evaluated in double and stored in the op's type.
#include <cmath>
#include <limits>

#include "core/parallel.hpp"
#include "train/autograd/grad_util.hpp"

namespace nnaccel {

namespace {

using namespace grad;

constexpr int64_t kGrain = 1 << 14;

// dx = dy * deriv(x, y) for input 0; deriv sees the forward input and output.
template <typename Deriv>
void unary_rule(GradContext& ctx, Deriv deriv) {
  if (!wants(ctx, 0)) return;
  const Tensor& x = input(ctx, 0);
  const Tensor& y = output(ctx, 0);
  const Tensor dy = grad_output(ctx, 0);
  Tensor dx(x.dtype(), x.shape());
  visit_grad_float(ctx.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    const T* yd = y.data<T>();
    const T* g = dy.data<T>();
    T* d = dx.data<T>();
    parallel_for(x.numel(), kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        d[i] = static_cast<T>(static_cast<double>(g[i]) *
                              deriv(static_cast<double>(xd[i]), static_cast<double>(yd[i])));
    });
  });
  ctx.grad_inputs[0] = dx;
}

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kTwoOverSqrtPi = 1.12837916709551257390;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

// Relu is on every CNN's path: a select, not a product in double.
void grad_relu(GradContext& c) {
  if (!wants(c, 0)) return;
  const Tensor& x = input(c, 0);
  const Tensor dy = grad_output(c, 0);
  Tensor dx(x.dtype(), x.shape());
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    const T* g = dy.data<T>();
    T* d = dx.data<T>();
    parallel_for(x.numel(), kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) d[i] = xd[i] > T(0) ? g[i] : T(0);
    });
  });
  c.grad_inputs[0] = dx;
}
void grad_leaky_relu(GradContext& c) {
  const double alpha = c.node.attr_float("alpha", 0.01f);
  unary_rule(c, [=](double x, double) { return x < 0 ? alpha : 1.0; });
}
void grad_elu(GradContext& c) {
  const double alpha = c.node.attr_float("alpha", 1.0f);
  unary_rule(c, [=](double x, double y) { return x < 0 ? y + alpha : 1.0; });
}
void grad_sigmoid(GradContext& c) {
  unary_rule(c, [](double, double y) { return y * (1 - y); });
}
void grad_tanh(GradContext& c) {
  unary_rule(c, [](double, double y) { return 1 - y * y; });
}
void grad_hard_sigmoid(GradContext& c) {
  const double alpha = c.node.attr_float("alpha", 0.2f), beta = c.node.attr_float("beta", 0.5f);
  unary_rule(c, [=](double x, double) {
    const double v = alpha * x + beta;
    return v > 0 && v < 1 ? alpha : 0.0;
  });
}
void grad_hard_swish(GradContext& c) {
  unary_rule(c, [](double x, double) {
    if (x <= -3) return 0.0;
    if (x >= 3) return 1.0;
    return x / 3 + 0.5;
  });
}
void grad_softplus(GradContext& c) {
  unary_rule(c, [](double x, double) { return 1 / (1 + std::exp(-x)); });
}
void grad_softsign(GradContext& c) {
  unary_rule(c, [](double x, double) { return 1 / ((1 + std::fabs(x)) * (1 + std::fabs(x))); });
}
void grad_neg(GradContext& c) {
  unary_rule(c, [](double, double) { return -1.0; });
}
void grad_identity(GradContext& c) {
  if (wants(c, 0)) c.grad_inputs[0] = grad_output(c, 0);
}
void grad_abs(GradContext& c) {
  unary_rule(c, [](double x, double) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); });
}
void grad_sqrt(GradContext& c) {
  unary_rule(c, [](double, double y) { return 0.5 / y; });
}
void grad_exp(GradContext& c) {
  unary_rule(c, [](double, double y) { return y; });
}
void grad_log(GradContext& c) {
  unary_rule(c, [](double x, double) { return 1 / x; });
}
void grad_reciprocal(GradContext& c) {
  unary_rule(c, [](double, double y) { return -y * y; });
}
void grad_erf(GradContext& c) {
  unary_rule(c, [](double x, double) { return kTwoOverSqrtPi * std::exp(-x * x); });
}
void grad_sin(GradContext& c) {
  unary_rule(c, [](double x, double) { return std::cos(x); });
}
void grad_cos(GradContext& c) {
  unary_rule(c, [](double x, double) { return -std::sin(x); });
}

// Piecewise-constant ops: zero almost everywhere (as PyTorch defines them).
void grad_zero(GradContext& c) {
  for (size_t k = 0; k < c.inputs.size(); ++k)
    if (wants(c, k)) c.grad_inputs[k] = Tensor(input(c, k).dtype(), input(c, k).shape());
}

// Cast between float types: the gradient is cast back (Autograd casts to the input's type).
void grad_cast(GradContext& c) {
  if (wants(c, 0)) c.grad_inputs[0] = grad_output(c, 0);
}

// Sum and Mean of any number of broadcasting inputs.
void variadic_rule(GradContext& c, bool mean) {
  const Tensor dy = grad_output(c, 0);
  const double scale = mean ? 1.0 / static_cast<double>(c.inputs.size()) : 1.0;
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    if (!wants(c, k)) continue;
    Tensor g = reduce_to_shape(dy, input(c, k).shape());
    if (mean) {
      Tensor s(g.dtype(), g.shape());
      visit_grad_float(c.node, g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        for (int64_t i = 0; i < g.numel(); ++i)
          s.data<T>()[i] = static_cast<T>(static_cast<double>(g.data<T>()[i]) * scale);
      });
      g = s;
    }
    c.grad_inputs[k] = g;
  }
}
void grad_sum(GradContext& c) { variadic_rule(c, false); }
void grad_mean(GradContext& c) { variadic_rule(c, true); }

// ai.nnaccel Gelu: approximate "none" is x * Phi(x), "tanh" the tanh approximation.
void grad_gelu(GradContext& c) {
  const std::string approx = c.node.attr_string("approximate", "none");
  if (approx == "tanh") {
    unary_rule(c, [](double x, double) {
      const double u = kSqrt2OverPi * (x + 0.044715 * x * x * x);
      const double t = std::tanh(u);
      const double du = kSqrt2OverPi * (1 + 3 * 0.044715 * x * x);
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
    });
  } else if (approx == "none") {
    unary_rule(c, [](double x, double) {
      return 0.5 * (1 + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
    });
  } else {
    rule_fail(c.node, "approximate '{}' is not none or tanh", approx);
  }
}

// Clip's bounds are scalars (inputs 1, 2): x passes where min < x < max (ties pass the gradient
// to x, as PyTorch's clamp does at the boundary), and the bound receives the rest.
void grad_clip(GradContext& c) {
  const Tensor& x = input(c, 0);
  const Tensor dy = grad_output(c, 0);
  const double lo = c.inputs.size() > 1 && c.inputs[1] != nullptr
                        ? c.inputs[1]->at_f64(0)
                        : -std::numeric_limits<double>::infinity();
  const double hi = c.inputs.size() > 2 && c.inputs[2] != nullptr
                        ? c.inputs[2]->at_f64(0)
                        : std::numeric_limits<double>::infinity();
  Tensor dx(x.dtype(), x.shape());
  double dlo = 0, dhi = 0;
  visit_grad_float(c.node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x.data<T>();
    const T* g = dy.data<T>();
    T* d = dx.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double v = xd[i];
      if (v < lo) {
        dlo += g[i];
      } else if (v > hi) {
        dhi += g[i];
      } else {
        d[i] = g[i];
      }
    }
  });
  if (wants(c, 0)) c.grad_inputs[0] = dx;
  if (wants(c, 1)) c.grad_inputs[1] = filled(c.inputs[1]->dtype(), c.inputs[1]->shape(), dlo);
  if (wants(c, 2)) c.grad_inputs[2] = filled(c.inputs[2]->dtype(), c.inputs[2]->shape(), dhi);
}

// For a broadcasting binary op y = f(a, b): da = reduce(dy * da_fn(a, b, y)), likewise b.
template <typename DA, typename DB>
void binary_rule(GradContext& ctx, DA da_fn, DB db_fn) {
  const Tensor& a = input(ctx, 0);
  const Tensor& b = input(ctx, 1);
  const Tensor& y = output(ctx, 0);
  const Tensor dy = grad_output(ctx, 0);
  // Pow's exponent may have another type than its base.
  auto as_y = [&](const Tensor& t) {
    return t.dtype() == y.dtype() ? t : cast_tensor(t, y.dtype());
  };
  const Tensor ab = broadcast_to(as_y(a), y.shape());
  const Tensor bb = broadcast_to(as_y(b), y.shape());
  for (size_t k = 0; k < 2; ++k) {
    if (!wants(ctx, k)) continue;
    Tensor full(y.dtype(), y.shape());
    visit_grad_float(ctx.node, y.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* ad = ab.data<T>();
      const T* bd = bb.data<T>();
      const T* yd = y.data<T>();
      const T* g = dy.data<T>();
      T* d = full.data<T>();
      for (int64_t i = 0; i < y.numel(); ++i) {
        const double av = ad[i], bv = bd[i], yv = yd[i];
        d[i] = static_cast<T>(static_cast<double>(g[i]) *
                              (k == 0 ? da_fn(av, bv, yv) : db_fn(av, bv, yv)));
      }
    });
    ctx.grad_inputs[k] = reduce_to_shape(full, ctx.inputs[k]->shape());
  }
}

void grad_add(GradContext& c) {
  // No products needed: the gradient is dy summed over broadcast dims.
  const Tensor dy = grad_output(c, 0);
  for (size_t k = 0; k < 2; ++k)
    if (wants(c, k)) c.grad_inputs[k] = reduce_to_shape(dy, input(c, k).shape());
}
void grad_sub(GradContext& c) {
  binary_rule(
      c, [](double, double, double) { return 1.0; }, [](double, double, double) { return -1.0; });
}
void grad_mul(GradContext& c) {
  binary_rule(
      c, [](double, double b, double) { return b; }, [](double a, double, double) { return a; });
}
void grad_div(GradContext& c) {
  binary_rule(
      c, [](double, double b, double) { return 1 / b; },
      [](double a, double b, double) { return -a / (b * b); });
}
void grad_pow(GradContext& c) {
  // d/da a^b = b a^(b-1); d/db a^b = a^b log a (needs a > 0; 0 where a^b is 0).
  binary_rule(
      c, [](double a, double b, double) { return b == 0 ? 0.0 : b * std::pow(a, b - 1); },
      [](double a, double, double y) { return y == 0 ? 0.0 : y * std::log(a); });
}
void grad_max(GradContext& c) {
  if (c.inputs.size() != 2) rule_fail(c.node, "gradient of Max with {} inputs", c.inputs.size());
  binary_rule(
      c, [](double a, double b, double) { return a >= b ? 1.0 : 0.0; },
      [](double a, double b, double) { return a >= b ? 0.0 : 1.0; });
}
void grad_min(GradContext& c) {
  if (c.inputs.size() != 2) rule_fail(c.node, "gradient of Min with {} inputs", c.inputs.size());
  binary_rule(
      c, [](double a, double b, double) { return a <= b ? 1.0 : 0.0; },
      [](double a, double b, double) { return a <= b ? 0.0 : 1.0; });
}
void grad_prelu(GradContext& c) {
  binary_rule(
      c, [](double a, double b, double) { return a < 0 ? b : 1.0; },
      [](double a, double, double) { return a < 0 ? a : 0.0; });
}

}  // namespace

void register_elementwise_grads(GradRegistry& r) {
  r.add("", "Relu", grad_relu);
  r.add("", "LeakyRelu", grad_leaky_relu);
  r.add("", "Elu", grad_elu);
  r.add("", "Sigmoid", grad_sigmoid);
  r.add("", "Tanh", grad_tanh);
  r.add("", "HardSigmoid", grad_hard_sigmoid);
  r.add("", "HardSwish", grad_hard_swish);
  r.add("", "Softplus", grad_softplus);
  r.add("", "Softsign", grad_softsign);
  r.add("", "Neg", grad_neg);
  r.add("", "Identity", grad_identity);
  r.add("", "Abs", grad_abs);
  r.add("", "Sqrt", grad_sqrt);
  r.add("", "Exp", grad_exp);
  r.add("", "Log", grad_log);
  r.add("", "Reciprocal", grad_reciprocal);
  r.add("", "Erf", grad_erf);
  r.add("", "Sin", grad_sin);
  r.add("", "Cos", grad_cos);
  r.add("ai.nnaccel", "Gelu", grad_gelu);
  r.add("", "Clip", grad_clip);
  for (const char* op : {"Floor", "Ceil", "Round", "Sign"}) r.add("", op, grad_zero);
  r.add("", "Cast", grad_cast);
  r.add("", "Sum", grad_sum);
  r.add("", "Mean", grad_mean);
  r.add("", "Add", grad_add);
  r.add("", "Sub", grad_sub);
  r.add("", "Mul", grad_mul);
  r.add("", "Div", grad_div);
  r.add("", "Pow", grad_pow);
  r.add("", "Max", grad_max);
  r.add("", "Min", grad_min);
  r.add("", "PRelu", grad_prelu);
}

}  // namespace nnaccel
