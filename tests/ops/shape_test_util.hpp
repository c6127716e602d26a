#pragma once
// Small helpers for the shape and indexing op tests: building tensors, running shape functions.
#include <gmock/gmock.h>

#include "nnaccel/error.hpp"
#include "op_test_util.hpp"

namespace nnaccel::testing {

inline Tensor f32(Shape s, std::vector<float> v) { return Tensor::from_f32(std::move(s), v); }
inline Tensor i64(Shape s, std::vector<int64_t> v) { return Tensor::from_i64(std::move(s), v); }
inline Tensor i64s(std::vector<int64_t> v) {
  auto n = static_cast<int64_t>(v.size());
  return Tensor::from_i64({n}, v);
}
inline Tensor i32(Shape s, std::vector<int32_t> v) {
  Tensor t(DType::i32, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) t.data<int32_t>()[i] = v[i];
  return t;
}
inline Tensor boolean(Shape s, std::vector<int> v) {
  Tensor t(DType::boolean, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(v[i] != 0);
  return t;
}
// Values as int64 / float for comparisons.
inline std::vector<int64_t> ints(const Tensor& t) { return t.to_i64_vector(); }
inline std::vector<float> floats(const Tensor& t) { return t.to_f32_vector(); }

inline Tensor run1(const Node& n, const std::vector<Tensor>& in) { return run_op(n, in).at(0); }

// Runs the node's shape function on the given input types and known values (null: unknown).
inline std::vector<TypeInfo> infer_op(const Node& node, const std::vector<TypeInfo>& types,
                                      const std::vector<const Tensor*>& values = {}) {
  const OpSchema* s = OpRegistry::instance().find(node.domain, node.op_type);
  if (s == nullptr) throw Error("no op " + node.op_type);
  std::vector<const TypeInfo*> ts;
  for (const TypeInfo& t : types) ts.push_back(t.dtype == DType::undefined ? nullptr : &t);
  std::vector<const Tensor*> vs = values;
  vs.resize(types.size(), nullptr);
  InferContext ctx(node, ts, vs);
  s->infer(ctx);
  return ctx.outputs;
}

inline TypeInfo type_of(const Tensor& t) { return TypeInfo::of(t.dtype(), t.shape()); }

// A type with some unknown dims (-1).
inline TypeInfo partial(DType dt, std::vector<int64_t> dims) {
  TypeInfo t;
  t.dtype = dt;
  t.has_shape = true;
  for (int64_t d : dims) t.dims.push_back(Dim{d, {}});
  return t;
}

// Dims of a TypeInfo as ints (-1 for unknown).
inline std::vector<int64_t> dims(const TypeInfo& t) {
  std::vector<int64_t> d;
  for (const Dim& x : t.dims) d.push_back(x.known() ? x.value : -1);
  return d;
}

// Expects an Error whose message contains `part`.
#define EXPECT_ERROR_WITH(stmt, part)                                     \
  do {                                                                    \
    try {                                                                 \
      stmt;                                                               \
      ADD_FAILURE() << "expected an Error containing '" << (part) << "'"; \
    } catch (const ::nnaccel::Error& e) {                                 \
      EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr(part));     \
    }                                                                     \
  } while (0)

// Caps allocations for one test, restoring the previous cap afterwards.
struct ScopedMemoryCap {
  explicit ScopedMemoryCap(uint64_t bytes) : old(max_allocation_bytes()) {
    set_max_allocation_bytes(bytes);
  }
  ~ScopedMemoryCap() { set_max_allocation_bytes(old); }
  uint64_t old;
};

}  // namespace nnaccel::testing
