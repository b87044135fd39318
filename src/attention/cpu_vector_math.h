// Row loops of the CPU attention kernels, vectorised with AVX2 + FMA where the machine has them
// (checked once at run time) and plain loops elsewhere; the float64 overloads are the plain
// loops, which the tests compare the float32 paths with.
#pragma once
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LRA_X86_VECTOR 1
#define LRA_AVX2 __attribute__((target("avx2,fma")))
#else
#define LRA_X86_VECTOR 0
#define LRA_AVX2
#endif

namespace lra::cpu {

// Whether this CPU runs the AVX2 + FMA paths.
bool has_avx2();

// s[j] = e^(s[j] - shift), returns their sum; shift finite or +inf (then every s[j] becomes 0).
// float: Cephes' expf polynomial (~1 ulp), exactly 0 below e^-87 and for -inf.
float exp_shifted(float* s, int64_t n, float shift);
double exp_shifted(double* s, int64_t n, double shift);

// max(init, s[0..n)).
float row_max(const float* s, int64_t n, float init);
double row_max(const double* s, int64_t n, double init);

// dp[j] = dp[j] * pd[j] - a[j] * delta: the softmax backward of one row (pd: the weights after
// dropout, a: before).
void softmax_backward_row(float* dp, const float* pd, const float* a, int64_t n, float delta);
void softmax_backward_row(double* dp, const double* pd, const double* a, int64_t n, double delta);

}  // namespace lra::cpu
