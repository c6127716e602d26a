#pragma once
// How closely one model's outputs follow another's: signal-to-quantization-noise ratio, cosine
// similarity and argmax agreement along the last axis, accumulated in double over batches (so a
// data set of any size is measured in the memory of one batch).
#include <cstdint>
#include <string>

#include "nnaccel/tensor.hpp"

namespace nnaccel {

struct OutputAgreement {
  double sqnr_db = 0;           // 10 log10(sum ref^2 / sum (ref - got)^2); inf when equal
  double cosine = 0;            // over all elements; 1 when both are zero
  double argmax_agreement = 0;  // fraction of positions (all but the last axis) with equal argmax
  int64_t positions = 0;
  int64_t elements = 0;
};

class OutputAgreementAccumulator {
 public:
  // `ref` and `got` must have one shape and be float32 (Error naming `what` otherwise).
  void add(const Tensor& ref, const Tensor& got, const std::string& what);
  OutputAgreement result() const;
  bool empty() const { return elements_ == 0; }

 private:
  double ref_sq_ = 0, got_sq_ = 0, dot_ = 0, noise_ = 0;
  int64_t agree_ = 0, positions_ = 0, elements_ = 0;
};

}  // namespace nnaccel
