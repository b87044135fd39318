#include "attention/cpu/counter_dropout.h"

#include <mutex>

#include <ATen/CPUGeneratorImpl.h>

#include "attention/cpu/vector_math.h"

#if LRA_X86_VECTOR
#include <immintrin.h>
#endif

namespace lra::cpu {
namespace {

template <typename T>
void apply_scalar(T* out, int64_t n, uint64_t row_key, uint32_t first, uint32_t threshold,
                  T keep_scale) {
  for (int64_t j = 0; j < n; ++j) {
    const bool kept = column_bits(row_key, first + static_cast<uint32_t>(j)) >= threshold;
    out[j] = kept ? out[j] * keep_scale : T(0);
  }
}

#if LRA_X86_VECTOR
LRA_AVX2 __m256i fmix32x8(__m256i h) {
  h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
  h = _mm256_mullo_epi32(h, _mm256_set1_epi32(static_cast<int>(0x85EBCA6Bu)));
  h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 13));
  h = _mm256_mullo_epi32(h, _mm256_set1_epi32(static_cast<int>(0xC2B2AE35u)));
  return _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
}

LRA_AVX2 void apply_avx2(float* out, int64_t n, uint64_t row_key, uint32_t first,
                         uint32_t threshold, float keep_scale) {
  const __m256i lo = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(row_key)));
  const __m256i hi = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(row_key >> 32)));
  // Unsigned bits >= threshold as a signed compare: flip the sign bit of both sides.
  const __m256i sign = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  const __m256i below = _mm256_set1_epi32(static_cast<int>((threshold ^ 0x80000000u) - 1u));
  const __m256 scale = _mm256_set1_ps(keep_scale);
  __m256i col = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(first)),
                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256i step = _mm256_set1_epi32(8);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8, col = _mm256_add_epi32(col, step)) {
    const __m256i bits = fmix32x8(_mm256_xor_si256(fmix32x8(_mm256_add_epi32(col, lo)), hi));
    __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_xor_si256(bits, sign), below));
    if (threshold == 0) keep = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    _mm256_storeu_ps(out + j, _mm256_and_ps(_mm256_mul_ps(_mm256_loadu_ps(out + j), scale), keep));
  }
  apply_scalar(out + j, n - j, row_key, first + static_cast<uint32_t>(j), threshold, keep_scale);
}
#endif

}  // namespace

uint64_t draw_dropout_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

void apply_counter_dropout(float* out, int64_t n, uint64_t row_key, uint32_t first,
                           uint32_t threshold, float keep_scale) {
#if LRA_X86_VECTOR
  if (has_avx2()) return apply_avx2(out, n, row_key, first, threshold, keep_scale);
#endif
  apply_scalar(out, n, row_key, first, threshold, keep_scale);
}

void apply_counter_dropout(double* out, int64_t n, uint64_t row_key, uint32_t first,
                           uint32_t threshold, double keep_scale) {
  apply_scalar(out, n, row_key, first, threshold, keep_scale);
}

}  // namespace lra::cpu
