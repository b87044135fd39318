#include "attention/cpu/vector_math.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

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

// Cephes logf: x = 2^e m with m in [sqrt(1/2), sqrt(2)), ln x = e ln 2 + ln(1 + f), f = m - 1,
// ln(1 + f) = f - f^2 / 2 + f^3 P(f); ln 2 split as in exp.
constexpr float kLogPoly[9] = {7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
                               -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
                               2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};
constexpr float kSqrtHalf = 0.707106781186547524f;
constexpr int32_t kMantissaBits = 0x007fffff, kHalfExponent = 0x3f000000;  // m in [1/2, 1)

inline float log_scalar(float x) {
  if (!(x < std::numeric_limits<float>::infinity())) return x;  // +inf, NaN
  int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  float e = static_cast<float>((bits >> 23) - 126);
  bits = (bits & kMantissaBits) | kHalfExponent;
  float m;
  std::memcpy(&m, &bits, sizeof m);
  if (m < kSqrtHalf) {
    e -= 1.0f;
    m = m + m - 1.0f;
  } else {
    m -= 1.0f;
  }
  const float z = m * m;
  float p = kLogPoly[0];
  for (int i = 1; i < 9; ++i) p = p * m + kLogPoly[i];
  const float y = p * m * z + e * kLn2Lo - 0.5f * z;
  return m + y + e * kLn2Hi;
}

#if LRA_X86_VECTOR
LRA_AVX2 inline __m256 log_avx2(__m256 x) {
  const __m256 special = _mm256_cmp_ps(x, _mm256_set1_ps(std::numeric_limits<float>::infinity()),
                                       _CMP_NLT_UQ);  // +inf, NaN
  const __m256i bits = _mm256_castps_si256(x);
  __m256 e =
      _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
      _mm256_and_si256(bits, _mm256_set1_epi32(kMantissaBits)), _mm256_set1_epi32(kHalfExponent)));
  const __m256 low = _mm256_cmp_ps(m, _mm256_set1_ps(kSqrtHalf), _CMP_LT_OQ);
  const __m256 one = _mm256_set1_ps(1.0f);
  e = _mm256_sub_ps(e, _mm256_and_ps(low, one));
  m = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(low, m)), one);
  const __m256 z = _mm256_mul_ps(m, m);
  __m256 p = _mm256_set1_ps(kLogPoly[0]);
  for (int i = 1; i < 9; ++i) p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(kLogPoly[i]));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, m), z);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(kLn2Lo), y);
  y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, y);
  const __m256 r = _mm256_fmadd_ps(e, _mm256_set1_ps(kLn2Hi), _mm256_add_ps(m, y));
  return _mm256_blendv_ps(r, x, special);
}

LRA_AVX2 void log_inplace_avx2(float* s, int64_t n) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(s + j, log_avx2(_mm256_loadu_ps(s + j)));
  for (; j < n; ++j) s[j] = log_scalar(s[j]);
}

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

LRA_AVX2 float multiply_sum_avx2(float* a, const float* b, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 r = _mm256_mul_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j));
    _mm256_storeu_ps(a + j, r);
    acc = _mm256_add_ps(acc, r);
  }
  float sum = horizontal_sum(acc);
  for (; j < n; ++j) sum += (a[j] *= b[j]);
  return sum;
}

LRA_AVX2 float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), acc1);
  }
  for (; j + 8 <= n; j += 8)
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc0);
  float sum = horizontal_sum(_mm256_add_ps(acc0, acc1));
  for (; j < n; ++j) sum += a[j] * b[j];
  return sum;
}

LRA_AVX2 void axpy_avx2(float alpha, const float* x, float* y, int64_t n) {
  const __m256 a = _mm256_set1_ps(alpha);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps(y + j, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j)));
  for (; j < n; ++j) y[j] += alpha * x[j];
}

// The same loops at 16 lanes: the tails go through a mask instead of a scalar loop.
// GCC 12 warns inside its own avx512fintrin.h (the reductions start from _mm512_undefined_ps).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
LRA_AVX512 inline __m512 exp_avx512(__m512 x) {
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kFloor), _CMP_GE_OQ);
  x = _mm512_max_ps(x, _mm512_set1_ps(kFloor));
  const __m512 rounder = _mm512_set1_ps(kRounder);
  const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(kLog2e), rounder), rounder);
  __m512 f = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  f = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), f);
  __m512 p = _mm512_set1_ps(kPoly[0]);
  for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kPoly[i]));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, f), f, _mm512_add_ps(f, _mm512_set1_ps(1.0f)));
  const __m512i e =
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_maskz_mul_ps(keep, p, _mm512_castsi512_ps(e));
}

