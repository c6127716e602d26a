// Fast LSTM and GRU (ONNX semantics: directions, layout 0 and 1, initial states, peepholes,
// linear_before_reset) for the default activations, no clip, no input_forget and no
// sequence_lens. The input projection of all time steps is one matrix multiply per direction
// (oneDNN's sgemm); each step then does the recurrent matrix-vector product on R packed k-major
// at compile time, and the gates in vector registers.
#include <algorithm>
#include <cctype>
#include <oneapi/dnnl/dnnl.hpp>

#include "core/check.hpp"
#include "kernels/simd/simd_api.hpp"
#include "kernels/simd/simd_common.hpp"
#include "kernels/simd/simd_registration.hpp"

namespace nnaccel::simd {

namespace {

int64_t padded(int64_t n) { return (n + kGemvPad - 1) / kGemvPad * kGemvPad; }

struct RecurrentShape {
  bool lstm = true;
  bool linear_before_reset = false;  // GRU
  bool layout1 = false;
  bool reverse_only = false;
  int64_t dirs = 1, seq = 0, batch = 0, input = 0, hidden = 0;
  int64_t gates() const { return lstm ? 4 : 3; }
};

// Per direction: W as given ([G*H, I], for sgemm with B transposed), the input-side bias (with
// every recurrent bias that can be folded in), R^T packed [H, rec_pad] for the gates applied to
// h directly, and for GRU without linear_before_reset the h gate's R^T [H, h_pad] applied to
// r * h. Peepholes [3H] for LSTM.
struct DirectionWeights {
  std::vector<float> w, bias, rec, rec_h, rec_bias_h, peephole;
};

bool lower_equal(const std::string& a, const char* b) {
  std::string l = a;
  for (char& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return l == b;
}

// R^T rows [row0, row0 + cols) of R [G*H, H], packed [H, padded(cols)].
std::vector<float> pack_transposed(const float* r, int64_t hidden, int64_t row0, int64_t cols) {
  const int64_t pad = padded(cols);
  std::vector<float> out(static_cast<size_t>(hidden * pad), 0.0f);
  for (int64_t k = 0; k < hidden; ++k)
    for (int64_t n = 0; n < cols; ++n)
      out[static_cast<size_t>(k * pad + n)] = r[(row0 + n) * hidden + k];
  return out;
}

// Packs W [D, G*H, I], R [D, G*H, H], B [D, 2*G*H] (or null) and P [D, 3*H] (or null).
std::vector<DirectionWeights> pack_weights(const RecurrentShape& s, const float* W, const float* R,
                                           const float* B, const float* P) {
  const int64_t H = s.hidden, G = s.gates(), D = s.dirs;
  const bool lstm = s.lstm;
  std::vector<DirectionWeights> weights(static_cast<size_t>(D));
  for (int64_t d = 0; d < D; ++d) {
    DirectionWeights& w = weights[static_cast<size_t>(d)];
    const float* wd = W + d * G * H * s.input;
    w.w.assign(wd, wd + G * H * s.input);
    const float* rd = R + d * G * H * H;
    const float* wb = B != nullptr ? B + d * 2 * G * H : nullptr;
    const float* rb = wb != nullptr ? wb + G * H : nullptr;
    w.bias.assign(static_cast<size_t>(G * H), 0.0f);
    for (int64_t g = 0; g < G * H; ++g) {
      // GRU with linear_before_reset scales the h gate's recurrent bias by r: kept apart.
      const bool fold = lstm || !s.linear_before_reset || g < 2 * H;
      if (wb != nullptr) w.bias[static_cast<size_t>(g)] = wb[g] + (fold ? rb[g] : 0.0f);
    }
    if (s.linear_before_reset) {
      w.rec_bias_h.assign(static_cast<size_t>(H), 0.0f);
      if (rb != nullptr) w.rec_bias_h.assign(rb + 2 * H, rb + 3 * H);
    }
    const bool split_h = !lstm && !s.linear_before_reset;
    w.rec = pack_transposed(rd, H, 0, split_h ? 2 * H : G * H);
    if (split_h) w.rec_h = pack_transposed(rd, H, 2 * H, H);
    if (P != nullptr) {
      const float* pd = P + d * 3 * H;
      w.peephole.assign(pd, pd + 3 * H);
    }
  }
  return weights;
}

class RecurrentKernel : public Kernel {
 public:
  RecurrentKernel(RecurrentShape s, bool prepacked, std::vector<DirectionWeights> weights)
      : s_(s), prepacked_(prepacked), w_(std::move(weights)) {
    rec_cols_ = !s_.lstm && !s_.linear_before_reset ? 2 * s_.hidden : s_.gates() * s_.hidden;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const int64_t H = s_.hidden, G = s_.gates(), B = s_.batch, T = s_.seq;
    const int64_t GH = G * H, rows = T * B;
    const float* x = inputs[0]->data<float>();
    const float* h0 = input(inputs, 5);
    const float* c0 = s_.lstm ? input(inputs, 6) : nullptr;
    float* y = output(outputs, 0);
    float* yh = output(outputs, 1);
    float* yc = s_.lstm ? output(outputs, 2) : nullptr;
    std::vector<float> xw(static_cast<size_t>(rows * GH));
    std::vector<float> h(static_cast<size_t>(B * H)), c(static_cast<size_t>(B * H));
    std::vector<float> hr(static_cast<size_t>(padded(rec_cols_))),
        hh(static_cast<size_t>(padded(H)));
    std::vector<float> z(static_cast<size_t>(H)), r(static_cast<size_t>(H)),
        rh(static_cast<size_t>(H));
    std::vector<DirectionWeights> run_weights;
    if (!prepacked_)
      run_weights = pack_weights(s_, input(inputs, 1), input(inputs, 2), input(inputs, 3),
                                 s_.lstm ? input(inputs, 7) : nullptr);
    const std::vector<DirectionWeights>& weights = prepacked_ ? w_ : run_weights;
    for (int64_t d = 0; d < s_.dirs; ++d) {
      const DirectionWeights& w = weights[static_cast<size_t>(d)];
      // All time steps' input projections at once; rows follow X's (t, b) or (b, t) order.
      const dnnl::status st = dnnl::sgemm('N', 'T', rows, GH, s_.input, 1.0f, x, s_.input,
                                          w.w.data(), s_.input, 0.0f, xw.data(), GH);
      NNA_CHECK(st == dnnl::status::success, "LSTM/GRU input projection: sgemm failed");
      for (int64_t i = 0; i < rows; ++i) {
        float* row = xw.data() + i * GH;
        for (int64_t g = 0; g < GH; ++g) row[g] += w.bias[static_cast<size_t>(g)];
      }
      for (int64_t b = 0; b < B; ++b) {
        const int64_t si = state_index(d, b);
        for (int64_t j = 0; j < H; ++j) {
          h[static_cast<size_t>(b * H + j)] = h0 != nullptr ? h0[si + j] : 0.0f;
          c[static_cast<size_t>(b * H + j)] = c0 != nullptr ? c0[si + j] : 0.0f;
        }
      }
      const bool reverse = s_.reverse_only || d == 1;
      for (int64_t step = 0; step < T; ++step) {
        const int64_t t = reverse ? T - 1 - step : step;
        for (int64_t b = 0; b < B; ++b) {
          float* hb = h.data() + b * H;
          float* cb = c.data() + b * H;
          const float* xwb = xw.data() + (s_.layout1 ? b * T + t : t * B + b) * GH;
          gemv_packed(hb, H, w.rec.data(), padded(rec_cols_), hr.data());
          if (s_.lstm) {
            lstm_cell(xwb, hr.data(), w.peephole.empty() ? nullptr : w.peephole.data(), cb, hb, H);
          } else {
            gru_gates(xwb, hr.data(), hb, z.data(), r.data(), rh.data(), H);
            if (s_.linear_before_reset) {
              float* rec = hr.data() + 2 * H;
              for (int64_t j = 0; j < H; ++j) rec[j] += w.rec_bias_h[static_cast<size_t>(j)];
              gru_update(xwb + 2 * H, rec, r.data(), z.data(), hb, H);
            } else {
              gemv_packed(rh.data(), H, w.rec_h.data(), padded(H), hh.data());
              gru_update(xwb + 2 * H, hh.data(), nullptr, z.data(), hb, H);
            }
          }
          if (y != nullptr) std::copy(hb, hb + H, y + y_index(t, d, b));
        }
      }
      for (int64_t b = 0; b < B; ++b) {
        const int64_t si = state_index(d, b);
        if (yh != nullptr) std::copy(h.begin() + b * H, h.begin() + (b + 1) * H, yh + si);
        if (yc != nullptr) std::copy(c.begin() + b * H, c.begin() + (b + 1) * H, yc + si);
      }
    }
  }

  std::string name() const override {
    return kernel_name(std::string(s_.lstm ? "LSTM" : "GRU") + " (sgemm + packed gemv)");
  }
  uint64_t packed_bytes() const override {
    uint64_t n = 0;
    for (const DirectionWeights& w : w_)
      n += w.w.size() + w.bias.size() + w.rec.size() + w.rec_h.size() + w.rec_bias_h.size() +
           w.peephole.size();
    return n * sizeof(float);
  }
  bool owns_constant(int input) const override {
    return prepacked_ && (input == 1 || input == 2 || input == 3 || (s_.lstm && input == 7));
  }

 private:
  static const float* input(std::span<const Tensor* const> in, size_t i) {
    return i < in.size() && in[i] != nullptr ? in[i]->data<float>() : nullptr;
  }
  static float* output(std::span<Tensor> out, size_t i) {
    return i < out.size() && out[i].defined() ? out[i].data<float>() : nullptr;
  }
  int64_t y_index(int64_t t, int64_t d, int64_t b) const {
    return (s_.layout1 ? (b * s_.seq + t) * s_.dirs + d : (t * s_.dirs + d) * s_.batch + b) *
           s_.hidden;
  }
  int64_t state_index(int64_t d, int64_t b) const {
    return (s_.layout1 ? b * s_.dirs + d : d * s_.batch + b) * s_.hidden;
  }

  RecurrentShape s_;
  bool prepacked_;
  std::vector<DirectionWeights> w_;
  int64_t rec_cols_ = 0;
};

std::unique_ptr<Kernel> make_recurrent(KernelRequest& r, bool lstm) {
  if (!simd_enabled()) return nullptr;
  const Node& node = r.node;
  auto present = [&](size_t i) { return i < r.inputs.size() && r.inputs[i] != nullptr; };
  auto constant_f32 = [&](size_t i) {
    return present(i) && r.constants[i] != nullptr && r.constants[i]->dtype() == DType::f32;
  };
  const ValueDesc* x = r.inputs.empty() ? nullptr : r.inputs[0];
  if (!is_plain_f32(x) || x->shape.size() != 3 || !present(1) || !present(2)) return nullptr;
  if (present(4) || node.has_attr("clip") || node.attr_int("input_forget", 0) != 0) return nullptr;
  for (size_t i : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{6}, size_t{7}})
    if (present(i) && (!is_f32(r.inputs[i]) || !r.inputs[i]->plain())) return nullptr;
  for (size_t o = 0; o < r.outputs.size(); ++o)
    if (!node.outputs[o].empty() && !is_f32(&r.outputs[o])) return nullptr;

  RecurrentShape s;
  s.lstm = lstm;
  s.linear_before_reset = !lstm && node.attr_int("linear_before_reset", 0) != 0;
  const int64_t layout = node.attr_int("layout", 0);
  if (layout != 0 && layout != 1) return nullptr;
  s.layout1 = layout == 1;
  const std::string direction = node.attr_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    return nullptr;
  s.dirs = direction == "bidirectional" ? 2 : 1;
  s.reverse_only = direction == "reverse";
  s.seq = x->shape[s.layout1 ? 1 : 0];
  s.batch = x->shape[s.layout1 ? 0 : 1];
  s.input = x->shape[2];
  const Shape& w_shape = r.inputs[1]->shape;
  const Shape& r_shape = r.inputs[2]->shape;
  if (r_shape.size() != 3) return nullptr;
  s.hidden = r_shape[2];
  const int64_t H = s.hidden, G = s.gates(), D = s.dirs;
  if (H <= 0 || s.seq <= 0 || s.batch <= 0 || s.input <= 0) return nullptr;
  if (node.attr_int("hidden_size", H) != H) return nullptr;
  if (w_shape != Shape{D, G * H, s.input} || r_shape != Shape{D, G * H, H}) return nullptr;
  if (present(3) && r.inputs[3]->shape != Shape{D, 2 * G * H}) return nullptr;
  if (lstm && present(7) && r.inputs[7]->shape != Shape{D, 3 * H}) return nullptr;
  // The default activations only: f, g(, h) = Sigmoid, Tanh(, Tanh) per direction.
  if (const Attribute* a = node.attr("activations")) {
    const std::vector<std::string>& acts = a->strings;
    if (acts.size() != static_cast<size_t>(D * (lstm ? 3 : 2))) return nullptr;
    for (size_t i = 0; i < acts.size(); ++i)
      if (!lower_equal(acts[i], i % (lstm ? 3 : 2) == 0 ? "sigmoid" : "tanh")) return nullptr;
  }

  // Constant weights are packed once here; weights computed at run time, on every run.
  const bool constant = constant_f32(1) && constant_f32(2) && (!present(3) || constant_f32(3)) &&
                        (!lstm || !present(7) || constant_f32(7));
  std::vector<DirectionWeights> weights;
  if (constant) {
    auto data = [&](size_t i) { return present(i) ? r.constants[i]->data<float>() : nullptr; };
    weights = pack_weights(s, data(1), data(2), data(3), lstm ? data(7) : nullptr);
  }
  return std::make_unique<RecurrentKernel>(s, constant, std::move(weights));
}

std::unique_ptr<Kernel> make_lstm(KernelRequest& r) { return make_recurrent(r, true); }
std::unique_ptr<Kernel> make_gru(KernelRequest& r) { return make_recurrent(r, false); }

}  // namespace

void register_recurrent_kernels(KernelRegistry& reg) {
  reg.add({"", "LSTM", "simd", make_lstm});
  reg.add({"", "GRU", "simd", make_gru});
}

}  // namespace nnaccel::simd
