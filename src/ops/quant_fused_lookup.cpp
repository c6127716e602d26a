// ai.nnaccel QLookup (see INT8_CONTRACT.md): y = table[x - min(x's type)], an int8 tensor mapped
// through 256 precomputed int8 values. fuse_quantized_lookup writes it for DequantizeLinear ->
// elementwise float ops of that one value -> QuantizeLinear, whose result for each of the 256
// inputs the table holds.
#include "ops/quant_fused.hpp"

namespace nnaccel {

namespace {

void check_int8(const InferContext& ctx, int i, const char* what) {
  const DType t = ctx.type(i).dtype;
  if (t != DType::undefined && t != DType::u8 && t != DType::i8)
    ctx.fail("{} must be uint8 or int8, got {}", what, dtype_name(t));
}

void infer_qlookup(InferContext& ctx) {
  check_int8(ctx, 0, "x");
  check_int8(ctx, 1, "table");
  const TypeInfo& table = ctx.type(1);
  if (table.has_shape &&
      (table.dims.size() != 1 || (table.dims[0].known() && table.dims[0].value != 256)))
    ctx.fail("table must have shape [256]");
  TypeInfo t = ctx.type(0);
  t.dtype = table.dtype;
  ctx.outputs[0] = t;
}

void run_qlookup(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& table = ctx.input(1);
  quant::check_u8_or_i8(ctx, x.dtype(), "x");
  quant::check_u8_or_i8(ctx, table.dtype(), "table");
  if (table.rank() != 1 || table.numel() != 256)
    ctx.fail("table must have shape [256], got {}", shape_str(table.shape()));
  const int offset = x.dtype() == DType::i8 ? 128 : 0;
  Tensor y(table.dtype(), x.shape());
  const uint8_t* t = static_cast<const uint8_t*>(table.raw());
  uint8_t* out = static_cast<uint8_t*>(y.raw());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int code = static_cast<int>(x.at_i64(i)) + offset;
    out[i] = t[code];
  }
  ctx.outputs[0] = y;
}

}  // namespace

void register_quant_fused_lookup_ops(OpRegistry& r) {
  r.add({"QLookup", "ai.nnaccel", infer_qlookup, run_qlookup});
}

}  // namespace nnaccel