LRA_AVX512 inline __mmask16 tail_mask(int64_t left) {
  return static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1);
}

LRA_AVX512 inline __m512 log_avx512(__m512 x) {
  const __mmask16 special = _mm512_cmp_ps_mask(
      x, _mm512_set1_ps(std::numeric_limits<float>::infinity()), _CMP_NLT_UQ);  // +inf, NaN
  const __m512i bits = _mm512_castps_si512(x);
  __m512 e =
      _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(bits, 23), _mm512_set1_epi32(126)));
  __m512 m = _mm512_castsi512_ps(_mm512_or_si512(
      _mm512_and_si512(bits, _mm512_set1_epi32(kMantissaBits)), _mm512_set1_epi32(kHalfExponent)));
  const __mmask16 low = _mm512_cmp_ps_mask(m, _mm512_set1_ps(kSqrtHalf), _CMP_LT_OQ);
  const __m512 one = _mm512_set1_ps(1.0f);
  e = _mm512_mask_sub_ps(e, low, e, one);
  m = _mm512_sub_ps(_mm512_mask_add_ps(m, low, m, m), one);
  const __m512 z = _mm512_mul_ps(m, m);
  __m512 p = _mm512_set1_ps(kLogPoly[0]);
  for (int i = 1; i < 9; ++i) p = _mm512_fmadd_ps(p, m, _mm512_set1_ps(kLogPoly[i]));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, m), z);
  y = _mm512_fmadd_ps(e, _mm512_set1_ps(kLn2Lo), y);
  y = _mm512_fnmadd_ps(_mm512_set1_ps(0.5f), z, y);
  const __m512 r = _mm512_fmadd_ps(e, _mm512_set1_ps(kLn2Hi), _mm512_add_ps(m, y));
  return _mm512_mask_mov_ps(r, special, x);
}

LRA_AVX512 void log_inplace_avx512(float* s, int64_t n) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    // Lanes past the tail load 1, whose log is harmless.
    const __m512 x = _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), m, s + j);
    _mm512_mask_storeu_ps(s + j, m, log_avx512(x));
  }
}

LRA_AVX512 float exp_shifted_avx512(float* s, int64_t n, float shift) {
  const __m512 vshift = _mm512_set1_ps(shift);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    const __m512 a = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(s + j), vshift));
    const __m512 b = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(s + j + 16), vshift));
    _mm512_storeu_ps(s + j, a);
    _mm512_storeu_ps(s + j + 16, b);
    acc0 = _mm512_add_ps(acc0, a);
    acc1 = _mm512_add_ps(acc1, b);
  }
  for (; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    const __m512 a = exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + j), vshift));
    _mm512_mask_storeu_ps(s + j, m, a);
    acc0 = _mm512_add_ps(acc0, _mm512_maskz_mov_ps(m, a));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

LRA_AVX512 float multiply_sum_avx512(float* a, const float* b, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    const __m512 r =
        _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + j), _mm512_maskz_loadu_ps(m, b + j));
    _mm512_mask_storeu_ps(a + j, m, r);
    acc = _mm512_add_ps(acc, r);
  }
  return _mm512_reduce_add_ps(acc);
}

LRA_AVX512 float dot_avx512(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(b + j + 16), acc1);
  }
  for (; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + j), _mm512_maskz_loadu_ps(m, b + j), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

LRA_AVX512 void axpy_avx512(float alpha, const float* x, float* y, int64_t n) {
  const __m512 a = _mm512_set1_ps(alpha);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    const __m512 r =
        _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, x + j), _mm512_maskz_loadu_ps(m, y + j));
    _mm512_mask_storeu_ps(y + j, m, r);
  }
}

LRA_AVX512 float row_max_avx512(const float* s, int64_t n, float init) {
  __m512 m = _mm512_set1_ps(init);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    m = _mm512_mask_max_ps(m, k, m, _mm512_maskz_loadu_ps(k, s + j));
  }
  return _mm512_reduce_max_ps(m);
}

