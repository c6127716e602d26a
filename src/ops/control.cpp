// Ops of the 'control' family (see ops.def): If and Loop on tensors. Bodies run through
// OpContext::run_subgraph in a child scope of the node's scope, so they read outer values.
// Sequence- and optional-typed values are not supported (those ops are not implemented).
#include <cstring>

#include "ops/op_registry.hpp"

namespace nnaccel {

namespace {

const Graph& graph_attr(const Node& node, const char* name) {
  const Attribute* a = node.attr(name);
  if (a == nullptr || a->kind != Attribute::Kind::g || !a->g)
    throw Error(node.describe() + ": graph attribute '" + name + "' is missing");
  return *a->g;
}

bool bool_scalar(const OpContext& ctx, const Tensor& t, const char* what) {
  if (t.dtype() != DType::boolean) ctx.fail("{} must be bool, got {}", what, dtype_name(t.dtype()));
  if (t.numel() != 1)
    ctx.fail("{} must have one element, got shape {}", what, shape_str(t.shape()));
  return t.data<bool>()[0];
}

Tensor make_bool(bool v) {
  Tensor t(DType::boolean, {});
  t.data<bool>()[0] = v;
  return t;
}

// The type two declarations agree on: dims that differ become unknown, differing ranks an
// unknown shape; differing element types are an error.
TypeInfo union_type(const InferContext& ctx, const TypeInfo& a, const TypeInfo& b,
                    const std::string& what) {
  TypeInfo t;
  if (a.dtype != DType::undefined && b.dtype != DType::undefined && a.dtype != b.dtype)
    ctx.fail("{} is {} in one place and {} in the other", what, dtype_name(a.dtype),
             dtype_name(b.dtype));
  t.dtype = a.dtype != DType::undefined ? a.dtype : b.dtype;
  if (!a.has_shape || !b.has_shape || a.dims.size() != b.dims.size()) return t;
  t.has_shape = true;
  for (size_t i = 0; i < a.dims.size(); ++i)
    t.dims.push_back(a.dims[i] == b.dims[i] ? a.dims[i] : Dim{});
  return t;
}

// --- If -----------------------------------------------------------------------------------------

void infer_if(InferContext& ctx) {
  const Graph& then_g = graph_attr(ctx.node, "then_branch");
  const Graph& else_g = graph_attr(ctx.node, "else_branch");
  const size_t n = ctx.node.outputs.size();
  if (then_g.outputs.size() != n || else_g.outputs.size() != n)
    ctx.fail("the node has {} outputs but then_branch has {} and else_branch {}", n,
             then_g.outputs.size(), else_g.outputs.size());
  for (size_t i = 0; i < n; ++i)
    ctx.outputs[i] = union_type(ctx, then_g.outputs[i].type, else_g.outputs[i].type,
                                "output " + std::to_string(i) + " of the branches");
}

void run_if(OpContext& ctx) {
  const bool cond = bool_scalar(ctx, ctx.input(0), "cond");
  const Graph& branch = graph_attr(ctx.node, cond ? "then_branch" : "else_branch");
  if (branch.outputs.size() != ctx.node.outputs.size())
    ctx.fail("{} has {} outputs but the node has {}", cond ? "then_branch" : "else_branch",
             branch.outputs.size(), ctx.node.outputs.size());
  std::vector<Tensor> outs = ctx.run_subgraph(branch, {});
  for (size_t i = 0; i < outs.size(); ++i) ctx.outputs[i] = outs[i];
}

// --- Loop ---------------------------------------------------------------------------------------

// Body signature: inputs (iteration_num, cond, carried...) and outputs (cond, carried...,
// scan...); the node has inputs (M, cond, carried...) and outputs (carried..., scan...).
struct LoopCounts {
  size_t carried = 0, scans = 0;
};

template <typename Ctx>
LoopCounts loop_counts(const Ctx& ctx, const Graph& body) {
  LoopCounts c;
  if (ctx.num_inputs() < 2) ctx.fail("Loop needs inputs M and cond (either may be empty)");
  c.carried = static_cast<size_t>(ctx.num_inputs() - 2);
  if (body.inputs.size() != c.carried + 2)
    ctx.fail("the body takes {} inputs, expected {} (iteration number, condition, {} carried)",
             body.inputs.size(), c.carried + 2, c.carried);
  if (body.outputs.size() < c.carried + 1)
    ctx.fail("the body has {} outputs, expected at least {} (condition, {} carried)",
             body.outputs.size(), c.carried + 1, c.carried);
  c.scans = body.outputs.size() - 1 - c.carried;
  if (static_cast<size_t>(ctx.num_outputs()) > c.carried + c.scans)
    ctx.fail("the node has {} outputs but the body yields {} carried and {} scan values",
             ctx.num_outputs(), c.carried, c.scans);
  return c;
}

void infer_loop(InferContext& ctx) {
  const Graph& body = graph_attr(ctx.node, "body");
  LoopCounts c = loop_counts(ctx, body);
  for (size_t i = 0; i < static_cast<size_t>(ctx.num_outputs()); ++i) {
    if (i < c.carried) {
      // The final value has the initial value's type where the body keeps it; a body output
      // declared without a shape may change shape across iterations.
      ctx.outputs[i] = union_type(ctx, ctx.type(static_cast<int>(2 + i)), body.outputs[1 + i].type,
                                  "loop-carried value " + std::to_string(i));
    } else {
      TypeInfo t = body.outputs[1 + i].type;
      if (t.has_shape) t.dims.insert(t.dims.begin(), Dim{});
      ctx.outputs[i] = t;
    }
  }
}

// Stacks per-iteration values along a new leading axis.
Tensor stack(const OpContext& ctx, const std::vector<Tensor>& parts, const TypeInfo& declared,
             size_t index) {
  if (parts.empty()) {
    Shape s{0};
    if (declared.fully_known()) {
      Shape d = declared.known_shape();
      s.insert(s.end(), d.begin(), d.end());
    }
    DType dt = declared.dtype == DType::undefined ? DType::f32 : declared.dtype;
    return Tensor(dt, s);
  }
  const Tensor& first = parts[0];
  Shape s = first.shape();
  s.insert(s.begin(), static_cast<int64_t>(parts.size()));
  Tensor out(first.dtype(), s);
  const size_t bytes = first.nbytes();
  auto* dst = static_cast<unsigned char*>(out.raw());
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].dtype() != first.dtype() || parts[i].shape() != first.shape())
      ctx.fail("scan output {} is {} {} in iteration {} but {} {} in iteration 0", index,
               dtype_name(parts[i].dtype()), shape_str(parts[i].shape()), i,
               dtype_name(first.dtype()), shape_str(first.shape()));
    if (bytes > 0) std::memcpy(dst + i * bytes, parts[i].raw(), bytes);
  }
  return out;
}

