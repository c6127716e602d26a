#pragma once
// Small helpers for the elementwise and cast op tests: typed tensors from literals, values back
// out, and running an op's shape function.
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/cast.hpp"
#include "core/dtype_dispatch.hpp"
#include "op_test_util.hpp"

namespace nnaccel::testing {

template <typename T>
Tensor tensor_of(Shape shape, std::initializer_list<T> values) {
  Tensor t(dtype_of<T>(), std::move(shape));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel());
  int64_t i = 0;
  for (T v : values) t.data<T>()[i++] = v;
  return t;
}

inline Tensor f32_of(Shape shape, std::initializer_list<float> values) {
  return tensor_of<float>(std::move(shape), values);
}

// A float16 tensor holding the given values rounded to f16.
inline Tensor f16_of(Shape shape, std::initializer_list<float> values) {
  return cast_tensor(f32_of(std::move(shape), values), DType::f16);
}

template <typename T>
std::vector<T> values_of(const Tensor& t) {
  EXPECT_EQ(t.dtype(), dtype_of<T>());
  std::vector<T> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.data<T>()[i]);
  return v;
}

// Every element of t (any float dtype) within tol of the expected values; NaN matches NaN.
inline void expect_all_near(const Tensor& t, const std::vector<double>& expected,
                            double tol = 1e-6) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size()));
  const Tensor f = cast_tensor(t, DType::f64);
  for (size_t i = 0; i < expected.size(); ++i) {
    const double a = f.data<double>()[i];
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(a)) << "element " << i << " is " << a << ", expected NaN";
    } else if (std::isinf(expected[i])) {
      EXPECT_EQ(a, expected[i]) << "element " << i;
    } else {
      EXPECT_NEAR(a, expected[i], tol) << "element " << i;
    }
  }
}

// Runs a one-output op.
inline Tensor run1(const std::string& op, const std::vector<Tensor>& inputs,
                   std::vector<Attribute> attrs = {}) {
  Node n = make_node(op, static_cast<int>(inputs.size()), 1, std::move(attrs));
  return run_op(n, inputs)[0];
}

// Runs the op's shape function on the given input types; returns output 0's type.
inline TypeInfo infer1(const std::string& op, const std::vector<TypeInfo>& types,
                       std::vector<Attribute> attrs = {}) {
  Node n = make_node(op, static_cast<int>(types.size()), 1, std::move(attrs));
  const OpSchema* s = OpRegistry::instance().find("", op);
  if (s == nullptr) throw Error("no op " + op);
  std::vector<const TypeInfo*> ts;
  std::vector<const Tensor*> vs;
  for (const TypeInfo& t : types) {
    ts.push_back(t.dtype == DType::undefined && !t.has_shape ? nullptr : &t);
    vs.push_back(nullptr);
  }
  InferContext ctx(n, ts, vs);
  s->infer(ctx);
  return ctx.outputs[0];
}

inline TypeInfo type_of(DType t, std::vector<Dim> dims) {
  TypeInfo i;
  i.dtype = t;
  i.has_shape = true;
  i.dims = std::move(dims);
  return i;
}
inline Dim known(int64_t v) { return Dim{v, {}}; }
inline Dim symbolic(const std::string& name) { return Dim{-1, name}; }

// The error message of running `op`, or "" when it did not throw.
inline std::string run_error(const std::string& op, const std::vector<Tensor>& inputs,
                             std::vector<Attribute> attrs = {}) {
  try {
    run1(op, inputs, std::move(attrs));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace nnaccel::testing
