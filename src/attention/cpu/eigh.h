// The symmetric eigendecomposition of one small float64 matrix on raw memory, on the calling
// thread: for per-(batch, head) loops inside parallel regions, where a tensor op per matrix
// (linalg_eigh: checks, allocations, dispatch) costs more than the decomposition.
#pragma once
#include <cstdint>

namespace lra::cpu {

// a: (n, n) row-major symmetric, overwritten by the eigenvectors as rows (row j = eigenvector
// j, i.e. a holds U^T); values: (n) ascending. Throws if LAPACK does not converge.
void symmetric_eigh(double* a, int64_t n, double* values);

}  // namespace lra::cpu
