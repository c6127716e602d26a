// The simd QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, QAdd and Cast (integers to
// float) kernels against the reference kernels on random data, ragged sizes, per tensor and per
// axis, plain and blocked: bit-exact except QAdd (float vs the reference's double: off-by-ones
// counted, none by 2).
#include <cstring>
#include <limits>
#include <random>

#include "kernels/simd_test_util.hpp"

namespace nnaccel::testing {
namespace {

const std::vector<int64_t> kSizes = {1, 7, 15, 16, 17, 33, 1003, 300001};

Tensor random_ints(DType t, const Shape& shape, uint32_t seed) {
  Tensor x(t, shape);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u8(0, 255), i8(-128, 127), i32(-3000000, 3000000);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (t == DType::u8) x.data<uint8_t>()[i] = static_cast<uint8_t>(u8(rng));
    if (t == DType::i8) x.data<int8_t>()[i] = static_cast<int8_t>(i8(rng));
    if (t == DType::i32) x.data<int32_t>()[i] = i32(rng);
  }
  return x;
}

Tensor scalar_of(DType t, int v) {
  Tensor z(t, {});
  if (t == DType::u8) z.data<uint8_t>()[0] = static_cast<uint8_t>(v);
  if (t == DType::i8) z.data<int8_t>()[0] = static_cast<int8_t>(v);
  if (t == DType::i32) z.data<int32_t>()[0] = v;
  return z;
}

void expect_bytes_equal(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  int reported = 0;
  const size_t elem = static_cast<size_t>(dtype_bits(want.dtype()) / 8);
  for (int64_t i = 0; i < want.numel(); ++i) {
    const char* g = static_cast<const char*>(got.raw()) + static_cast<size_t>(i) * elem;
    const char* w = static_cast<const char*>(want.raw()) + static_cast<size_t>(i) * elem;
    if (std::memcmp(g, w, elem) != 0 && reported++ < 5)
      ADD_FAILURE() << what << " element " << i << ": got " << got.at_f64(i) << " want "
                    << want.at_f64(i);
  }
}

// Runs the simd kernel on `in` (constants: inputs 1.. when `constant_params`), plain layout.
std::vector<Tensor> run_simd(const Node& node, const std::vector<Tensor>& in,
                             const std::vector<Shape>& out_shapes, bool constant_params = true,
                             const std::vector<int64_t>& blocks = {}) {
  std::vector<bool> constant(in.size(), constant_params);
  constant[0] = false;
  FastKernel fk = make_fast_kernel("simd", node, in, out_shapes, constant, DType::f32, blocks);
  if (!simd_on()) {
    EXPECT_EQ(fk.kernel, nullptr);
    return {};
  }
  if (fk.kernel == nullptr) {
    ADD_FAILURE() << node.op_type << " declined";
    return {};
  }
  return run_fast_kernel(fk, in);
}

TEST(SimdQuant, QuantizeLinearPerTensorIsExact) {
  for (DType t : {DType::u8, DType::i8}) {
    const Node node = make_node("QuantizeLinear", 3, 1);
    for (int64_t n : kSizes) {
      const float scale = n % 2 ? 0.25f : 0.0371f;  // a power of two makes exact ties
      const Tensor x = quantize_input({n}, static_cast<uint32_t>(n), scale);
      const std::vector<Tensor> in = {x, Tensor::scalar_f32(scale),
                                      scalar_of(t, t == DType::u8 ? 131 : -7)};
      // Scale and zero point as constants, and fed at run time.
      for (bool constant : {true, false}) {
        const std::vector<Tensor> got = run_simd(node, in, {{n}}, constant);
        if (got.empty()) continue;
        expect_bytes_equal(got[0], run_op(node, in)[0],
                           std::string(dtype_name(t)) + " n=" + std::to_string(n));
      }
    }
  }
}

// A zero scale fed at run time is the data's error, reported as the reference does.
TEST(SimdQuant, QuantizeLinearReportsAZeroScale) {
  if (!simd_on()) return;
  const Node node = make_node("QuantizeLinear", 3, 1);
  const std::vector<Tensor> in = {random_f32({40}, 1), Tensor::scalar_f32(0.0f),
                                  scalar_of(DType::u8, 3)};
  FastKernel fk = make_fast_kernel("simd", node, in, {{40}});
  ASSERT_NE(fk.kernel, nullptr);
  EXPECT_THROW(run_fast_kernel(fk, in), Error);
  EXPECT_THROW(run_op(node, in), Error);
}

TEST(SimdQuant, QuantizeAndDequantizePerAxisAreExact) {
  struct Case {
    Shape shape;
    int64_t axis;
  };
  for (const Case& c :
       {Case{{3, 5, 7}, 1}, Case{{4, 9}, -1}, Case{{6, 2, 3, 3}, 0}, Case{{2, 21, 17}, 2}}) {
    const int64_t rank = static_cast<int64_t>(c.shape.size());
    const int64_t channels = c.shape[static_cast<size_t>((c.axis + rank) % rank)];
    Tensor scale = random_f32({channels}, 3, 0.01f, 0.2f);
    const std::string what = shape_str(c.shape) + " axis " + std::to_string(c.axis);
    for (DType t : {DType::u8, DType::i8, DType::i32}) {
      Tensor zp = random_ints(t, {channels}, 4);
      if (t == DType::i32) zp = Tensor(DType::i32, {channels});  // int32 requires 0
      const std::vector<Attribute> axis = {Attribute::of_int("axis", c.axis)};
      if (t != DType::i32) {
        const Node q = make_node("QuantizeLinear", 3, 1, axis);
        const std::vector<Tensor> in = {quantize_input(c.shape, 5, 0.1f), scale, zp};
        const std::vector<Tensor> got = run_simd(q, in, {c.shape});
        if (!got.empty()) expect_bytes_equal(got[0], run_op(q, in)[0], "Q " + what);
      }
      const Node dq = make_node("DequantizeLinear", 3, 1, axis);
      const std::vector<Tensor> in = {random_ints(t, c.shape, 6), scale, zp};
      const std::vector<Tensor> got = run_simd(dq, in, {c.shape});
      if (!got.empty())
        expect_bytes_equal(got[0], run_op(dq, in)[0],
                           std::string("DQ ") + dtype_name(t) + " " + what);
    }
  }
}

TEST(SimdQuant, DequantizeLinearPerTensorIsExact) {
  for (DType t : {DType::u8, DType::i8, DType::i32}) {
    for (int64_t n : kSizes) {
      const Tensor x = random_ints(t, {n}, static_cast<uint32_t>(n));
      const Tensor scale = Tensor::scalar_f32(0.0123f);
      const std::string what = std::string(dtype_name(t)) + " n=" + std::to_string(n);
      // With a zero point, without one, and scale / zero point computed at run time.
      const Node dq3 = make_node("DequantizeLinear", 3, 1);
      const std::vector<Tensor> in3 = {x, scale, scalar_of(t, t == DType::i32 ? 0 : 77)};
      for (bool constant : {true, false}) {
        if (t == DType::i32 && !constant) continue;  // declined: the zero point must be known 0
        std::vector<Tensor> got = run_simd(dq3, in3, {{n}}, constant);
        if (!got.empty()) expect_bytes_equal(got[0], run_op(dq3, in3)[0], what);
      }
      const Node dq2 = make_node("DequantizeLinear", 2, 1);
      std::vector<Tensor> got = run_simd(dq2, {x, scale}, {{n}});
      if (!got.empty()) expect_bytes_equal(got[0], run_op(dq2, {x, scale})[0], what + " no zp");
    }
  }
}

TEST(SimdQuant, CastOfIntegersToFloatIsExact) {
  // i32 values past 2^24 round: the conversion must round as the reference's does.
  for (DType t : {DType::u8, DType::i8, DType::i32}) {
    for (int64_t n : kSizes) {
      Tensor x = random_ints(t, {n}, static_cast<uint32_t>(n) + 5);
      if (t == DType::i32)
        for (int64_t i = 0; i < n; i += 3) x.data<int32_t>()[i] *= 701;
      Node cast = make_node("Cast", 1, 1);
      cast.attrs.push_back(Attribute::of_int("to", 1));
      std::vector<Tensor> got = run_simd(cast, {x}, {{n}});
      if (!got.empty())
        expect_bytes_equal(got[0], run_op(cast, {x})[0],
                           std::string(dtype_name(t)) + " n=" + std::to_string(n));
    }
  }
  // Declined: float to int (the reference's saturation rules are its own).
  Node to_int = make_node("Cast", 1, 1);
  to_int.attrs.push_back(Attribute::of_int("to", 6));
  FastKernel fk =
      make_fast_kernel("simd", to_int, {random_f32({9}, 1)}, {{9}}, {false}, DType::f32);
  EXPECT_EQ(fk.kernel, nullptr);
}

// Blocked [N, ceil(C/b), H, W, b] <-> plain [N, C, H, W] for any element size.
Tensor blocked_copy(const Tensor& t, const Shape& logical, int64_t b, bool to_blocked) {
  const ValueDesc d{t.dtype(), logical, true, b};
  Tensor out(t.dtype(), to_blocked ? d.physical_shape() : logical);
  const int64_t n = logical[0], c = logical[1], inner = shape_numel(logical) / (n * c);
  const int64_t cb = (c + b - 1) / b;
  const size_t e = static_cast<size_t>(dtype_bits(t.dtype()) / 8);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t s = 0; s < inner; ++s) {
        const int64_t p = (i * c + ch) * inner + s,
                      q = ((i * cb + ch / b) * inner + s) * b + ch % b;
        const int64_t from = to_blocked ? p : q, to = to_blocked ? q : p;
        std::memcpy(static_cast<char*>(out.raw()) + static_cast<size_t>(to) * e,
                    static_cast<const char*>(t.raw()) + static_cast<size_t>(from) * e, e);
      }
  return out;
}

