#include "attention/cpu_vector_math.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if LRA_X86_VECTOR
#include <immintrin.h>
#endif

namespace lra::cpu {
namespace {

// Cephes expf: e^x = 2^n e^f, n = round(x / ln 2), |f| <= ln 2 / 2, ln 2 split in two parts.
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                            4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
constexpr float kFloor = -87.0f;         // e^-87 is the last normal float this form reaches
constexpr float kRounder = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer

inline float exp_scalar(float x) {
  if (!(x >= kFloor)) return 0.0f;  // also -inf
  const float n = (x * kLog2e + kRounder) - kRounder;
  const float f = x - n * kLn2Hi - n * kLn2Lo;
  float p = kPoly[0];
  for (int i = 1; i < 6; ++i) p = p * f + kPoly[i];
  p = p * f * f + f + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return p * two_n;
}

#if LRA_X86_VECTOR
LRA_AVX2 inline __m256 exp_avx2(__m256 x) {
  const __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(kFloor), _CMP_GE_OQ);
  x = _mm256_max_ps(x, _mm256_set1_ps(kFloor));
  const __m256 rounder = _mm256_set1_ps(kRounder);
  const __m256 n = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(kLog2e), rounder), rounder);
  __m256 f = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  f = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), f);
  __m256 p = _mm256_set1_ps(kPoly[0]);
  for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kPoly[i]));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, f), f, _mm256_add_ps(f, _mm256_set1_ps(1.0f)));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
}

LRA_AVX2 inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

LRA_AVX2 float exp_shifted_avx2(float* s, int64_t n, float shift) {
  const __m256 vshift = _mm256_set1_ps(shift);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256 a = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + j), vshift));
    const __m256 b = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + j + 8), vshift));
    _mm256_storeu_ps(s + j, a);
    _mm256_storeu_ps(s + j + 8, b);
    acc0 = _mm256_add_ps(acc0, a);
    acc1 = _mm256_add_ps(acc1, b);
  }
  float sum = horizontal_sum(_mm256_add_ps(acc0, acc1));
  for (; j < n; ++j) sum += (s[j] = exp_scalar(s[j] - shift));
  return sum;
}

LRA_AVX2 float row_max_avx2(const float* s, int64_t n, float init) {
  __m256 m = _mm256_set1_ps(init);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(s + j));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  float top = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
  for (; j < n; ++j) top = std::max(top, s[j]);
  return top;
}

LRA_AVX2 void softmax_backward_row_avx2(float* dp, const float* pd, const float* a, int64_t n,
                                        float delta) {
  const __m256 vd = _mm256_set1_ps(delta);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 r = _mm256_fmsub_ps(_mm256_loadu_ps(dp + j), _mm256_loadu_ps(pd + j),
                                     _mm256_mul_ps(_mm256_loadu_ps(a + j), vd));
    _mm256_storeu_ps(dp + j, r);
  }
  for (; j < n; ++j) dp[j] = dp[j] * pd[j] - a[j] * delta;
}
#endif

}  // namespace

bool has_avx2() {
#if LRA_X86_VECTOR
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

float exp_shifted(float* s, int64_t n, float shift) {
#if LRA_X86_VECTOR
  if (has_avx2()) return exp_shifted_avx2(s, n, shift);
#endif
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) sum += (s[j] = exp_scalar(s[j] - shift));
  return sum;
}

double exp_shifted(double* s, int64_t n, double shift) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) sum += (s[j] = std::exp(s[j] - shift));
  return sum;
}

float row_max(const float* s, int64_t n, float init) {
#if LRA_X86_VECTOR
  if (has_avx2()) return row_max_avx2(s, n, init);
#endif
  float m = init;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, s[j]);
  return m;
}

double row_max(const double* s, int64_t n, double init) {
  double m = init;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, s[j]);
  return m;
}

void softmax_backward_row(float* dp, const float* pd, const float* a, int64_t n, float delta) {
#if LRA_X86_VECTOR
  if (has_avx2()) return softmax_backward_row_avx2(dp, pd, a, n, delta);
#endif
  for (int64_t j = 0; j < n; ++j) dp[j] = dp[j] * pd[j] - a[j] * delta;
}

void softmax_backward_row(double* dp, const double* pd, const double* a, int64_t n, double delta) {
  for (int64_t j = 0; j < n; ++j) dp[j] = dp[j] * pd[j] - a[j] * delta;
}

}  // namespace lra::cpu
