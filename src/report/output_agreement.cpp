#include "report/output_agreement.hpp"

#include <cmath>

#include "core/check.hpp"

namespace nnaccel {

void OutputAgreementAccumulator::add(const Tensor& ref, const Tensor& got,
                                     const std::string& what) {
  NNA_CHECK(ref.dtype() == DType::f32 && got.dtype() == DType::f32,
            "{}: comparing outputs needs float32, got {} and {}", what, dtype_name(ref.dtype()),
            dtype_name(got.dtype()));
  NNA_CHECK(ref.shape() == got.shape(), "{}: the models' outputs differ in shape: {} and {}", what,
            shape_str(ref.shape()), shape_str(got.shape()));
  const float* a = ref.data<float>();
  const float* b = got.data<float>();
  const int64_t n = ref.numel();
  for (int64_t i = 0; i < n; ++i) {
    const double x = a[i], y = b[i];
    ref_sq_ += x * x;
    got_sq_ += y * y;
    dot_ += x * y;
    noise_ += (x - y) * (x - y);
  }
  elements_ += n;
  const int64_t k = ref.rank() > 0 ? ref.dim(ref.rank() - 1) : 1;
  if (k <= 0) return;
  for (int64_t row = 0; row < n / k; ++row) {
    const float* ra = a + row * k;
    const float* rb = b + row * k;
    int64_t ia = 0, ib = 0;
    for (int64_t j = 1; j < k; ++j) {
      if (ra[j] > ra[ia]) ia = j;
      if (rb[j] > rb[ib]) ib = j;
    }
    agree_ += ia == ib ? 1 : 0;
  }
  positions_ += n / k;
}

OutputAgreement OutputAgreementAccumulator::result() const {
  OutputAgreement r;
  r.elements = elements_;
  r.positions = positions_;
  r.sqnr_db = noise_ > 0 ? 10.0 * std::log10(ref_sq_ / noise_) : INFINITY;
  const double norms = std::sqrt(ref_sq_) * std::sqrt(got_sq_);
  r.cosine = norms > 0 ? dot_ / norms : (ref_sq_ == got_sq_ ? 1.0 : 0.0);
  r.argmax_agreement =
      positions_ > 0 ? static_cast<double>(agree_) / static_cast<double>(positions_) : 0.0;
  return r;
}

}  // namespace nnaccel
