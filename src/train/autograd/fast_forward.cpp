#include "train/autograd/fast_forward.hpp"

#include <limits>

#include "core/parallel.hpp"
#include "train/autograd/dnnl_ops.hpp"
#include "train/autograd/grad_linalg.hpp"
#include "train/autograd/grad_util.hpp"
#include "train/autograd/pool_plan.hpp"

namespace nnaccel::grad {

namespace {

bool all_f32(const OpContext& ctx) {
  for (int i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i) && ctx.input(i).dtype() != DType::f32) return false;
  return ctx.num_inputs() > 0;
}

bool conv_forward(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const int64_t group = ctx.attr_int("group", 1);
  if (x.rank() < 3 || w.rank() != x.rank() || group < 1 || x.dim(1) != w.dim(1) * group ||
      w.dim(0) % group != 0)
    return false;  // the reference kernel reports the error
  if (ctx.has_input(2) && (ctx.input(2).rank() != 1 || ctx.input(2).dim(0) != w.dim(0)))
    return false;
  const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  const std::vector<int64_t> wk(w.shape().begin() + 2, w.shape().end());
  const nn::Window win =
      nn::resolve_window(ctx.node, in, nn::kernel_from_weight(ctx.node, wk), false);
  Shape out = {x.dim(0), w.dim(0)};
  out.insert(out.end(), win.out.begin(), win.out.end());
  Tensor y(DType::f32, out);
  if (!conv_forward_dnnl(x, w, ctx.has_input(2) ? &ctx.input(2) : nullptr, group, win, y))
    return false;
  ctx.outputs[0] = y;
  return true;
}

bool gemm_forward(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.rank() != 2 || b.rank() != 2) return false;
  const bool ta = ctx.attr_int("transA", 0) != 0, tb = ctx.attr_int("transB", 0) != 0;
  if ((ta ? a.dim(0) : a.dim(1)) != (tb ? b.dim(1) : b.dim(0))) return false;
  Tensor y = matmul(a, ta, b, tb, ctx.attr_float("alpha", 1.0f), ctx.node);
  if (ctx.has_input(2)) {
    const double beta = ctx.attr_float("beta", 1.0f);
    Tensor c = broadcast_to(ctx.input(2), y.shape());
    float* yd = y.data<float>();
    const float* cd = c.data<float>();
    for (int64_t i = 0; i < y.numel(); ++i)
      yd[i] = static_cast<float>(yd[i] + beta * static_cast<double>(cd[i]));
  }
  ctx.outputs[0] = y;
  return true;
}

// MaxPool (without its Indices output) and AveragePool, plane by plane.
bool pool_forward(OpContext& ctx, bool max) {
  if (max && ctx.has_output(1)) return false;
  const Tensor& x = ctx.input(0);
  const PoolPlan plan = make_pool_plan(ctx.node, x.shape());
  Tensor y(DType::f32, plan.out_shape);
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
  const int64_t* taps = plan.taps.data();
  parallel_for(plan.planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t pc = p0; pc < p1; ++pc) {
      const float* plane = xd + pc * plan.in_size;
      float* yp = yd + pc * plan.out_size;
      for (int64_t o = 0; o < plan.out_size; ++o) {
        const int64_t b = plan.begin[static_cast<size_t>(o)];
        const int64_t e = plan.begin[static_cast<size_t>(o) + 1];
        if (max) {
          float best = b < e ? plane[taps[b]] : std::numeric_limits<float>::lowest();
          for (int64_t t = b + 1; t < e; ++t) best = plane[taps[t]] > best ? plane[taps[t]] : best;
          yp[o] = best;
        } else {
          double sum = 0;
          for (int64_t t = b; t < e; ++t) sum += plane[taps[t]];
          const double div = plan.divisor[static_cast<size_t>(o)];
          yp[o] = static_cast<float>(div > 0 ? sum / div : 0.0);
        }
      }
    }
  });
  ctx.outputs[0] = y;
  return true;
}

}  // namespace

bool run_fast_forward(OpContext& ctx) {
  const Node& n = ctx.node;
  if (!dnnl_enabled() || !n.domain.empty() || !all_f32(ctx)) return false;
  try {
    if (n.op_type == "Conv") return conv_forward(ctx);
    if (n.op_type == "Gemm") return gemm_forward(ctx);
    if (n.op_type == "MaxPool") return pool_forward(ctx, true);
    if (n.op_type == "AveragePool") return pool_forward(ctx, false);
    if (n.op_type == "MatMul") {
      ctx.outputs[0] = matmul_numpy(ctx.input(0), ctx.input(1), n);
      return true;
    }
  } catch (const Error&) {
    // Malformed nodes: the reference kernel gives the error message its tests expect.
    return false;
  }
  return false;
}

}  // namespace nnaccel::grad
