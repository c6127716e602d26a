#pragma once
// Element types. The numeric values are ONNX's TensorProto.DataType values so that import and
// export are a cast; the sub-byte and fp8 ids follow later ONNX releases.
#include <cstddef>
#include <cstdint>
#include <string>

namespace nnaccel {

enum class DType : int32_t {
  undefined = 0,
  f32 = 1,
  u8 = 2,
  i8 = 3,
  u16 = 4,
  i16 = 5,
  i32 = 6,
  i64 = 7,
  string = 8,
  boolean = 9,
  f16 = 10,
  f64 = 11,
  u32 = 12,
  u64 = 13,
  c64 = 14,
  c128 = 15,
  bf16 = 16,
  f8e4m3fn = 17,
  f8e4m3fnuz = 18,
  f8e5m2 = 19,
  f8e5m2fnuz = 20,
  u4 = 21,
  i4 = 22,
};

// Bits one element takes in storage (4 for u4/i4, 0 for undefined/string).
int dtype_bits(DType t);
// Bytes needed for n elements, rounding sub-byte types up to whole bytes.
size_t dtype_storage_bytes(DType t, int64_t n);
const char* dtype_name(DType t);  // "float32", "int64", ...
bool dtype_is_float(DType t);     // f16, bf16, f32, f64 and fp8s
bool dtype_is_signed_int(DType t);
bool dtype_is_unsigned_int(DType t);
bool dtype_is_known(int32_t onnx_value);  // a value this enum names

// IEEE half and bfloat16 conversions, round to nearest even, NaN preserved.
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t b);
uint16_t f32_to_bf16(float f);

// Storage types for the 16-bit floats, distinct so templates can dispatch on them.
struct f16_t {
  uint16_t bits;
};
struct bf16_t {
  uint16_t bits;
};

}  // namespace nnaccel
