#include "kernels/simd/isa_cap.hpp"

#include <hwy/targets.h>

#include <cstdlib>
#include <string_view>

#include "core/check.hpp"

namespace nnaccel::simd {

namespace {

struct IsaState {
  bool enabled = false;
  int64_t target = 0;
};

// Highway orders x86 targets best first with the lowest bits, so "at most AVX2" disables every
// bit below HWY_AVX2. DisableTargets also resets the dispatch tables' choice, so the next
// HWY_DYNAMIC_DISPATCH picks again under the cap.
IsaState apply_cap() {
  IsaState s;
  const char* env = std::getenv("NNACCEL_MAX_ISA");
  std::string_view cap = env != nullptr ? env : "";
  if (cap == "scalar") return s;
  if (cap == "avx2") {
    hwy::DisableTargets(HWY_AVX2 - 1);
  } else if (cap == "avx512") {
    hwy::DisableTargets(HWY_AVX3 - 1);
  } else if (!cap.empty()) {
    fail("NNACCEL_MAX_ISA must be avx2, avx512 or scalar, got '{}'", cap);
  }
  const int64_t supported = hwy::SupportedTargets();
  s.target = supported & ~(supported - 1);  // the best one
  // Below SSE4 Highway would emulate vectors; the reference kernels are as good there.
  s.enabled = s.target == HWY_AVX3 || s.target == HWY_AVX3_DL || s.target == HWY_AVX2 ||
              s.target == HWY_SSE4;
  if (s.target == HWY_AVX3_DL) s.target = HWY_AVX3;  // not compiled: AVX3 code runs
  return s;
}

const IsaState& state() {
  static const IsaState s = apply_cap();
  return s;
}

}  // namespace

bool simd_enabled() { return state().enabled; }

std::string simd_target_name() { return hwy::TargetName(state().target); }

}  // namespace nnaccel::simd