// Every padding channel of a blocked value holds 0.
void expect_zero_padding(const Tensor& blocked, const Shape& logical, int64_t b) {
  const int64_t c = logical[1], cb = (c + b - 1) / b;
  const int64_t inner = shape_numel(logical) / (logical[0] * c);
  int64_t nonzero = 0;
  for (int64_t i = 0; i < logical[0]; ++i)
    for (int64_t s = 0; s < inner; ++s)
      for (int64_t lane = c % b == 0 ? b : c % b; lane < b; ++lane)
        nonzero += blocked.at_f64(((i * cb + cb - 1) * inner + s) * b + lane) != 0;
  EXPECT_EQ(nonzero, 0);
}

TEST(SimdQuant, PerTensorKernelsKeepBlockedLayoutsWithZeroPadding) {
  const Shape shape = {2, 19, 3, 5};
  for (int64_t b : {8, 16}) {
    const Tensor x = quantize_input(shape, 11, 0.05f);
    const Node q = make_node("QuantizeLinear", 3, 1);
    const std::vector<Tensor> qin = {x, Tensor::scalar_f32(0.05f), scalar_of(DType::u8, 120)};
    FastKernel fq = make_fast_kernel("simd", q, qin, {shape}, {false, true, true}, DType::f32, {b});
    if (!simd_on()) {
      EXPECT_EQ(fq.kernel, nullptr);
      return;
    }
    ASSERT_NE(fq.kernel, nullptr);
    EXPECT_EQ(fq.outputs[0].block, b);
    std::vector<Tensor> bin = qin;
    bin[0] = blocked_copy(x, shape, b, true);
    const Tensor yq = run_fast_kernel(fq, bin)[0];
    expect_zero_padding(yq, shape, b);
    const Tensor want_q = run_op(q, qin)[0];
    expect_bytes_equal(blocked_copy(yq, shape, b, false), want_q, "Q blocked");

    const Node dq = make_node("DequantizeLinear", 3, 1);
    const std::vector<Tensor> din = {want_q, Tensor::scalar_f32(0.05f), scalar_of(DType::u8, 120)};
    FastKernel fd =
        make_fast_kernel("simd", dq, din, {shape}, {false, true, true}, DType::f32, {b});
    ASSERT_NE(fd.kernel, nullptr);
    std::vector<Tensor> bdin = din;
    bdin[0] = yq;
    const Tensor yd = run_fast_kernel(fd, bdin)[0];
    expect_zero_padding(yd, shape, b);
    expect_bytes_equal(blocked_copy(yd, shape, b, false), run_op(dq, din)[0], "DQ blocked");
  }
}

