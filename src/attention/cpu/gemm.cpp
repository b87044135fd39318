#include "attention/cpu/gemm.h"

#include <torch/torch.h>

// LibTorch's CPU library exports the Fortran BLAS entry points of the BLAS it is built with
// (MKL in the x86-64 wheels). Weak, so that a build whose LibTorch lacks them still links and
// falls back to at::mm on tensors wrapping the same memory.
extern "C" {
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc) __attribute__((weak));
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc) __attribute__((weak));
// MKL's per-thread thread count (mkl_service.h); returns the previous one, 0 = the global one.
int MKL_Set_Num_Threads_Local(int threads) __attribute__((weak));
}

namespace lra::cpu {
namespace {

template <typename T>
torch::Tensor wrap(const T* p, int64_t rows, int64_t cols, int64_t ld, bool trans) {
  auto t = torch::from_blob(const_cast<T*>(p), {rows, cols}, {ld, 1},
                            torch::TensorOptions().dtype(c10::CppTypeToScalarType<T>::value));
  return trans ? t.t() : t;
}

template <typename T>
void gemm_with_tensors(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                       const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
                       int64_t ldc) {
  auto A = trans_a ? wrap(a, k, m, lda, true) : wrap(a, m, k, lda, false);  // (m, k)
  auto B = trans_b ? wrap(b, n, k, ldb, true) : wrap(b, k, n, ldb, false);  // (k, n)
  auto C = wrap(c, m, n, ldc, false);                                       // (m, n)
  if (beta == T(0)) C.zero_();
  C.addmm_(A, B, beta == T(0) ? T(1) : beta, alpha);
}

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
template <typename T, typename Blas>
void gemm_row_major(Blas blas, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                    const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (blas == nullptr) {
    gemm_with_tensors(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const char ta = trans_b ? 'T' : 'N', tb = trans_a ? 'T' : 'N';
  const int M = static_cast<int>(n), N = static_cast<int>(m), K = static_cast<int>(k);
  const int LA = static_cast<int>(ldb), LB = static_cast<int>(lda), LC = static_cast<int>(ldc);
  const OneBlasThread one_thread;
  blas(&ta, &tb, &M, &N, &K, &alpha, b, &LA, a, &LB, &beta, c, &LC);
}

}  // namespace

OneBlasThread::OneBlasThread()
    : saved_(MKL_Set_Num_Threads_Local ? MKL_Set_Num_Threads_Local(1) : 0) {}

OneBlasThread::~OneBlasThread() {
  if (MKL_Set_Num_Threads_Local) MKL_Set_Num_Threads_Local(saved_);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm_row_major(sgemm_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
          int64_t ldc) {
  gemm_row_major(dgemm_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace lra::cpu
