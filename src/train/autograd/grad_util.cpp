#include "train/autograd/grad_util.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "ops/op_registry.hpp"
#include "train/autograd/blocked_ops.hpp"
#include "train/autograd/dnnl_ops.hpp"

namespace nnaccel::grad {

namespace {

// Strides of `in` seen inside the broadcast `out` shape: 0 along broadcast dims.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  if (in.size() > out.size())
    fail("autograd: shape {} does not broadcast to {}", shape_str(in), shape_str(out));
  std::vector<int64_t> strides(out.size(), 0);
  const size_t off = out.size() - in.size();
  int64_t s = 1;
  for (size_t i = in.size(); i-- > 0;) {
    if (in[i] != out[i + off] && in[i] != 1)
      fail("autograd: shape {} does not broadcast to {}", shape_str(in), shape_str(out));
    strides[i + off] = in[i] == 1 ? 0 : s;
    s *= in[i];
  }
  return strides;
}

// Calls body(out_index, in_index) over every element of `out`, innermost dim in a tight loop.
template <typename Body>
void for_each_broadcast(const Shape& in, const Shape& out, Body&& body) {
  const std::vector<int64_t> strides = broadcast_strides(in, out);
  const int64_t total = shape_numel(out);
  if (total == 0) return;
  if (out.empty()) {
    body(int64_t{0}, int64_t{0});
    return;
  }
  const size_t r = out.size();
  const int64_t inner = out[r - 1], inner_stride = strides[r - 1];
  std::vector<int64_t> idx(r - 1, 0);
  int64_t base = 0;
  for (int64_t o = 0; o < total; o += inner) {
    for (int64_t j = 0; j < inner; ++j) body(o + j, base + j * inner_stride);
    for (size_t d = r - 1; d-- > 0;) {
      base += strides[d];
      if (++idx[d] < out[d]) break;
      base -= strides[d] * out[d];
      idx[d] = 0;
    }
  }
}

}  // namespace

Tensor uninitialized(DType dtype, const Shape& shape) {
  const int64_t numel = shape_numel(shape);
  const uint64_t bytes = dtype_storage_bytes(dtype, numel);
  const uint64_t cap = max_allocation_bytes();
  // The checks of Tensor's constructor (it also refuses what it cannot allocate).
  if ((cap != 0 && bytes > cap) || bytes > (uint64_t{1} << 46)) return Tensor(dtype, shape);
  const size_t alloc = std::max<size_t>(64, (static_cast<size_t>(bytes) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, alloc);
  if (p == nullptr) return Tensor(dtype, shape);
  return Tensor::view(dtype, shape, std::shared_ptr<void>(p, [](void* q) { std::free(q); }), p);
}

Tensor filled(DType dtype, const Shape& shape, double value) {
  Tensor t(dtype, shape);
  visit_numeric(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::fill_n(t.data<T>(), t.numel(), static_cast<T>(value));
  });
  return t;
}

Tensor add(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    fail("autograd: cannot add gradients {} {} and {} {}", dtype_name(a.dtype()),
         shape_str(a.shape()), dtype_name(b.dtype()), shape_str(b.shape()));
  // Activation gradients (f32, or bf16 under mixed precision) are summed by oneDNN, in parallel.
  if ((a.dtype() == DType::f32 || a.dtype() == DType::bf16) && a.numel() > 0 && a.rank() >= 1 &&
      a.rank() <= 6 && dnnl_enabled())
    return blocked_add(a, b, false);
  Tensor r(a.dtype(), a.shape());
  visit_numeric(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = a.data<T>();
    const T* y = b.data<T>();
    T* z = r.data<T>();
    for (int64_t i = 0; i < a.numel(); ++i) z[i] = static_cast<T>(x[i] + y[i]);
  });
  return r;
}

Tensor broadcast_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  Tensor r(t.dtype(), shape);
  visit_by_size(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = t.data<T>();
    T* dst = r.data<T>();
    for_each_broadcast(t.shape(), shape, [&](int64_t o, int64_t i) { dst[o] = src[i]; });
  });
  return r;
}

