// ai.nnaccel QLookup on int8 values in any layout without padding channels (plain or
// channels-last): y[i] = table[x[i] - min(x's type)], split across threads like QAdd (one byte
// read and one written per element). With AVX-512 VBMI, 64 bytes at a time: two vpermi2b
// lookups in the table's halves and a blend on the index's top bit (a scalar loop took 15 us for
// PP-OCR cls's 37K-element HardSwish maps, more than the dequantize, float ops and quantize it
// replaced).
#include <immintrin.h>

#include <algorithm>

#include "core/parallel.hpp"
#include "kernels/simd/isa_cap.hpp"
#include "kernels/simd/simd_common.hpp"
#include "kernels/simd/simd_registration.hpp"

namespace nnaccel::simd {

namespace {

void lookup_scalar(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table, uint8_t shift) {
  for (int64_t i = 0; i < n; ++i) y[i] = table[static_cast<uint8_t>(x[i] + shift)];
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void lookup_vbmi(const uint8_t* x,
                                                                        uint8_t* y, int64_t n,
                                                                        const uint8_t* table,
                                                                        uint8_t shift) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  const __m512i s = _mm512_set1_epi8(static_cast<char>(shift));
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i idx = _mm512_add_epi8(_mm512_loadu_si512(x + i), s);
    const __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1);  // entries 0..127 (bits 0-6)
    const __m512i hi = _mm512_permutex2var_epi8(t2, idx, t3);  // entries 128..255
    _mm512_storeu_si512(y + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi));
  }
  lookup_scalar(x + i, y + i, n - i, table, shift);
}
#endif

bool has_vbmi() {
#if defined(__x86_64__)
  // Only where the simd kernels may use AVX-512 (NNACCEL_MAX_ISA caps it, isa_cap.hpp).
  static const bool yes = __builtin_cpu_supports("avx512vbmi") &&
                          __builtin_cpu_supports("avx512bw") && simd_target_name() == "AVX3";
  return yes;
#else
  return false;
#endif
}

class QLookupKernel : public Kernel {
 public:
  QLookupKernel(const Tensor& table, uint8_t shift, int64_t count) : shift_(shift), count_(count) {
    const uint8_t* t = static_cast<const uint8_t*>(table.raw());
    std::copy(t, t + 256, table_);
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) override {
    const uint8_t* x = static_cast<const uint8_t*>(inputs[0]->raw());
    uint8_t* y = static_cast<uint8_t*>(outputs[0].raw());
    const bool vbmi = has_vbmi();
    parallel_for(count_, kParallelGrain / 4, [&](int64_t begin, int64_t end) {
#if defined(__x86_64__)
      if (vbmi) return lookup_vbmi(x + begin, y + begin, end - begin, table_, shift_);
#endif
      lookup_scalar(x + begin, y + begin, end - begin, table_, shift_);
    });
  }

  std::string name() const override {
    return has_vbmi() ? "simd QLookup (AVX-512 VBMI)" : "simd QLookup (scalar)";
  }

 private:
  alignas(64) uint8_t table_[256];
  uint8_t shift_;  // moves i8's -128..127 to 0..255 (u8: 0)
  int64_t count_;
};

bool int8(DType t) { return t == DType::u8 || t == DType::i8; }

std::unique_ptr<Kernel> make_qlookup(KernelRequest& r) {
  if (!simd_enabled() || r.inputs.size() != 2 || r.outputs.size() != 1) return nullptr;
  const ValueDesc* x = r.inputs[0];
  const Tensor* table = r.constants.size() > 1 ? r.constants[1] : nullptr;
  if (x == nullptr || !x->known || !int8(x->dtype) || table == nullptr || !int8(table->dtype()) ||
      table->rank() != 1 || table->numel() != 256)
    return nullptr;
  // Plain, or channels-last (block == C: no padding channels for the table to map).
  if (!x->plain() && !(x->shape.size() >= 3 && x->block == x->shape[1])) return nullptr;
  r.outputs[0].dtype = table->dtype();
  r.outputs[0].block = x->block;
  return std::make_unique<QLookupKernel>(
      *table, static_cast<uint8_t>(x->dtype == DType::i8 ? 128 : 0), shape_numel(x->shape));
}

}  // namespace

void register_quant_lookup_kernel(KernelRegistry& reg) {
  reg.add({"ai.nnaccel", "QLookup", "simd", make_qlookup});
}

}  // namespace nnaccel::simd
