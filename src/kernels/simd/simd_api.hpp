#pragma once
// The target-independent entry points of the Highway code (each dispatches at run time to the
// best compiled target, see isa_cap.hpp). Plain pointers and sizes: the kernels in
// *_kernels.cpp own the shapes and the threading (they split work with parallel_for).
#include <cstdint>
#include <vector>

#include "ops/elementwise_chain.hpp"

namespace nnaccel::simd {

// An operand of an elementwise program, seen along the flat index i of the output:
// value(i) = data[(i / inner) % k]. k == 1: scalar; inner == 1 && k == n: same shape;
// inner == 1 && k < n: trailing vector; inner > 1: per-channel (constant over runs of `inner`).
// block > 0: a per-channel operand of a channel-blocked X ([N, Cb, spatial, block] physically,
// inner = spatial * block): run r = i / inner is (n, cb) = (r / k, r % k) with k = Cb here, and
// value(i) = data[n * n_stride + cb * block + i % block]; data is zero-padded to Cb * block
// channels (per n when n_stride > 0), so X's padding channels meet zeros.
struct EwOperand {
  const float* data = nullptr;
  int64_t inner = 1;
  int64_t k = 1;
  int64_t block = 0;
  int64_t n_stride = 0;
};

// One step of an elementwise program: ChainOp semantics (ops/elementwise_chain.hpp), with one
// addition: pow with operand == -1 is the unary x^p0 for p0 in {2, 0.5}. Clip is
// min(max(x, p0), p1) as ONNX's Clip.
struct EwStep {
  ChainOp op = ChainOp::relu;
  int operand = -1;  // index into EwProgram::operands, -1 for unary steps
  float p0 = 0.0f, p1 = 0.0f;
};

struct EwProgram {
  const float* x = nullptr;
  float* y = nullptr;  // may equal x
  std::vector<EwStep> steps;
  std::vector<EwOperand> operands;
};

// ---- elementwise_impl.cpp ----

// y[i] = steps(x[i], operands(i)) for i in [begin, end).
void eval_elementwise(const EwProgram& p, int64_t begin, int64_t end);

// ---- rows_impl.cpp ----

// Softmax (or LogSoftmax) of rows [row_begin, row_end) of x viewed as [rows, len].
void softmax_rows(const float* x, float* y, int64_t row_begin, int64_t row_end, int64_t len,
                  bool log);
// Softmax over the strided axis of one [len, inner] slice, for columns [col_begin, col_end).
void softmax_columns(const float* x, float* y, int64_t len, int64_t inner, int64_t col_begin,
                     int64_t col_end, bool log);

// LayerNormalization of rows [row_begin, row_end) of x viewed as [rows, len]. bias, mean and
// inv_std_dev may be null.
void layer_norm(const float* x, float* y, int64_t row_begin, int64_t row_end, int64_t len,
                const float* scale, const float* bias, float epsilon, float* mean,
                float* inv_std_dev);

enum class ReduceKind { sum, mean, max };
// y[r] = reduce(x[r * len .. (r + 1) * len)) for r in [row_begin, row_end).
void reduce_rows(const float* x, float* y, int64_t row_begin, int64_t row_end, int64_t len,
                 ReduceKind kind);

// y[c][r] = x[r][c] for a [rows, cols] matrix, rows [row_begin, row_end) of x.
void transpose_2d(const float* x, float* y, int64_t rows, int64_t cols, int64_t row_begin,
                  int64_t row_end);

// ---- recurrent_impl.cpp (for recurrent_kernels.cpp) ----

// Gate g of a [G * H] vector is at g * H.
constexpr int64_t kGemvPad = 16;  // packed matrices' row length is a multiple of this

// out[n] = sum_k v[k] * m[k * n_pad + n] for n in [0, n_pad); n_pad a multiple of kGemvPad.
void gemv_packed(const float* v, int64_t k, const float* m, int64_t n_pad, float* out);

// One LSTM step (gates i, o, f, c; default activations): xw and hr are the input and
// recurrent projections with biases, p the peepholes [i, o, f] or null. Updates c and h.
void lstm_cell(const float* xw, const float* hr, const float* p, float* c, float* h,
               int64_t hidden);

// GRU, first half (gates z, r, h): z and r from the projections, and rh = r * h.
void gru_gates(const float* xw, const float* hr, const float* h, float* z, float* r, float* rh,
               int64_t hidden);
// GRU, second half: h = (1 - z) * tanh(xw_h + rec) + z * h, rec scaled by r when r is not null
// (linear_before_reset).
void gru_update(const float* xw_h, const float* rec, const float* r, const float* z, float* h,
                int64_t hidden);

}  // namespace nnaccel::simd