LRA_AVX512 void softmax_backward_row_avx512(float* dp, const float* pd, const float* a, int64_t n,
                                            float delta) {
  const __m512 vd = _mm512_set1_ps(delta);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    const __m512 r =
        _mm512_fmsub_ps(_mm512_maskz_loadu_ps(m, dp + j), _mm512_maskz_loadu_ps(m, pd + j),
                        _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + j), vd));
    _mm512_mask_storeu_ps(dp + j, m, r);
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
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

bool supports(VectorPath path) {
#if LRA_X86_VECTOR
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (path == VectorPath::avx512) return avx512;
  if (path == VectorPath::avx2) return has_avx2();
#endif
  return path == VectorPath::scalar;
}

VectorPath best_path() {
  static const VectorPath best = supports(VectorPath::avx512) ? VectorPath::avx512
                                 : supports(VectorPath::avx2) ? VectorPath::avx2
                                                              : VectorPath::scalar;
  return best;
}

const char* path_name(VectorPath path) {
  switch (path) {
    case VectorPath::avx512:
      return "avx512";
    case VectorPath::avx2:
      return "avx2";
    default:
      return "scalar";
  }
}

float exp_shifted(float* s, int64_t n, float shift, VectorPath path) {
#if LRA_X86_VECTOR
  if (path == VectorPath::avx512) return exp_shifted_avx512(s, n, shift);
  if (path == VectorPath::avx2) return exp_shifted_avx2(s, n, shift);
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

void log_inplace(float* s, int64_t n, VectorPath path) {
#if LRA_X86_VECTOR
  if (path == VectorPath::avx512) return log_inplace_avx512(s, n);
  if (path == VectorPath::avx2) return log_inplace_avx2(s, n);
#endif
  for (int64_t j = 0; j < n; ++j) s[j] = log_scalar(s[j]);
}

void log_inplace(double* s, int64_t n) {
  for (int64_t j = 0; j < n; ++j) s[j] = std::log(s[j]);
}

float multiply_sum(float* a, const float* b, int64_t n, VectorPath path) {
#if LRA_X86_VECTOR
  if (path == VectorPath::avx512) return multiply_sum_avx512(a, b, n);
  if (path == VectorPath::avx2) return multiply_sum_avx2(a, b, n);
#endif
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) sum += (a[j] *= b[j]);
  return sum;
}

double multiply_sum(double* a, const double* b, int64_t n) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) sum += (a[j] *= b[j]);
  return sum;
}

float dot(const float* a, const float* b, int64_t n, VectorPath path) {
#if LRA_X86_VECTOR
  if (path == VectorPath::avx512) return dot_avx512(a, b, n);
  if (path == VectorPath::avx2) return dot_avx2(a, b, n);
#endif
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) sum += a[j] * b[j];
  return sum;
}

double dot(const double* a, const double* b, int64_t n) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) sum += a[j] * b[j];
  return sum;
}

void axpy(float alpha, const float* x, float* y, int64_t n, VectorPath path) {
#if LRA_X86_VECTOR
  if (path == VectorPath::avx512) return axpy_avx512(alpha, x, y, n);
  if (path == VectorPath::avx2) return axpy_avx2(alpha, x, y, n);
#endif
  for (int64_t j = 0; j < n; ++j) y[j] += alpha * x[j];
}

void axpy(double alpha, const double* x, double* y, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] += alpha * x[j];
}

float row_max(const float* s, int64_t n, float init, VectorPath path) {
#if LRA_X86_VECTOR
  if (path == VectorPath::avx512) return row_max_avx512(s, n, init);
  if (path == VectorPath::avx2) return row_max_avx2(s, n, init);
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

void softmax_backward_row(float* dp, const float* pd, const float* a, int64_t n, float delta,
                          VectorPath path) {
#if LRA_X86_VECTOR
  if (path == VectorPath::avx512) return softmax_backward_row_avx512(dp, pd, a, n, delta);
  if (path == VectorPath::avx2) return softmax_backward_row_avx2(dp, pd, a, n, delta);
#endif
  for (int64_t j = 0; j < n; ++j) dp[j] = dp[j] * pd[j] - a[j] * delta;
}

void softmax_backward_row(double* dp, const double* pd, const double* a, int64_t n, double delta) {
  for (int64_t j = 0; j < n; ++j) dp[j] = dp[j] * pd[j] - a[j] * delta;
}

}  // namespace lra::cpu
