// Row loops of the CPU attention kernels, vectorised with AVX-512 or AVX2 + FMA where the
// machine has them (checked once at run time) and plain loops elsewhere; the float64 overloads
// are the plain loops, which the tests compare every float32 path with.
#pragma once
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LRA_X86_VECTOR 1
#define LRA_AVX2 __attribute__((target("avx2,fma")))
#define LRA_AVX512 __attribute__((target("avx512f")))
// A function compiled three times, for AVX-512, AVX2 and the baseline, the loader picking the
// widest this CPU runs (GNU ifunc): for plain loops the compiler vectorises.
#define LRA_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LRA_X86_VECTOR 0
#define LRA_AVX2
#define LRA_AVX512
#define LRA_VECTOR_CLONES
#endif

namespace lra::cpu {

// Whether this CPU runs the AVX2 + FMA paths.
bool has_avx2();

// The float32 loops: 16 lanes, 8 lanes, or one. best_path() is the widest this CPU runs;
// supports(path) says whether it runs a given one (tests run each).
enum class VectorPath { scalar, avx2, avx512 };
VectorPath best_path();
bool supports(VectorPath path);
const char* path_name(VectorPath path);

// s[j] = e^(s[j] - shift), returns their sum; shift finite or +inf (then every s[j] becomes 0).
// float: Cephes' expf polynomial (~1 ulp), exactly 0 below e^-87 and for -inf.
float exp_shifted(float* s, int64_t n, float shift, VectorPath path = best_path());
double exp_shifted(double* s, int64_t n, double shift);

// s[j] = ln(s[j]) for positive normal floats and +inf (Cephes' logf polynomial, ~1 ulp); NaN stays
// NaN. Zero, negative and subnormal entries are the caller's to keep out.
void log_inplace(float* s, int64_t n, VectorPath path = best_path());
void log_inplace(double* s, int64_t n);

// a[j] *= b[j], returns the sum of the products.
float multiply_sum(float* a, const float* b, int64_t n, VectorPath path = best_path());
double multiply_sum(double* a, const double* b, int64_t n);

// sum_j a[j] b[j].
float dot(const float* a, const float* b, int64_t n, VectorPath path = best_path());
double dot(const double* a, const double* b, int64_t n);

// y[j] += alpha x[j].
void axpy(float alpha, const float* x, float* y, int64_t n, VectorPath path = best_path());
void axpy(double alpha, const double* x, double* y, int64_t n);

// max(init, s[0..n)).
float row_max(const float* s, int64_t n, float init, VectorPath path = best_path());
double row_max(const double* s, int64_t n, double init);

// dp[j] = dp[j] * pd[j] - a[j] * delta: the softmax backward of one row (pd: the weights after
// dropout, a: before).
void softmax_backward_row(float* dp, const float* pd, const float* a, int64_t n, float delta,
                          VectorPath path = best_path());
void softmax_backward_row(double* dp, const double* pd, const double* a, int64_t n, double delta);

}  // namespace lra::cpu
