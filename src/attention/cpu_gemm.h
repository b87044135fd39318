// Row-major matrix products on raw pointers for the CPU kernels that work on blocks small enough
// to stay in cache, where creating a tensor per product would cost as much as the product.
// C (m x n) = alpha op(A) op(B) + beta C, op = transpose when the flag is set; lda, ldb, ldc are
// row strides. Called from inside parallel regions: each call runs on the calling thread.
#pragma once
#include <cstdint>

namespace lra::cpu {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
          int64_t ldc);

}  // namespace lra::cpu
