#pragma once
// Helpers for the nn, normalization and loss op tests: shape-function calls, tensor comparison,
// channel slicing.
#include <gtest/gtest.h>

#include <cmath>

#include "core/cast.hpp"
#include "ops/op_test_util.hpp"

namespace nnaccel::testing {

// A TypeInfo with dims; -1 is an unknown dim.
inline TypeInfo ti(DType t, const std::vector<int64_t>& dims) {
  TypeInfo r;
  r.dtype = t;
  r.has_shape = true;
  for (int64_t d : dims) r.dims.push_back(d >= 0 ? Dim{d, {}} : Dim{});
  return r;
}

// Runs the node's shape function. `types` entries with dtype undefined are omitted inputs.
inline std::vector<TypeInfo> infer_op(const Node& node, const std::vector<TypeInfo>& types,
                                      const std::vector<const Tensor*>& values = {}) {
  const OpSchema* s = OpRegistry::instance().find(node.domain, node.op_type);
  if (s == nullptr) throw Error("no op " + node.op_type);
  std::vector<const TypeInfo*> ts;
  std::vector<const Tensor*> vs;
  for (size_t i = 0; i < types.size(); ++i) {
    ts.push_back(types[i].dtype == DType::undefined ? nullptr : &types[i]);
    vs.push_back(i < values.size() ? values[i] : nullptr);
  }
  InferContext ctx(node, ts, vs);
  s->infer(ctx);
  return ctx.outputs;
}

// The known dims of a TypeInfo, -1 for unknown ones.
inline std::vector<int64_t> dims_of(const TypeInfo& t) {
  std::vector<int64_t> d;
  for (const Dim& x : t.dims) d.push_back(x.known() ? x.value : -1);
  return d;
}

// Same dtype and shape, and every value within atol + rtol * |expected|.
inline void expect_close(const Tensor& actual, const Tensor& expected, double atol = 1e-5,
                         double rtol = 1e-5) {
  ASSERT_EQ(actual.dtype(), expected.dtype());
  ASSERT_EQ(actual.shape(), expected.shape());
  int reported = 0;
  for (int64_t i = 0; i < expected.numel(); ++i) {
    const double a = actual.at_f64(i), e = expected.at_f64(i);
    if (!(std::fabs(a - e) <= atol + rtol * std::fabs(e)) && reported++ < 5)
      ADD_FAILURE() << "element " << i << ": " << a << " expected " << e;
  }
}

inline void expect_values(const Tensor& actual, const Shape& shape,
                          const std::vector<double>& values, double atol = 1e-5) {
  ASSERT_EQ(actual.shape(), shape);
  ASSERT_EQ(actual.numel(), static_cast<int64_t>(values.size()));
  for (int64_t i = 0; i < actual.numel(); ++i)
    EXPECT_NEAR(actual.at_f64(i), values[static_cast<size_t>(i)], atol) << "element " << i;
}

// Channels [c0, c1) of an [N, C, ...] float tensor.
inline Tensor slice_axis1(const Tensor& x, int64_t c0, int64_t c1) {
  Shape s = x.shape();
  const int64_t n = s[0], c = s[1];
  int64_t inner = 1;
  for (size_t i = 2; i < s.size(); ++i) inner *= s[i];
  s[1] = c1 - c0;
  Tensor r(x.dtype(), s);
  const size_t es = static_cast<size_t>(dtype_bits(x.dtype()) / 8);
  for (int64_t b = 0; b < n; ++b)
    std::memcpy(static_cast<char*>(r.raw()) + static_cast<size_t>(b * (c1 - c0) * inner) * es,
                static_cast<const char*>(x.raw()) + static_cast<size_t>((b * c + c0) * inner) * es,
                static_cast<size_t>((c1 - c0) * inner) * es);
  return r;
}

inline double sum_of_products(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += a.at_f64(i) * b.at_f64(i);
  return s;
}

}  // namespace nnaccel::testing
