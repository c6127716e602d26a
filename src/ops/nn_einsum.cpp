// Einsum, general form: explicit or implicit output, repeated labels within an input
// (diagonals), ellipsis with broadcasting, summation over every label not in the output. The
// kernel iterates over all labels once: output labels outside, summed labels inside, with each
// input's offset advanced by per-label strides (a repeated label's strides add up, which walks
// the diagonal).
#include <algorithm>
#include <array>

#include "ops/nn_common.hpp"

namespace nnaccel {

namespace {

using namespace nn;

constexpr int kLetters = 52;  // a-z, A-Z; ellipsis dims get ids from kLetters on

std::string label_name(int l) {
  if (l >= kLetters) return "...";
  return std::string(1, static_cast<char>(l < 26 ? 'a' + l : 'A' + (l - 26)));
}

int letter_id(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

// One parsed term: label ids in axis order; -1 marks where the ellipsis sits.
struct Term {
  std::vector<int> labels;
  bool has_ellipsis = false;
  int explicit_count() const { return static_cast<int>(labels.size()) - (has_ellipsis ? 1 : 0); }
};

Term parse_term(const Node& node, const std::string& s) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s.compare(i, 3, "...") != 0 || t.has_ellipsis)
        node_fail(node, "equation term '{}' has a malformed or repeated ellipsis", s);
      t.has_ellipsis = true;
      t.labels.push_back(-1);
      i += 2;
      continue;
    }
    const int id = letter_id(s[i]);
    if (id < 0) node_fail(node, "equation term '{}' has invalid character '{}'", s, s[i]);
    t.labels.push_back(id);
  }
  return t;
}

// The equation resolved against the input ranks and shapes (dims -1 when unknown).
struct EinsumPlan {
  int num_labels = 0;                        // kLetters + ellipsis dims
  std::vector<int64_t> size;                 // per label id; -1 when unknown
  std::vector<bool> used;                    // per label id: appears in some input
  std::vector<std::vector<int>> input_axes;  // per input: label id of each axis
  std::vector<int> output;                   // output label ids in order
  std::vector<int> summed;                   // labels reduced away
};

EinsumPlan plan_einsum(const Node& node, const std::vector<std::vector<int64_t>>& shapes) {
  std::string eq;
  for (char c : node.attr_string("equation", "")) {
    if (c != ' ' && c != '\t' && c != '\n') eq += c;
  }
  if (eq.empty()) node_fail(node, "attribute equation is required");
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(node, lhs.substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != shapes.size())
    node_fail(node, "equation '{}' has {} input terms, the node has {} inputs", eq, terms.size(),
              shapes.size());
  // Ellipsis dims: as many as the largest ellipsis span, right-aligned across inputs.
  int ellipsis_dims = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    const int rank = static_cast<int>(shapes[i].size());
    const int span = rank - terms[i].explicit_count();
    if (span < 0 || (!terms[i].has_ellipsis && span != 0))
      node_fail(node, "equation term {} of '{}' has {} labels but input {} has rank {}", i, eq,
                terms[i].explicit_count(), i, rank);
    ellipsis_dims = std::max(ellipsis_dims, span);
  }
  EinsumPlan p;
  p.num_labels = kLetters + ellipsis_dims;
  p.size.assign(static_cast<size_t>(p.num_labels), -1);
  p.used.assign(static_cast<size_t>(p.num_labels), false);
  std::vector<int> count(static_cast<size_t>(p.num_labels), 0);
  bool any_ellipsis = false;
  for (size_t i = 0; i < terms.size(); ++i) {
    const int span = static_cast<int>(shapes[i].size()) - terms[i].explicit_count();
    std::vector<int> axes;
    for (int l : terms[i].labels) {
      if (l >= 0) {
        axes.push_back(l);
        continue;
      }
      any_ellipsis = true;
      for (int e = ellipsis_dims - span; e < ellipsis_dims; ++e) axes.push_back(kLetters + e);
    }
    for (size_t a = 0; a < axes.size(); ++a) {
      const int l = axes[a];
      const int64_t d = shapes[i][a];
      auto& known = p.size[static_cast<size_t>(l)];
      ++count[static_cast<size_t>(l)];
      p.used[static_cast<size_t>(l)] = true;
      if (d < 0) continue;
      if (known < 0 || (l >= kLetters && known == 1)) {
        known = d;
      } else if (d != known && !(l >= kLetters && d == 1)) {
        node_fail(node, "label {} of '{}' has size {} in input {} but {} elsewhere", label_name(l),
                  eq, d, i, known);
      }
    }
    p.input_axes.push_back(std::move(axes));
  }
  if (arrow != std::string::npos) {
    Term out = parse_term(node, eq.substr(arrow + 2));
    std::vector<bool> seen(static_cast<size_t>(p.num_labels), false);
    for (int l : out.labels) {
      if (l < 0) {
        for (int e = 0; e < ellipsis_dims; ++e) p.output.push_back(kLetters + e);
        continue;
      }
      if (!p.used[static_cast<size_t>(l)])
        node_fail(node, "output label '{}' of '{}' does not appear in any input", label_name(l),
                  eq);
      if (seen[static_cast<size_t>(l)]) node_fail(node, "output of '{}' repeats a label", eq);
      seen[static_cast<size_t>(l)] = true;
      p.output.push_back(l);
    }
  } else {
    // Implicit output: the ellipsis dims, then labels used exactly once, in alphabetical
    // (ASCII: upper case first) order.
    if (any_ellipsis)
      for (int e = 0; e < ellipsis_dims; ++e) p.output.push_back(kLetters + e);
    std::vector<int> once;
    for (int l = 0; l < kLetters; ++l)
      if (count[static_cast<size_t>(l)] == 1) once.push_back(l);
    std::sort(once.begin(), once.end(), [](int a, int b) { return label_name(a) < label_name(b); });
    p.output.insert(p.output.end(), once.begin(), once.end());
  }
  std::vector<bool> in_output(static_cast<size_t>(p.num_labels), false);
  for (int l : p.output) in_output[static_cast<size_t>(l)] = true;
  for (int l = 0; l < p.num_labels; ++l)
    if (p.used[static_cast<size_t>(l)] && !in_output[static_cast<size_t>(l)]) p.summed.push_back(l);
  return p;
}

