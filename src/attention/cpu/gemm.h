// Row-major matrix products on raw pointers for the CPU kernels that work on blocks small enough
// to stay in cache, where creating a tensor per product would cost as much as the product.
// C (m x n) = alpha op(A) op(B) + beta C, op = transpose when the flag is set; lda, ldb, ldc are
// row strides. Called from inside parallel regions: each call runs on the calling thread
// (OneBlasThread).
#pragma once
#include <cstdint>

namespace lra::cpu {

// While alive, MKL runs this thread's products on this thread alone. at::set_num_threads turns
// MKL's dynamic threading off, so a product called from a thread of a parallel region otherwise
// sets up a nested team for the global thread count, ~6 us per call (a 128 x 255 x 32 product
// took 22 us instead of 16 on each of two threads). Restores the thread's previous setting.
class OneBlasThread {
 public:
  OneBlasThread();
  ~OneBlasThread();
  OneBlasThread(const OneBlasThread&) = delete;
  OneBlasThread& operator=(const OneBlasThread&) = delete;

 private:
  int saved_;
};

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
          int64_t ldc);

}  // namespace lra::cpu
