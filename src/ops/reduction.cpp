// Ops of the 'reduction' family (see ops.def): the Reduce* ops, written once on one engine that
// walks the kept dims and accumulates along the reduced ones. ArgMax/ArgMin/CumSum/TopK, which
// work along a single axis, are in reduction_along_axis.cpp.
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/cast.hpp"
#include "core/dtype_dispatch.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

void register_reduction_along_axis_ops(OpRegistry& r);

namespace {

// Which set of axes a Reduce node reduces. `noop` means "return the input unchanged"
// (ReduceSum with noop_with_empty_axes and no axes).
struct AxesSpec {
  bool known = true;  // false when ReduceSum's axes input is not a known constant
  bool noop = false;
  std::vector<bool> reduced;  // per input axis
};

// Opset 17: ReduceSum takes axes as optional input 1; every other Reduce op as an attribute.
bool axes_from_input(const std::string& op) { return op == "ReduceSum"; }

template <typename Ctx>
AxesSpec resolve_axes(const Ctx& ctx, const Node& node, int rank, const Tensor* axes_input,
                      bool axes_input_given) {
  AxesSpec spec;
  std::vector<int64_t> axes;
  if (axes_from_input(node.op_type)) {
    if (node.attr("axes") != nullptr)
      ctx.fail("'axes' is an input of {} since opset 13, not an attribute", node.op_type);
    if (axes_input_given) {
      if (axes_input == nullptr) {
        spec.known = false;
        return spec;
      }
      if (axes_input->dtype() != DType::i64)
        ctx.fail("axes must be int64, got {}", dtype_name(axes_input->dtype()));
      if (axes_input->rank() > 1) ctx.fail("axes must be 1-D, got rank {}", axes_input->rank());
      axes = axes_input->to_i64_vector();
    }
  } else {
    if (axes_input_given)
      ctx.fail("{} takes 'axes' as an attribute in opset 17, not as an input", node.op_type);
    axes = node.attr_ints("axes", {});
  }
  spec.reduced.assign(static_cast<size_t>(rank), false);
  if (axes.empty()) {
    if (node.attr_int("noop_with_empty_axes", 0) != 0) {
      spec.noop = true;
    } else {
      spec.reduced.assign(static_cast<size_t>(rank), true);
    }
    return spec;
  }
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) ctx.fail("axis {} is out of range for rank {}", a, rank);
    int64_t n = a < 0 ? a + rank : a;
    if (spec.reduced[static_cast<size_t>(n)]) ctx.fail("axis {} is listed twice", a);
    spec.reduced[static_cast<size_t>(n)] = true;
  }
  return spec;
}

// ---- accumulators: one struct per op, over the element type T ----

template <typename T>
constexpr bool kIsFloat = std::is_floating_point_v<T>;

// Integer sums and products wrap modulo 2^64 (unsigned arithmetic, no UB); the conversion back
// to T is modular as well, so the result equals the wrapped result in T.
template <typename T>
uint64_t to_wrap(T v) {
  return static_cast<uint64_t>(v);
}