void infer_einsum(InferContext& ctx) {
  const DType dt = ctx.type(0).dtype;
  std::vector<std::vector<int64_t>> shapes;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const TypeInfo& t = ctx.type(i);
    if (t.dtype != dt)
      ctx.fail("input {} is {}, input 0 is {}", i, dtype_name(t.dtype), dtype_name(dt));
    if (!t.has_shape) {
      ctx.outputs[0] = type_unknown_shape(dt);
      return;
    }
    shapes.push_back(known_dims(t));
  }
  EinsumPlan p = plan_einsum(ctx.node, shapes);
  std::vector<int64_t> out;
  for (int l : p.output) out.push_back(p.size[static_cast<size_t>(l)]);
  ctx.outputs[0] = type_with_dims(dt, out);
}

template <typename T>
void einsum_forward(const EinsumPlan& p, const std::vector<Tensor>& in, Tensor& y) {
  // Loop labels: output labels first (row-major over the output), then summed labels.
  std::vector<int> loop = p.output;
  loop.insert(loop.end(), p.summed.begin(), p.summed.end());
  const size_t nl = loop.size(), n_out = p.output.size(), n_in = in.size();
  std::vector<int64_t> dims(nl);
  for (size_t d = 0; d < nl; ++d) dims[d] = p.size[static_cast<size_t>(loop[d])];
  // strides[i][d]: how far input i's offset moves when loop label d advances by one.
  std::vector<std::vector<int64_t>> strides(n_in, std::vector<int64_t>(nl, 0));
  for (size_t i = 0; i < n_in; ++i) {
    const auto& axes = p.input_axes[i];
    int64_t s = 1;
    for (size_t a = axes.size(); a-- > 0;) {
      const int64_t d = in[i].dim(static_cast<int>(a));
      if (d != 1 || p.size[static_cast<size_t>(axes[a])] == 1) {
        for (size_t l = 0; l < nl; ++l)
          if (loop[l] == axes[a]) strides[i][l] += s;
      }
      s *= d;
    }
  }
  int64_t inner = 1;  // 0 when a summed label has size 0: every output is an empty sum
  for (size_t d = n_out; d < nl; ++d) inner *= dims[d];
  std::vector<const T*> base(n_in);
  for (size_t i = 0; i < n_in; ++i) base[i] = in[i].data<T>();
  std::vector<int64_t> idx(nl, 0), off(n_in, 0);
  T* yd = y.data<T>();
  const int64_t out_numel = y.numel();
  for (int64_t o = 0; o < out_numel; ++o) {
    acc_t<T> acc{};
    for (int64_t s = 0; s < inner; ++s) {
      acc_t<T> prod = to_acc(base[0][off[0]]);
      for (size_t i = 1; i < n_in; ++i) prod *= to_acc(base[i][off[i]]);
      acc += prod;
      // Advance the summed labels' odometer (the innermost digits).
      for (size_t d = nl; d-- > n_out;) {
        for (size_t i = 0; i < n_in; ++i) off[i] += strides[i][d];
        if (++idx[d] < dims[d]) break;
        for (size_t i = 0; i < n_in; ++i) off[i] -= strides[i][d] * dims[d];
        idx[d] = 0;
      }
    }
    yd[o] = static_cast<T>(acc);
    for (size_t d = n_out; d-- > 0;) {
      for (size_t i = 0; i < n_in; ++i) off[i] += strides[i][d];
      if (++idx[d] < dims[d]) break;
      for (size_t i = 0; i < n_in; ++i) off[i] -= strides[i][d] * dims[d];
      idx[d] = 0;
    }
  }
}

void run_einsum(OpContext& ctx) {
  if (ctx.num_inputs() < 1) ctx.fail("Einsum needs at least one input");
  const DType io = ctx.input(0).dtype();
  const DType ct = arith_compute_dtype(ctx.node, io);
  std::vector<Tensor> in;
  std::vector<std::vector<int64_t>> shapes;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i).dtype() != io)
      ctx.fail("input {} is {}, input 0 is {}", i, dtype_name(ctx.input(i).dtype()),
               dtype_name(io));
    in.push_back(to_dtype(ctx.input(i), ct));
    shapes.push_back(in.back().shape());
  }
  EinsumPlan p = plan_einsum(ctx.node, shapes);
  Shape out;
  for (int l : p.output) out.push_back(p.size[static_cast<size_t>(l)]);
  Tensor y(ct, out);
  visit_numeric(ct, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) einsum_forward<T>(p, in, y);
  });
  ctx.outputs[0] = to_dtype(y, io);
}

}  // namespace

void register_nn_einsum_ops(OpRegistry& r) { r.add({"Einsum", "", infer_einsum, run_einsum}); }

}  // namespace nnaccel