TEST(SimdQuant, DynamicQuantizeLinearIsExact) {
  for (int64_t n : kSizes) {
    const Node node = make_node("DynamicQuantizeLinear", 1, 3);
    // Ranges on both sides of 0, and all positive (the range then starts at 0).
    for (float lo : {-3.7f, 0.5f}) {
      const Tensor x = random_f32({n}, static_cast<uint32_t>(n) + 1, lo, 5.1f);
      FastKernel fk = make_fast_kernel("simd", node, {x}, {{n}, {}, {}});
      if (!simd_on()) {
        EXPECT_EQ(fk.kernel, nullptr);
        continue;
      }
      ASSERT_NE(fk.kernel, nullptr);
      fk.outputs[0].dtype = DType::u8;
      fk.outputs[1] = ValueDesc{DType::f32, {}, true, 0};
      fk.outputs[2] = ValueDesc{DType::u8, {}, true, 0};
      const std::vector<Tensor> got = run_fast_kernel(fk, {x});
      const std::vector<Tensor> want = run_op(node, {x});
      const std::string what = "n=" + std::to_string(n);
      for (size_t i = 0; i < 3; ++i) expect_bytes_equal(got[i], want[i], what);
    }
  }
}

TEST(SimdQuant, DynamicQuantizeLinearReportsNaN) {
  if (!simd_on()) return;
  const Node node = make_node("DynamicQuantizeLinear", 1, 3);
  Tensor x = random_f32({1003}, 2);
  x.data<float>()[517] = std::numeric_limits<float>::quiet_NaN();
  FastKernel fk = make_fast_kernel("simd", node, {x}, {{1003}, {}, {}});
  ASSERT_NE(fk.kernel, nullptr);
  fk.outputs[0].dtype = DType::u8;
  fk.outputs[1] = ValueDesc{DType::f32, {}, true, 0};
  fk.outputs[2] = ValueDesc{DType::u8, {}, true, 0};
  EXPECT_THROW(run_fast_kernel(fk, {x}), Error);
}