Tensor reduce_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  std::vector<double> acc(static_cast<size_t>(shape_numel(shape)), 0.0);
  Tensor r(g.dtype(), shape);
  visit_numeric(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = g.data<T>();
    for_each_broadcast(shape, g.shape(), [&](int64_t o, int64_t i) {
      acc[static_cast<size_t>(i)] += static_cast<double>(src[o]);
    });
    T* dst = r.data<T>();
    for (size_t i = 0; i < acc.size(); ++i) dst[i] = static_cast<T>(acc[i]);
  });
  return r;
}

const Tensor& input(const GradContext& ctx, size_t i) {
  if (i >= ctx.inputs.size() || ctx.inputs[i] == nullptr)
    rule_fail(ctx.node, "input {} is missing", i);
  return *ctx.inputs[i];
}

const Tensor& output(const GradContext& ctx, size_t i) {
  if (i >= ctx.outputs.size() || ctx.outputs[i] == nullptr)
    rule_fail(ctx.node, "output {} is missing", i);
  return *ctx.outputs[i];
}

Tensor grad_output(const GradContext& ctx, size_t i) {
  if (i < ctx.grad_outputs.size() && ctx.grad_outputs[i] != nullptr) return *ctx.grad_outputs[i];
  const Tensor& y = output(ctx, i);
  return Tensor(y.dtype(), y.shape());
}

std::vector<Tensor> run_reference(const Node& like, const std::string& op,
                                  const std::vector<Tensor>& inputs, std::vector<Attribute> attrs,
                                  int num_outputs) {
  const OpSchema* s = OpRegistry::instance().find("", op);
  if (s == nullptr) rule_fail(like, "no reference kernel {}", op);
  Node n;
  n.op_type = op;
  n.name = like.name + "/grad_" + op;
  for (size_t i = 0; i < inputs.size(); ++i)
    n.inputs.push_back(inputs[i].defined() ? "in" + std::to_string(i) : "");
  for (int i = 0; i < num_outputs; ++i) n.outputs.push_back("out" + std::to_string(i));
  n.attrs = std::move(attrs);
  std::vector<const Tensor*> ins;
  for (const Tensor& t : inputs) ins.push_back(t.defined() ? &t : nullptr);
  OpContext ctx(n, std::move(ins), nullptr);
  s->run(ctx);
  return std::move(ctx.outputs);
}

Tensor route_gradient(const GradContext& ctx, size_t k, const std::vector<size_t>& data_inputs) {
  const Node& node = ctx.node;
  std::vector<Tensor> ins;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    const Tensor* t = ctx.inputs[i];
    if (t == nullptr) {
      ins.emplace_back();
    } else if (i == k) {
      Tensor iota(DType::i64, t->shape());
      for (int64_t e = 0; e < iota.numel(); ++e) iota.data<int64_t>()[e] = e;
      ins.push_back(iota);
    } else if (std::find(data_inputs.begin(), data_inputs.end(), i) != data_inputs.end()) {
      ins.push_back(filled(DType::i64, t->shape(), -1));
    } else {
      ins.push_back(*t);
    }
  }
  const std::vector<Tensor> sources =
      run_reference(node, node.op_type, ins, node.attrs, static_cast<int>(node.outputs.size()));
  const Tensor& x = input(ctx, k);
  Tensor dx(x.dtype(), x.shape());
  visit_grad_float(node, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* d = dx.data<T>();
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (o >= ctx.grad_outputs.size() || ctx.grad_outputs[o] == nullptr) continue;
      const Tensor& g = *ctx.grad_outputs[o];
      const Tensor& src = sources[o];
      if (src.numel() != g.numel())
        rule_fail(node, "output {} has {} elements but its gradient {}", o, src.numel(), g.numel());
      const int64_t* s = src.data<int64_t>();
      const T* gd = g.data<T>();
      for (int64_t e = 0; e < g.numel(); ++e)
        if (s[e] >= 0) d[s[e]] += gd[e];
    }
  });
  return dx;
}

}  // namespace nnaccel::grad