// double -> T for results computed in double (L2, LogSum, LogSumExp, Mean of floats). Integer
// results truncate toward zero like a Cast, and saturate instead of overflowing.
template <typename T>
T from_double(double v) {
  if constexpr (kIsFloat<T>) {
    return static_cast<T>(v);
  } else {
    if (std::isnan(v)) return T{0};
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

template <typename T>
struct SumOp {
  using Acc = std::conditional_t<kIsFloat<T>, double, uint64_t>;
  static Acc init() { return Acc{0}; }
  static void add(Acc& a, T v) {
    if constexpr (kIsFloat<T>)
      a += v;
    else
      a += to_wrap(v);
  }
  static T finish(Acc a, int64_t) { return static_cast<T>(a); }
};

template <typename T>
struct SumSquareOp {
  using Acc = std::conditional_t<kIsFloat<T>, double, uint64_t>;
  static Acc init() { return Acc{0}; }
  static void add(Acc& a, T v) {
    if constexpr (kIsFloat<T>)
      a += static_cast<double>(v) * static_cast<double>(v);
    else
      a += to_wrap(v) * to_wrap(v);
  }
  static T finish(Acc a, int64_t) { return static_cast<T>(a); }
};

template <typename T>
struct L1Op {
  using Acc = std::conditional_t<kIsFloat<T>, double, uint64_t>;
  static Acc init() { return Acc{0}; }
  static void add(Acc& a, T v) {
    if constexpr (kIsFloat<T>)
      a += std::fabs(static_cast<double>(v));
    else if constexpr (std::is_signed_v<T>)
      a += v < 0 ? uint64_t{0} - to_wrap(v) : to_wrap(v);
    else
      a += to_wrap(v);
  }
  static T finish(Acc a, int64_t) { return static_cast<T>(a); }
};

template <typename T>
struct L2Op {
  using Acc = double;
  static Acc init() { return 0.0; }
  static void add(Acc& a, T v) { a += static_cast<double>(v) * static_cast<double>(v); }
  static T finish(Acc a, int64_t) { return from_double<T>(std::sqrt(a)); }
};

template <typename T>
struct ProdOp {
  using Acc = std::conditional_t<kIsFloat<T>, double, uint64_t>;
  static Acc init() { return Acc{1}; }
  static void add(Acc& a, T v) {
    if constexpr (kIsFloat<T>)
      a *= v;
    else
      a *= to_wrap(v);
  }
  static T finish(Acc a, int64_t) { return static_cast<T>(a); }
};

template <typename T>
struct MeanOp {
  // Integer means: exact (wrapped) sum, then division truncating toward zero.
  using Acc = std::conditional_t<kIsFloat<T>, double, uint64_t>;
  static Acc init() { return Acc{0}; }
  static void add(Acc& a, T v) {
    if constexpr (kIsFloat<T>)
      a += v;
    else
      a += to_wrap(v);
  }
  static T finish(Acc a, int64_t n) {
    if constexpr (kIsFloat<T>) {
      return static_cast<T>(a / static_cast<double>(n));  // 0/0 = NaN for an empty set
    } else if constexpr (std::is_signed_v<T>) {
      return static_cast<T>(static_cast<int64_t>(a) / n);  // n > 0 checked by the caller
    } else {
      return static_cast<T>(a / static_cast<uint64_t>(n));
    }
  }
};

// Max/Min propagate NaN (like numpy); over an empty set they give -inf/+inf for floats and the
// type's lowest/highest value for integers (the identities of max and min).
template <typename T>
struct MaxOp {
  using Acc = T;
  static Acc init() {
    if constexpr (kIsFloat<T>)
      return -std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::lowest();
  }
  static void add(Acc& a, T v) {
    if constexpr (kIsFloat<T>) {
      if (std::isnan(v) || v > a) a = v;
    } else if (v > a) {
      a = v;
    }
  }
  static T finish(Acc a, int64_t) { return a; }
};

template <typename T>
struct MinOp {
  using Acc = T;
  static Acc init() {
    if constexpr (kIsFloat<T>)
      return std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::max();
  }
  static void add(Acc& a, T v) {
    if constexpr (kIsFloat<T>) {
      if (std::isnan(v) || v < a) a = v;
    } else if (v < a) {
      a = v;
    }
  }
  static T finish(Acc a, int64_t) { return a; }
};

template <typename T>
struct LogSumOp {
  using Acc = double;
  static Acc init() { return 0.0; }
  static void add(Acc& a, T v) { a += static_cast<double>(v); }
  static T finish(Acc a, int64_t) { return from_double<T>(std::log(a)); }
};

// log(sum(exp(x))) computed online as m + log(s), where m is the running maximum and
// s = sum(exp(x - m)): no exp ever overflows. Over an empty set it is -inf.
template <typename T>
struct LogSumExpOp {
  struct Acc {
    double m;
    double s;
  };
  static Acc init() { return {-std::numeric_limits<double>::infinity(), 0.0}; }
  static void add(Acc& a, T v) {
    double x = static_cast<double>(v);
    if (std::isnan(x) || std::isnan(a.m)) {
      a.m = std::numeric_limits<double>::quiet_NaN();
    } else if (x == -std::numeric_limits<double>::infinity()) {
      // exp(-inf) = 0 contributes nothing
    } else if (x > a.m) {
      a.s = a.s * std::exp(a.m - x) + 1.0;
      a.m = x;
    } else {
      a.s += std::exp(x - a.m);
    }
  }
  static T finish(Acc a, int64_t) {
    if (std::isnan(a.m)) return from_double<T>(a.m);
    if (a.s == 0.0) return from_double<T>(-std::numeric_limits<double>::infinity());
    return from_double<T>(a.m + std::log(a.s));
  }
};

// ---- the engine ----

// Input dims split into kept and reduced ones, each with its input stride.
struct ReducePlan {
  std::vector<int64_t> kept_dims, kept_strides;
  std::vector<int64_t> red_dims, red_strides;
  int64_t out_count = 1;
  int64_t red_count = 1;
};

ReducePlan make_plan(const Shape& in, const std::vector<bool>& reduced) {
  ReducePlan p;
  std::vector<int64_t> strides(in.size(), 1);
  for (size_t i = in.size(); i-- > 1;) strides[i - 1] = strides[i] * in[i];
  for (size_t i = 0; i < in.size(); ++i) {
    if (reduced[i]) {
      p.red_dims.push_back(in[i]);
      p.red_strides.push_back(strides[i]);
      p.red_count *= in[i];
    } else {
      p.kept_dims.push_back(in[i]);
      p.kept_strides.push_back(strides[i]);
      p.out_count *= in[i];
    }
  }
  return p;
}

// Advances a row-major multi-index over `dims`, keeping `offset` = sum(index * strides).
inline void step_index(std::vector<int64_t>& idx, const std::vector<int64_t>& dims,
                       const std::vector<int64_t>& strides, int64_t& offset) {
  for (size_t d = dims.size(); d-- > 0;) {
    ++idx[d];
    offset += strides[d];
    if (idx[d] < dims[d]) return;
    offset -= idx[d] * strides[d];
    idx[d] = 0;
  }
}

template <typename T, typename Op>
void reduce_loop(const T* x, T* y, const ReducePlan& p) {
  std::vector<int64_t> kept_idx(p.kept_dims.size(), 0);
  std::vector<int64_t> red_idx(p.red_dims.size(), 0);
  int64_t base = 0;
  for (int64_t o = 0; o < p.out_count; ++o) {
    typename Op::Acc acc = Op::init();
    int64_t off = 0;
    for (int64_t r = 0; r < p.red_count; ++r) {
      Op::add(acc, x[base + off]);
      step_index(red_idx, p.red_dims, p.red_strides, off);
    }
    y[o] = Op::finish(acc, p.red_count);
    step_index(kept_idx, p.kept_dims, p.kept_strides, base);
  }
}

enum class ReduceKind { l1, l2, log_sum, log_sum_exp, max, mean, min, prod, sum, sum_square };

template <typename T>
void reduce_typed(ReduceKind k, const T* x, T* y, const ReducePlan& p) {
  switch (k) {
    case ReduceKind::l1:
      return reduce_loop<T, L1Op<T>>(x, y, p);
    case ReduceKind::l2:
      return reduce_loop<T, L2Op<T>>(x, y, p);
    case ReduceKind::log_sum:
      return reduce_loop<T, LogSumOp<T>>(x, y, p);
    case ReduceKind::log_sum_exp:
      return reduce_loop<T, LogSumExpOp<T>>(x, y, p);
    case ReduceKind::max:
      return reduce_loop<T, MaxOp<T>>(x, y, p);
    case ReduceKind::mean:
      return reduce_loop<T, MeanOp<T>>(x, y, p);
    case ReduceKind::min:
      return reduce_loop<T, MinOp<T>>(x, y, p);
    case ReduceKind::prod:
      return reduce_loop<T, ProdOp<T>>(x, y, p);
    case ReduceKind::sum:
      return reduce_loop<T, SumOp<T>>(x, y, p);
    case ReduceKind::sum_square:
      return reduce_loop<T, SumSquareOp<T>>(x, y, p);
  }
}

Shape reduced_shape(const Shape& in, const std::vector<bool>& reduced, bool keepdims) {
  Shape out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!reduced[i])
      out.push_back(in[i]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

template <ReduceKind K>
void run_reduce(OpContext& ctx) {
  const Tensor& x_in = ctx.input(0);
  const bool half = x_in.dtype() == DType::f16 || x_in.dtype() == DType::bf16;
  if (x_in.dtype() == DType::boolean) ctx.fail("bool input is not supported");
  const Tensor x = half ? cast_tensor(x_in, DType::f32) : x_in;

  const bool axes_given = ctx.has_input(1);
  AxesSpec spec =
      resolve_axes(ctx, ctx.node, x.rank(), axes_given ? &ctx.input(1) : nullptr, axes_given);
  if (spec.noop) {
    ctx.outputs[0] = x_in.clone();
    return;
  }
  const bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  ReducePlan plan = make_plan(x.shape(), spec.reduced);
  if (K == ReduceKind::mean && plan.red_count == 0 && plan.out_count > 0 &&
      !dtype_is_float(x.dtype()))
    ctx.fail("the mean of an empty set of integers is undefined (input shape {})",
             shape_str(x.shape()));
  Tensor y(x.dtype(), reduced_shape(x.shape(), spec.reduced, keepdims));
  visit_numeric(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool input is not supported");
    } else {
      reduce_typed<T>(K, x.data<T>(), y.data<T>(), plan);
    }
  });
  ctx.outputs[0] = half ? cast_tensor(y, x_in.dtype()) : y;
}

void infer_reduce(InferContext& ctx) {
  const TypeInfo& in = ctx.type(0);
  TypeInfo out;
  out.dtype = in.dtype;
  const bool keepdims = ctx.node.attr_int("keepdims", 1) != 0;
  const bool axes_given = ctx.has_input(1);
  if (!in.has_shape) {
    // Without a rank, the shape is known only when everything is reduced without keepdims.
    bool all = !axes_given && ctx.node.attr_ints("axes", {}).empty() &&
               ctx.node.attr_int("noop_with_empty_axes", 0) == 0;
    if (all && !keepdims) out.has_shape = true;
    ctx.outputs[0] = out;
    return;
  }
  const int rank = static_cast<int>(in.dims.size());
  AxesSpec spec = resolve_axes(ctx, ctx.node, rank, ctx.value(1), axes_given);
  out.has_shape = true;
  if (spec.noop) {
    out = in;
  } else if (!spec.known) {
    // Unknown axes: with keepdims the rank stays, but any dim may become 1.
    if (keepdims)
      out.dims.assign(static_cast<size_t>(rank), Dim{});
    else
      out.has_shape = false;
  } else {
    for (int i = 0; i < rank; ++i) {
      if (!spec.reduced[static_cast<size_t>(i)])
        out.dims.push_back(in.dims[static_cast<size_t>(i)]);
      else if (keepdims)
        out.dims.push_back(Dim{1, {}});
    }
  }
  ctx.outputs[0] = out;
}

}  // namespace

void register_reduction_ops(OpRegistry& r) {
  r.add({"ReduceL1", "", infer_reduce, run_reduce<ReduceKind::l1>});
  r.add({"ReduceL2", "", infer_reduce, run_reduce<ReduceKind::l2>});
  r.add({"ReduceLogSum", "", infer_reduce, run_reduce<ReduceKind::log_sum>});
  r.add({"ReduceLogSumExp", "", infer_reduce, run_reduce<ReduceKind::log_sum_exp>});
  r.add({"ReduceMax", "", infer_reduce, run_reduce<ReduceKind::max>});
  r.add({"ReduceMean", "", infer_reduce, run_reduce<ReduceKind::mean>});
  r.add({"ReduceMin", "", infer_reduce, run_reduce<ReduceKind::min>});
  r.add({"ReduceProd", "", infer_reduce, run_reduce<ReduceKind::prod>});
  r.add({"ReduceSum", "", infer_reduce, run_reduce<ReduceKind::sum>});
  r.add({"ReduceSumSquare", "", infer_reduce, run_reduce<ReduceKind::sum_square>});
  register_reduction_along_axis_ops(r);
}

}  // namespace nnaccel