struct QAddCase {
  Shape a, b;
  const char* activation;
};

Node qadd_node(const char* activation) {
  Node n = make_node("QAdd", 8, 1);
  n.domain = "ai.nnaccel";
  if (std::string(activation) == "Clip") {
    n.attrs = {Attribute::of_string("activation", "Clip"),
               Attribute::of_floats("activation_params", {-0.3f, 1.1f})};
  } else {
    n.attrs = {Attribute::of_string("activation", activation),
               Attribute::of_floats("activation_params", {})};
  }
  return n;
}

TEST(SimdQuant, QAddWithinOneLsbForResidualAndBiasBroadcasts) {
  const std::vector<QAddCase> cases = {
      {{2, 16, 5, 7}, {2, 16, 5, 7}, ""},
      {{1003}, {1003}, "Relu"},
      {{300001}, {300001}, ""},
      {{3, 17, 4, 5}, {17, 1, 1}, "Relu"},
      {{3, 17, 4, 5}, {1, 17, 1, 1}, "Clip"},
      {{4, 33}, {33}, ""},
      {{5, 9}, {}, "Relu"},
      {{17, 1, 1}, {2, 17, 3, 3}, ""},
  };
  int64_t off_by_one = 0, total = 0;
  for (DType t : {DType::u8, DType::i8}) {
    for (size_t ci = 0; ci < cases.size(); ++ci) {
      const QAddCase& c = cases[ci];
      const Node node = qadd_node(c.activation);
      const int zp = t == DType::u8 ? 128 : 0;
      const std::vector<Tensor> in = {random_ints(t, c.a, static_cast<uint32_t>(ci)),
                                      Tensor::scalar_f32(0.031f),
                                      scalar_of(t, zp + 3),
                                      random_ints(t, c.b, static_cast<uint32_t>(ci + 50)),
                                      Tensor::scalar_f32(0.047f),
                                      scalar_of(t, zp - 9),
                                      Tensor::scalar_f32(0.053f),
                                      scalar_of(t, zp + 1)};
      const Tensor want = run_op(node, in)[0];
      const std::string what = std::string(dtype_name(t)) + " " + shape_str(c.a) + " + " +
                               shape_str(c.b) + " " + c.activation;
      FastKernel fk = make_fast_kernel("simd", node, in, {want.shape()},
                                       {false, true, true, false, true, true, true, true});
      if (!simd_on()) {
        EXPECT_EQ(fk.kernel, nullptr);
        continue;
      }
      ASSERT_NE(fk.kernel, nullptr) << what;
      const Tensor got = run_fast_kernel(fk, in)[0];
      ASSERT_EQ(got.dtype(), t);
      ASSERT_EQ(got.shape(), want.shape());
      int64_t worse = 0;
      for (int64_t i = 0; i < want.numel(); ++i) {
        const int64_t d = std::abs(got.at_i64(i) - want.at_i64(i));
        off_by_one += d == 1;
        worse += d > 1;
      }
      total += want.numel();
      EXPECT_EQ(worse, 0) << what;
    }
  }
  EXPECT_LE(off_by_one, total / 1000);  // float vs double near .5: rare
}

