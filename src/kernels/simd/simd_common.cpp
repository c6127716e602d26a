#include "kernels/simd/simd_common.hpp"

#include "core/cast.hpp"

namespace nnaccel::simd {

bool constant_scalar(const KernelRequest& r, size_t input, float& value) {
  if (input >= r.constants.size() || r.constants[input] == nullptr) return false;
  const Tensor& t = *r.constants[input];
  if (t.numel() != 1 || !dtype_is_float(t.dtype())) return false;
  value = cast_tensor(t, DType::f32).data<float>()[0];
  return true;
}

Shape strip_leading_ones(const Shape& s) {
  size_t i = 0;
  while (i < s.size() && s[i] == 1) ++i;
  return Shape(s.begin() + static_cast<std::ptrdiff_t>(i), s.end());
}

bool broadcast_pattern(const Shape& s, const Shape& out, int64_t& inner, int64_t& k) {
  k = shape_numel(s);
  inner = 1;
  if (k == 1) return true;
  if (s.size() > out.size()) return false;
  const size_t offset = out.size() - s.size();
  size_t first = s.size(), last = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != 1) {
      if (first == s.size()) first = i;
      last = i;
    }
  // Between its first and last non-1 dims the operand must match the output exactly: then it
  // is one contiguous block repeated along the output's other dims.
  for (size_t i = first; i <= last; ++i)
    if (s[i] != out[offset + i]) return false;
  for (size_t i = offset + last + 1; i < out.size(); ++i) inner *= out[i];
  return true;
}

std::string kernel_name(const std::string& what) {
  return "simd " + what + " (" + simd_target_name() + ")";
}

}  // namespace nnaccel::simd
