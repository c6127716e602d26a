// Ops of the 'recurrent' family (see ops.def): LSTM, GRU and RNN, opset-14 semantics
// (directions, sequence_lens, initial states, peepholes, linear_before_reset, activations with
// alpha/beta, clip, input_forget, layout 0 and 1). Computed in the input's float type (f16/bf16
// through float).
#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/cast.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

namespace {

enum class Cell { rnn, gru, lstm };

int gates_of(Cell c) { return c == Cell::rnn ? 1 : c == Cell::gru ? 3 : 4; }
int activations_of(Cell c) { return c == Cell::rnn ? 1 : c == Cell::gru ? 2 : 3; }

// --- activations ------------------------------------------------------------------------------

enum class Act {
  relu,
  tanh,
  sigmoid,
  affine,
  leaky_relu,
  thresholded_relu,
  scaled_tanh,
  hard_sigmoid,
  elu,
  softsign,
  softplus
};

struct Activation {
  Act kind = Act::tanh;
  double alpha = 0, beta = 0;

  template <typename T>
  T operator()(T x) const {
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    switch (kind) {
      case Act::relu:
        return x > 0 ? x : T(0);
      case Act::tanh:
        return std::tanh(x);
      case Act::sigmoid:
        return T(1) / (T(1) + std::exp(-x));
      case Act::affine:
        return a * x + b;
      case Act::leaky_relu:
        return x >= 0 ? x : a * x;
      case Act::thresholded_relu:
        return x >= a ? x : T(0);
      case Act::scaled_tanh:
        return a * std::tanh(b * x);
      case Act::hard_sigmoid:
        return std::clamp(a * x + b, T(0), T(1));
      case Act::elu:
        return x >= 0 ? x : a * (std::exp(x) - T(1));
      case Act::softsign:
        return x / (T(1) + std::fabs(x));
      case Act::softplus:
        return std::max(x, T(0)) + std::log1p(std::exp(-std::fabs(x)));
    }
    return x;
  }
};

struct ActivationSpec {
  const char* name;  // lower case
  Act kind;
  bool uses_alpha, uses_beta;
  double alpha, beta;  // defaults of the corresponding ONNX operators
};
constexpr ActivationSpec kActivations[] = {
    {"relu", Act::relu, false, false, 0, 0},
    {"tanh", Act::tanh, false, false, 0, 0},
    {"sigmoid", Act::sigmoid, false, false, 0, 0},
    {"affine", Act::affine, true, true, 1, 0},
    {"leakyrelu", Act::leaky_relu, true, false, 0.01, 0},
    {"thresholdedrelu", Act::thresholded_relu, true, false, 1, 0},
    {"scaledtanh", Act::scaled_tanh, true, true, 1, 1},
    {"hardsigmoid", Act::hard_sigmoid, true, true, 0.2, 0.5},
    {"elu", Act::elu, true, false, 1, 0},
    {"softsign", Act::softsign, false, false, 0, 0},
    {"softplus", Act::softplus, false, false, 0, 0},
};

// Parses `activations` with their alpha/beta: values are consumed in order, only by the
// activations that take them (as onnxruntime does); missing ones take the defaults.
std::vector<Activation> parse_activations(const OpContext& ctx, Cell cell, int64_t dirs) {
  static const char* kDefaults[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
  const int per_dir = activations_of(cell);
  std::vector<std::string> names;
  if (const Attribute* a = ctx.attr("activations")) names = a->strings;
  if (names.empty())
    for (int64_t d = 0; d < dirs; ++d)
      for (int i = 0; i < per_dir; ++i) names.push_back(kDefaults[static_cast<int>(cell)][i]);
  if (dirs == 2 && static_cast<int>(names.size()) == per_dir) {  // one set for both directions
    std::vector<std::string> once = names;
    names.insert(names.end(), once.begin(), once.end());
  }
  if (static_cast<int64_t>(names.size()) != per_dir * dirs)
    ctx.fail("activations has {} entries, expected {} ({} per direction)", names.size(),
             per_dir * dirs, per_dir);
  std::vector<float> alphas = ctx.attr_floats("activation_alpha");
  std::vector<float> betas = ctx.attr_floats("activation_beta");
  size_t ai = 0, bi = 0;
  std::vector<Activation> acts;
  for (const std::string& raw : names) {
    std::string n = raw;
    for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const ActivationSpec* spec = nullptr;
    for (const ActivationSpec& a : kActivations)
      if (n == a.name) spec = &a;
    if (spec == nullptr) ctx.fail("unknown activation '{}'", raw);
    Activation a;
    a.kind = spec->kind;
    a.alpha = spec->uses_alpha && ai < alphas.size() ? alphas[ai++] : spec->alpha;
    a.beta = spec->uses_beta && bi < betas.size() ? betas[bi++] : spec->beta;
    acts.push_back(a);
  }
  return acts;
}

// --- shapes -----------------------------------------------------------------------------------

int64_t directions_of(const Node& node, const std::string& direction) {
  if (direction == "forward" || direction == "reverse") return 1;
  if (direction == "bidirectional") return 2;
  throw Error(node.describe() + ": unknown direction '" + direction + "'");
}

struct RnnDims {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
  bool layout1 = false;
  bool reverse_only = false;  // direction == "reverse"
};

void infer_recurrent(InferContext& ctx) {
  const TypeInfo& x = ctx.type(0);
  const int64_t layout = ctx.node.attr_int("layout", 0);
  if (layout != 0 && layout != 1) ctx.fail("layout must be 0 or 1, got {}", layout);
  const int64_t dirs = directions_of(ctx.node, ctx.node.attr_string("direction", "forward"));
  Dim hidden{ctx.node.attr_int("hidden_size", -1), {}};
  if (!hidden.known() && ctx.type(2).has_shape && ctx.type(2).dims.size() == 3)
    hidden = ctx.type(2).dims[2];
  for (int i = 0; i < ctx.num_outputs(); ++i) ctx.outputs[static_cast<size_t>(i)].dtype = x.dtype;
  if (!x.has_shape) return;
  if (x.dims.size() != 3) ctx.fail("X must have rank 3, got rank {}", x.dims.size());
  const Dim seq = x.dims[layout ? 1 : 0], batch = x.dims[layout ? 0 : 1];
  const Dim d{dirs, {}};
  auto set = [&](int i, std::vector<Dim> dims) {
    if (i >= ctx.num_outputs()) return;
    ctx.outputs[static_cast<size_t>(i)].has_shape = true;
    ctx.outputs[static_cast<size_t>(i)].dims = std::move(dims);
  };
  set(0,
      layout ? std::vector<Dim>{batch, seq, d, hidden} : std::vector<Dim>{seq, d, batch, hidden});
  std::vector<Dim> state =
      layout ? std::vector<Dim>{batch, d, hidden} : std::vector<Dim>{d, batch, hidden};
  set(1, state);
  set(2, state);
}

// --- kernel -----------------------------------------------------------------------------------

template <typename T>
struct Recurrence {
  Recurrence(Cell c, const RnnDims& d, std::vector<Activation> a)
      : cell(c), dims(d), acts(std::move(a)) {}
  Cell cell;
  RnnDims dims;
  std::vector<Activation> acts;
  bool has_clip = false;
  T clip = 0;
  bool input_forget = false;
  bool linear_before_reset = false;
  std::vector<int64_t> seq_lens;

  // Inputs as T, contiguous.
  const T *X = nullptr, *W = nullptr, *R = nullptr, *B = nullptr, *P = nullptr;
  const T *H0 = nullptr, *C0 = nullptr;
  T *Y = nullptr, *Yh = nullptr, *Yc = nullptr;
  std::vector<T> z_, r_;  // GRU gate scratch, reused across steps

  T clipped(T v) const { return has_clip ? std::clamp(v, -clip, clip) : v; }

  int64_t x_index(int64_t t, int64_t b) const {
    return (dims.layout1 ? b * dims.seq + t : t * dims.batch + b) * dims.input;
  }
  int64_t y_index(int64_t t, int64_t d, int64_t b) const {
    return (dims.layout1 ? (b * dims.seq + t) * dims.dirs + d
                         : (t * dims.dirs + d) * dims.batch + b) *
           dims.hidden;
  }
  int64_t state_index(int64_t d, int64_t b) const {
    return (dims.layout1 ? b * dims.dirs + d : d * dims.batch + b) * dims.hidden;
  }

  // out[r] = sum_k m[r, k] * v[k] for rows [row0, row0 + rows) of an [*, cols] matrix.
  static void matvec(const T* m, int64_t row0, int64_t rows, int64_t cols, const T* v, T* out) {
    for (int64_t r = 0; r < rows; ++r) {
      const T* mr = m + (row0 + r) * cols;
      T acc = 0;
      for (int64_t k = 0; k < cols; ++k) acc += mr[k] * v[k];
      out[r] = acc;
    }
  }

  void run() {
    const int64_t H = dims.hidden, G = gates_of(cell), I = dims.input;
    const int per_dir = activations_of(cell);
    std::vector<T> h(static_cast<size_t>(H)), c(static_cast<size_t>(H));
    std::vector<T> xw(static_cast<size_t>(G * H)), hr(static_cast<size_t>(G * H));
    std::vector<T> rh(static_cast<size_t>(H));
    for (int64_t d = 0; d < dims.dirs; ++d) {
      const bool reverse = dims.reverse_only || d == 1;
      const T* Wd = W + d * G * H * I;
      const T* Rd = R + d * G * H * H;
      const T* Wb = B ? B + d * 2 * G * H : nullptr;
      const T* Rb = B ? Wb + G * H : nullptr;
      const T* Pd = P ? P + d * 3 * H : nullptr;
      const Activation* act = acts.data() + d * per_dir;
      for (int64_t b = 0; b < dims.batch; ++b) {
        const int64_t si = state_index(d, b);
        for (int64_t j = 0; j < H; ++j) {
          h[static_cast<size_t>(j)] = H0 ? H0[si + j] : T(0);
          c[static_cast<size_t>(j)] = C0 ? C0[si + j] : T(0);
        }
        const int64_t len = seq_lens[static_cast<size_t>(b)];
        for (int64_t s = 0; s < len; ++s) {
          const int64_t t = reverse ? len - 1 - s : s;
          matvec(Wd, 0, G * H, I, X + x_index(t, b), xw.data());
          if (Wb)
            for (int64_t g = 0; g < G * H; ++g) xw[static_cast<size_t>(g)] += Wb[g];
          // GRU's hidden gate reads r .* h (unless linear_before_reset), so it comes later.
          const int64_t rec_rows = cell == Cell::gru && !linear_before_reset ? 2 * H : G * H;
          matvec(Rd, 0, rec_rows, H, h.data(), hr.data());
          if (Rb)
            for (int64_t g = 0; g < rec_rows; ++g) hr[static_cast<size_t>(g)] += Rb[g];
          step(act, Pd, Rd, Rb, xw.data(), hr.data(), h.data(), c.data(), rh.data());
          if (Y) std::copy(h.begin(), h.end(), Y + y_index(t, d, b));
        }
        if (Yh) std::copy(h.begin(), h.end(), Yh + si);
        if (Yc) std::copy(c.begin(), c.end(), Yc + si);
      }
    }
  }

  // One time step of one batch element; xw and hr hold the input and recurrent projections
  // (biases added). Updates h (and c for LSTM) in place.
  void step(const Activation* act, const T* Pd, const T* Rd, const T* Rb, const T* xw, T* hr, T* h,
            T* c, T* rh) {
    const int64_t H = dims.hidden;
    if (cell == Cell::rnn) {
      for (int64_t j = 0; j < H; ++j) h[j] = act[0](clipped(xw[j] + hr[j]));
    } else if (cell == Cell::lstm) {
      // Gate blocks in W/R/B: i, o, f, c; peepholes P: i, o, f.
      for (int64_t j = 0; j < H; ++j) {
        const T pi = Pd ? Pd[j] : T(0), po = Pd ? Pd[H + j] : T(0), pf = Pd ? Pd[2 * H + j] : T(0);
        const T ig = act[0](clipped(xw[j] + hr[j] + pi * c[j]));
        const T fg =
            input_forget ? T(1) - ig : act[0](clipped(xw[2 * H + j] + hr[2 * H + j] + pf * c[j]));
        const T cg = act[1](clipped(xw[3 * H + j] + hr[3 * H + j]));
        c[j] = fg * c[j] + ig * cg;
        const T og = act[0](clipped(xw[H + j] + hr[H + j] + po * c[j]));
        h[j] = og * act[2](c[j]);
      }
    } else {
      // Gate blocks: z, r, h.
      std::vector<T>& z = z_;
      std::vector<T>& r = r_;
      z.resize(static_cast<size_t>(H));
      r.resize(static_cast<size_t>(H));
      for (int64_t j = 0; j < H; ++j) {
        z[static_cast<size_t>(j)] = act[0](clipped(xw[j] + hr[j]));
        r[static_cast<size_t>(j)] = act[0](clipped(xw[H + j] + hr[H + j]));
      }
      if (!linear_before_reset) {
        for (int64_t j = 0; j < H; ++j) rh[j] = r[static_cast<size_t>(j)] * h[j];
        matvec(Rd, 2 * H, H, H, rh, hr + 2 * H);
        for (int64_t j = 0; j < H; ++j) hr[2 * H + j] += Rb ? Rb[2 * H + j] : T(0);
      }
      for (int64_t j = 0; j < H; ++j) {
        const T rec =
            linear_before_reset ? r[static_cast<size_t>(j)] * hr[2 * H + j] : hr[2 * H + j];
        const T ht = act[1](clipped(xw[2 * H + j] + rec));
        const T zj = z[static_cast<size_t>(j)];
        h[j] = (T(1) - zj) * ht + zj * h[j];
      }
    }
  }
};

void check_shape(const OpContext& ctx, const Tensor& t, const Shape& want, const char* name) {
  if (t.shape() != want)
    ctx.fail("{} has shape {}, expected {}", name, shape_str(t.shape()), shape_str(want));
}

void run_recurrent(OpContext& ctx, Cell cell) {
  const Tensor& x_in = ctx.input(0);
  const DType dt = x_in.dtype();
  if (!dtype_is_float(dt) || dtype_bits(dt) < 16)
    ctx.fail("X must be a float tensor, got {}", dtype_name(dt));
  const DType work = dt == DType::f64 ? DType::f64 : DType::f32;
  auto as_work = [&](int i) { return cast_tensor(ctx.input(i), work); };

  RnnDims dims;
  const int64_t layout = ctx.attr_int("layout", 0);
  if (layout != 0 && layout != 1) ctx.fail("layout must be 0 or 1, got {}", layout);
  dims.layout1 = layout == 1;
  const std::string direction = ctx.attr_string("direction", "forward");
  dims.dirs = directions_of(ctx.node, direction);
  dims.reverse_only = direction == "reverse";
  if (x_in.rank() != 3) ctx.fail("X must have rank 3, got shape {}", shape_str(x_in.shape()));
  dims.seq = x_in.dim(dims.layout1 ? 1 : 0);
  dims.batch = x_in.dim(dims.layout1 ? 0 : 1);
  dims.input = x_in.dim(2);
  const Tensor& r_in = ctx.input(2);
  if (r_in.rank() != 3) ctx.fail("R must have rank 3, got shape {}", shape_str(r_in.shape()));
  dims.hidden = ctx.attr_int("hidden_size", r_in.dim(2));
  if (dims.hidden != r_in.dim(2))
    ctx.fail("hidden_size {} does not match R's last dimension {}", dims.hidden, r_in.dim(2));
  if (dims.hidden <= 0) ctx.fail("hidden_size must be positive, got {}", dims.hidden);
  const int64_t G = gates_of(cell), H = dims.hidden, D = dims.dirs;

  Tensor X = cast_tensor(x_in, work), W = as_work(1), R = as_work(2), B, P, H0, C0;
  check_shape(ctx, W, {D, G * H, dims.input}, "W");
  check_shape(ctx, R, {D, G * H, H}, "R");
  if (ctx.has_input(3)) check_shape(ctx, B = as_work(3), {D, 2 * G * H}, "B");
  const Shape state = dims.layout1 ? Shape{dims.batch, D, H} : Shape{D, dims.batch, H};
  if (ctx.has_input(5)) check_shape(ctx, H0 = as_work(5), state, "initial_h");
  if (cell == Cell::lstm && ctx.has_input(6)) check_shape(ctx, C0 = as_work(6), state, "initial_c");
  if (cell == Cell::lstm && ctx.has_input(7)) check_shape(ctx, P = as_work(7), {D, 3 * H}, "P");

  std::vector<int64_t> lens(static_cast<size_t>(dims.batch), dims.seq);
  if (ctx.has_input(4)) {
    const Tensor& sl = ctx.input(4);
    if (sl.dtype() != DType::i32 && sl.dtype() != DType::i64)
      ctx.fail("sequence_lens must be int32, got {}", dtype_name(sl.dtype()));
    if (sl.shape() != Shape{dims.batch})
      ctx.fail("sequence_lens has shape {}, expected [{}]", shape_str(sl.shape()), dims.batch);
    lens = sl.to_i64_vector();
    for (int64_t v : lens)
      if (v < 0 || v > dims.seq) ctx.fail("sequence length {} is outside [0, {}]", v, dims.seq);
  }

  Tensor Y, Yh, Yc;
  if (ctx.has_output(0))
    Y = Tensor(
        work, dims.layout1 ? Shape{dims.batch, dims.seq, D, H} : Shape{dims.seq, D, dims.batch, H});
  if (ctx.has_output(1)) Yh = Tensor(work, state);
  if (cell == Cell::lstm && ctx.has_output(2)) Yc = Tensor(work, state);

  auto compute = [&](auto zero) {
    using T = decltype(zero);
    Recurrence<T> rec(cell, dims, parse_activations(ctx, cell, D));
    if (const Attribute* a = ctx.attr("clip")) {
      rec.has_clip = true;
      rec.clip = static_cast<T>(a->f);
      if (!(a->f > 0)) ctx.fail("clip must be positive, got {}", a->f);
    }
    rec.input_forget = ctx.attr_int("input_forget", 0) != 0;
    rec.linear_before_reset = ctx.attr_int("linear_before_reset", 0) != 0;
    rec.seq_lens = lens;
    rec.X = X.data<T>();
    rec.W = W.data<T>();
    rec.R = R.data<T>();
    rec.B = B.defined() ? B.data<T>() : nullptr;
    rec.P = P.defined() ? P.data<T>() : nullptr;
    rec.H0 = H0.defined() ? H0.data<T>() : nullptr;
    rec.C0 = C0.defined() ? C0.data<T>() : nullptr;
    rec.Y = Y.defined() ? Y.data<T>() : nullptr;
    rec.Yh = Yh.defined() ? Yh.data<T>() : nullptr;
    rec.Yc = Yc.defined() ? Yc.data<T>() : nullptr;
    rec.run();
  };
  if (work == DType::f64)
    compute(0.0);
  else
    compute(0.0f);
  if (Y.defined()) ctx.outputs[0] = cast_tensor(Y, dt);
  if (Yh.defined()) ctx.outputs[1] = cast_tensor(Yh, dt);
  if (Yc.defined()) ctx.outputs[2] = cast_tensor(Yc, dt);
}

void run_rnn(OpContext& ctx) { run_recurrent(ctx, Cell::rnn); }
void run_gru(OpContext& ctx) { run_recurrent(ctx, Cell::gru); }
void run_lstm(OpContext& ctx) { run_recurrent(ctx, Cell::lstm); }

}  // namespace

void register_recurrent_ops(OpRegistry& r) {
  r.add({"RNN", "", infer_recurrent, run_rnn});
  r.add({"GRU", "", infer_recurrent, run_gru});
  r.add({"LSTM", "", infer_recurrent, run_lstm});
}

}  // namespace nnaccel
