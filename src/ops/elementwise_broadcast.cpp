// The broadcasting engine and element-type sets of the elementwise families.
#include <algorithm>

#include "ops/elementwise_common.hpp"

namespace nnaccel::elementwise {

BroadcastPlan plan_broadcast(const OpContext& ctx, const std::vector<const Shape*>& shapes) {
  BroadcastPlan p;
  size_t rank = 0;
  for (const Shape* s : shapes) rank = std::max(rank, s->size());
  p.out_shape.assign(rank, 1);
  for (const Shape* s : shapes) {
    const size_t off = rank - s->size();
    for (size_t i = 0; i < s->size(); ++i) {
      int64_t d = (*s)[i];
      int64_t& o = p.out_shape[off + i];
      if (d == o || d == 1) continue;
      if (o != 1) {
        std::string all;
        for (const Shape* t : shapes) all += (all.empty() ? "" : " and ") + shape_str(*t);
        ctx.fail("cannot broadcast shapes {} (axis {}: {} vs {})", all, off + i, o, d);
      }
      o = d;
    }
  }
  try {
    p.numel = shape_numel(p.out_shape);
  } catch (const Error& e) {
    ctx.fail("{}", e.what());
  }

  // Full-rank strides, 0 along broadcast axes.
  std::vector<Shape> full(shapes.size(), Shape(rank, 0));
  for (size_t k = 0; k < shapes.size(); ++k) {
    const Shape& s = *shapes[k];
    const size_t off = rank - s.size();
    int64_t stride = 1;
    for (size_t i = s.size(); i-- > 0;) {
      full[k][off + i] = s[i] == 1 ? 0 : stride;
      stride *= s[i];
    }
  }
  // Drop size-1 axes and merge an axis into the next when every input walks both contiguously.
  p.strides.assign(shapes.size(), Shape{});
  for (size_t d = 0; d < rank; ++d) {
    const int64_t n = p.out_shape[d];
    if (n == 1) continue;
    bool merge = !p.dims.empty();
    for (size_t k = 0; k < shapes.size() && merge; ++k)
      merge = p.strides[k].back() == full[k][d] * n;
    if (merge) {
      p.dims.back() *= n;
      for (size_t k = 0; k < shapes.size(); ++k) p.strides[k].back() = full[k][d];
    } else {
      p.dims.push_back(n);
      for (size_t k = 0; k < shapes.size(); ++k) p.strides[k].push_back(full[k][d]);
    }
  }
  return p;
}

bool in_type_set(DType t, TypeSet s) {
  switch (s) {
    case TypeSet::floats: return is_float(t);
    case TypeSet::signed_numeric: return is_float(t) || is_signed_int(t);
    case TypeSet::numeric: return is_float(t) || is_int(t);
    case TypeSet::unsigned_ints: return is_unsigned_int(t);
    case TypeSet::boolean: return t == DType::boolean;
    case TypeSet::numeric_or_bool: return is_float(t) || is_int(t) || t == DType::boolean;
  }
  return false;
}

const char* type_set_name(TypeSet s) {
  switch (s) {
    case TypeSet::floats: return "a float type";
    case TypeSet::signed_numeric: return "a float or signed integer type";
    case TypeSet::numeric: return "a numeric type";
    case TypeSet::unsigned_ints: return "an unsigned integer type";
    case TypeSet::boolean: return "bool";
    case TypeSet::numeric_or_bool: return "a numeric type or bool";
  }
  return "?";
}

}  // namespace nnaccel::elementwise
