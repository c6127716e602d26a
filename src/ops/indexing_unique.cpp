// Unique: distinct elements (or slices along an axis), sorted or in order of first occurrence,
// with first-occurrence indices, inverse indices and counts.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/cast.hpp"
#include "ops/shape_util.hpp"

namespace nnaccel {

using namespace shape_util;

namespace {

// A strict weak order for every element type: NaNs sort last and are equal to each other.
template <typename T>
bool value_less(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a < b;
}

struct UniqueGroups {
  std::vector<int64_t> first;    // per group: first slice index where it occurs
  std::vector<int64_t> counts;   // per group
  std::vector<int64_t> inverse;  // per slice: its group
};

// Groups the n slices of `keys` viewed as [outer, n, inner] by value.
template <typename T>
UniqueGroups group_slices(const T* k, int64_t outer, int64_t n, int64_t inner, bool sorted) {
  auto cmp = [&](int64_t i, int64_t j) {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t e = 0; e < inner; ++e) {
        const T a = k[(o * n + i) * inner + e], b = k[(o * n + j) * inner + e];
        if (value_less(a, b)) return -1;
        if (value_less(b, a)) return 1;
      }
    return 0;
  };
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int64_t i, int64_t j) { return cmp(i, j) < 0; });
  UniqueGroups g;
  g.inverse.resize(static_cast<size_t>(n));
  for (size_t p = 0; p < perm.size(); ++p) {
    // The stable sort keeps equal slices in index order, so a group's first member comes first.
    if (p == 0 || cmp(perm[p - 1], perm[p]) != 0) {
      g.first.push_back(perm[p]);
      g.counts.push_back(0);
    }
    g.counts.back() += 1;
    g.inverse[static_cast<size_t>(perm[p])] = static_cast<int64_t>(g.first.size()) - 1;
  }
  if (!sorted) {  // renumber the groups in order of first occurrence
    const size_t groups = g.first.size();
    std::vector<int64_t> order(groups);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return g.first[static_cast<size_t>(a)] < g.first[static_cast<size_t>(b)];
    });
    std::vector<int64_t> rank(groups), first(groups), counts(groups);
    for (size_t i = 0; i < groups; ++i) {
      const auto old = static_cast<size_t>(order[i]);
      rank[old] = static_cast<int64_t>(i);
      first[i] = g.first[old];
      counts[i] = g.counts[old];
    }
    for (int64_t& v : g.inverse) v = rank[static_cast<size_t>(v)];
    g.first = std::move(first);
    g.counts = std::move(counts);
  }
  return g;
}

void run_unique(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const bool sorted = ctx.attr_int("sorted", 1) != 0;
  const bool has_axis = ctx.attr("axis") != nullptr;
  const size_t es = elem_bytes(ctx, x.dtype());
  Shape view = has_axis ? x.shape() : Shape{x.numel()};
  if (view.empty()) ctx.fail("input must have rank >= 1 when axis is given");
  const auto axis =
      has_axis ? static_cast<size_t>(norm_axis(ctx, ctx.attr_int("axis", 0), x.rank())) : 0;
  const int64_t outer = prod(view, 0, axis), n = view[axis],
                inner = prod(view, axis + 1, view.size());
  const bool half = x.dtype() == DType::f16 || x.dtype() == DType::bf16;
  const Tensor keys = half ? cast_tensor(x, DType::f32) : x;
  UniqueGroups g;
  visit_numeric(keys.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    g = group_slices<T>(keys.data<T>(), outer, n, inner, sorted);
  });
  const auto groups = static_cast<int64_t>(g.first.size());
  Shape y_shape = view;
  y_shape[axis] = groups;
  Tensor y = new_tensor(ctx, x.dtype(), y_shape);
  const size_t block = static_cast<size_t>(inner) * es;
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  if (block > 0)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < groups; ++i) {
        std::memcpy(dst, src + static_cast<size_t>(o * n + g.first[static_cast<size_t>(i)]) * block,
                    block);
        dst += block;
      }
  ctx.outputs[0] = y;
  if (ctx.num_outputs() > 1) ctx.outputs[1] = vector_tensor(DType::i64, g.first);
  if (ctx.num_outputs() > 2) ctx.outputs[2] = vector_tensor(DType::i64, g.inverse);
  if (ctx.num_outputs() > 3) ctx.outputs[3] = vector_tensor(DType::i64, g.counts);
}

void infer_unique(InferContext& ctx) {
  const TypeInfo& x = ctx.type(0);
  const bool has_axis = ctx.node.attr("axis") != nullptr;
  Dim n;
  if (has_axis) {
    if (x.has_shape) {
      if (x.dims.empty()) ctx.fail("input must have rank >= 1 when axis is given");
      std::vector<Dim> d = x.dims;
      const auto axis = static_cast<size_t>(
          norm_axis(ctx, ctx.node.attr_int("axis", 0), static_cast<int64_t>(d.size())));
      n = d[axis];
      d[axis] = Dim{};
      ctx.outputs[0] = with_dims(x.dtype, d);
    } else {
      ctx.outputs[0] = unknown_rank(x.dtype);
    }
  } else {
    ctx.outputs[0] = with_rank(x.dtype, 1);
    if (x.fully_known()) n = known_dim(shape_numel(x.known_shape()));
  }
  if (ctx.num_outputs() > 1) ctx.outputs[1] = with_rank(DType::i64, 1);
  if (ctx.num_outputs() > 2) ctx.outputs[2] = with_dims(DType::i64, {n});
  if (ctx.num_outputs() > 3) ctx.outputs[3] = with_rank(DType::i64, 1);
}

}  // namespace

void register_indexing_unique_ops(OpRegistry& r) {
  r.add({"Unique", "", infer_unique, run_unique});
}

}  // namespace nnaccel