void run_loop(OpContext& ctx) {
  const Graph& body = graph_attr(ctx.node, "body");
  LoopCounts c = loop_counts(ctx, body);
  const bool has_max = ctx.has_input(0), has_cond = ctx.has_input(1);
  int64_t max_trips = 0;
  if (has_max) {
    const Tensor& m = ctx.input(0);
    if (m.dtype() != DType::i64 || m.numel() != 1)
      ctx.fail("M must be an int64 scalar, got {} {}", dtype_name(m.dtype()), shape_str(m.shape()));
    max_trips = m.data<int64_t>()[0];
  }
  bool cond = has_cond ? bool_scalar(ctx, ctx.input(1), "cond") : true;
  if (!has_max && !has_cond) ctx.fail("a Loop without M and cond never terminates");

  std::vector<Tensor> carried;
  for (size_t i = 0; i < c.carried; ++i) {
    if (!ctx.has_input(static_cast<int>(2 + i)))
      ctx.fail("loop-carried input {} is missing (optional values are not supported)", i);
    carried.push_back(ctx.input(static_cast<int>(2 + i)));
  }
  std::vector<std::vector<Tensor>> scans(c.scans);
  std::vector<Tensor> body_in(c.carried + 2);
  for (int64_t it = 0; (!has_max || it < max_trips) && cond; ++it) {
    body_in[0] = Tensor::scalar_i64(it);
    body_in[1] = make_bool(cond);
    for (size_t i = 0; i < c.carried; ++i) body_in[2 + i] = carried[i];
    std::vector<Tensor> out = ctx.run_subgraph(body, body_in);
    // Without a cond input the body's condition output is ignored (a for loop).
    if (has_cond) cond = bool_scalar(ctx, out[0], "the body's condition output");
    for (size_t i = 0; i < c.carried; ++i) carried[i] = out[1 + i];
    for (size_t j = 0; j < c.scans; ++j) scans[j].push_back(out[1 + c.carried + j]);
  }
  for (size_t i = 0; i < static_cast<size_t>(ctx.num_outputs()); ++i) {
    if (!ctx.has_output(static_cast<int>(i))) continue;
    if (i < c.carried) {
      ctx.outputs[i] = carried[i];
    } else {
      const size_t j = i - c.carried;
      ctx.outputs[i] = stack(ctx, scans[j], body.outputs[1 + i].type, j);
    }
  }
}

}  // namespace

void register_control_ops(OpRegistry& r) {
  r.add({"If", "", infer_if, run_if});
  r.add({"Loop", "", infer_loop, run_loop});
}

}  // namespace nnaccel