TEST(SimdQuant, QAddBlockedSameShapeAndDeclinedBroadcast) {
  if (!simd_on()) return;
  const Shape shape = {2, 19, 3, 5};
  const Node node = qadd_node("Relu");
  const std::vector<Tensor> in = {
      random_ints(DType::u8, shape, 1), Tensor::scalar_f32(0.02f), scalar_of(DType::u8, 100),
      random_ints(DType::u8, shape, 2), Tensor::scalar_f32(0.03f), scalar_of(DType::u8, 90),
      Tensor::scalar_f32(0.04f),        scalar_of(DType::u8, 0)};
  const std::vector<bool> constant = {false, true, true, false, true, true, true, true};
  FastKernel fk = make_fast_kernel("simd", node, in, {shape}, constant, DType::f32, {16, 0, 0, 16});
  ASSERT_NE(fk.kernel, nullptr);
  EXPECT_EQ(fk.outputs[0].block, 16);
  std::vector<Tensor> bin = in;
  bin[0] = blocked_copy(in[0], shape, 16, true);
  bin[3] = blocked_copy(in[3], shape, 16, true);
  const Tensor y = run_fast_kernel(fk, bin)[0];
  expect_zero_padding(y, shape, 16);
  const Tensor plain = blocked_copy(y, shape, 16, false), want = run_op(node, in)[0];
  for (int64_t i = 0; i < want.numel(); ++i)
    ASSERT_LE(std::abs(plain.at_i64(i) - want.at_i64(i)), 1) << i;
  // [3, 1] + [1, 4]: a general broadcast goes to the reference.
  std::vector<Tensor> gen = in;
  gen[0] = random_ints(DType::u8, {3, 1}, 3);
  gen[3] = random_ints(DType::u8, {1, 4}, 4);
  EXPECT_EQ(make_fast_kernel("simd", node, gen, {{3, 4}}, constant).kernel, nullptr);
}

// QLookup against the reference on random codes of ragged lengths (the 64-byte VBMI steps and
// the scalar tail), u8 and i8 in and out, plain and channels-last (kept, byte order unchanged).
TEST(SimdQuant, QLookupMatchesTheReferenceExactly) {
  Node node = make_node("QLookup", 2, 1);
  node.domain = "ai.nnaccel";
  if (!simd_on()) {  // NNACCEL_MAX_ISA=scalar: every simd factory declines
    std::vector<ValueDesc> outs;
    const Tensor x = random_ints(DType::u8, {9}, 1), table = random_ints(DType::u8, {256}, 2);
    EXPECT_EQ(make_simd_kernel(node, {x, table}, {{9}}, outs, {false, true}), nullptr);
    return;
  }
  for (DType in : {DType::u8, DType::i8}) {
    for (DType out : {DType::u8, DType::i8}) {
      const Tensor table = random_ints(out, {256}, 3);
      for (int64_t n : kSizes) {
        const Tensor x = random_ints(in, {n}, static_cast<uint32_t>(n));
        const Tensor want = run_op(node, {x, table})[0];
        std::vector<ValueDesc> outs;
        auto k = make_simd_kernel(node, {x, table}, {{n}}, outs, {false, true});
        ASSERT_NE(k, nullptr);
        const Tensor got = run_kernel(*k, {x, table}, outs)[0];
        ASSERT_EQ(got.dtype(), out);
        EXPECT_EQ(std::memcmp(got.raw(), want.raw(), static_cast<size_t>(n)), 0) << n;
      }
    }
  }
  const Tensor x = random_ints(DType::u8, {2, 5, 3, 7}, 9),
               table = random_ints(DType::u8, {256}, 4);
  std::vector<ValueDesc> outs;
  auto k = make_simd_kernel(node, {x, table}, {{2, 5, 3, 7}}, outs, {false, true}, {5, 0});
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(outs[0].block, 5);  // channels-last in, channels-last out
  EXPECT_EQ(make_simd_kernel(node, {x, table}, {{2, 5, 3, 7}}, outs, {false, true}, {4, 0}),
            nullptr);  // blocks with padding channels: the table would map the padding
}

}  // namespace
}  // namespace nnaccel::testing
