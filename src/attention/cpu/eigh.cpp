#include "attention/cpu/eigh.h"

#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "attention/cpu/gemm.h"

// LibTorch's CPU library exports LAPACK's entry points (MKL in the x86-64 wheels); weak, so that
// a build without them links and falls back to linalg_eigh.
extern "C" {
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info)
    __attribute__((weak));
}

namespace lra::cpu {

void symmetric_eigh(double* a, int64_t n, double* values) {
  if (n == 0) return;
  if (dsyevd_ == nullptr) {
    auto m = torch::from_blob(a, {n, n}, torch::kFloat64);
    auto [l, u] = torch::linalg_eigh(m);
    torch::from_blob(values, {n}, torch::kFloat64).copy_(l);
    m.copy_(u.t());
    return;
  }
  // Column-major LAPACK on a symmetric matrix: the input reads the same either way, and the
  // eigenvectors it writes as columns are rows of the row-major array.
  const int N = static_cast<int>(n);
  const int lwork = 1 + 6 * N + 2 * N * N, liwork = 3 + 5 * N;
  std::vector<double> work(static_cast<size_t>(lwork));
  std::vector<int> iwork(static_cast<size_t>(liwork));
  int info = 0;
  const OneBlasThread one_thread;
  dsyevd_("V", "U", &N, a, &N, values, work.data(), &lwork, iwork.data(), &liwork, &info);
  if (info != 0)
    throw std::runtime_error("symmetric_eigh: LAPACK dsyevd failed (info " + std::to_string(info) +
                             ")");
}

}  // namespace lra::cpu
