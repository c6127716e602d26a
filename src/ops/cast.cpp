// Ops of the 'cast' family (see ops.def): Cast and CastLike, both with cast_tensor's ONNX Cast
// semantics (float to float rounds to nearest even, float to int truncates, to bool is != 0).
#include "core/cast.hpp"

#include "ops/elementwise_common.hpp"

namespace nnaccel {

using namespace elementwise;

namespace {

// The element types cast_tensor converts between.
bool castable(DType t) { return is_float(t) || is_int(t) || t == DType::boolean; }

template <typename Ctx>
void check_castable(const Ctx& ctx, const char* what, DType t) {
  if (t != DType::undefined && !castable(t))
    ctx.fail("cannot cast {} {}: supported are float, float16, bfloat16, double, integers and bool",
             what, dtype_name(t));
}

template <typename Ctx>
DType cast_target(const Ctx& ctx) {
  if (ctx.node.attr("to") == nullptr) ctx.fail("attribute 'to' is required");
  const int64_t to = ctx.node.attr_int("to", 0);
  if (to <= 0 || to > 1000 || !dtype_is_known(static_cast<int32_t>(to)))
    ctx.fail("attribute 'to' = {} is not an element type", to);
  const DType t = static_cast<DType>(to);
  check_castable(ctx, "to", t);
  return t;
}

void run_cast(OpContext& ctx) {
  const DType to = cast_target(ctx);
  const Tensor& x = ctx.input(0);
  check_castable(ctx, "from", x.dtype());
  ctx.outputs[0] = cast_tensor(x, to);
}

void infer_cast(InferContext& ctx) {
  const DType to = cast_target(ctx);
  check_castable(ctx, "from", ctx.type(0).dtype);
  ctx.outputs[0] = ctx.type(0);
  ctx.outputs[0].dtype = to;
}

void run_cast_like(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const DType to = ctx.input(1).dtype();
  check_castable(ctx, "from", x.dtype());
  check_castable(ctx, "to", to);
  ctx.outputs[0] = cast_tensor(x, to);
}

void infer_cast_like(InferContext& ctx) {
  check_castable(ctx, "from", ctx.type(0).dtype);
  check_castable(ctx, "to", ctx.type(1).dtype);
  ctx.outputs[0] = ctx.type(0);
  ctx.outputs[0].dtype = ctx.type(1).dtype;
}

}  // namespace

void register_cast_ops(OpRegistry& r) {
  r.add({"Cast", "", infer_cast, run_cast});
  r.add({"CastLike", "", infer_cast_like, run_cast_like});
}

}  // namespace nnaccel
