// The exact variance of each random-feature estimator of the softmax kernel K = exp(x.y), per
// (query, key) pair, for m i.i.d. N(0, I_d) rows, with the data-optimal parameters the backend
// computes for these queries and keys (attention/features/feature_parameters.h). All but the
// trigonometric map are dense-exponential features f(w, x) = D exp(w'Aw + w'Bx - |x|^2 / 2)
// with E[f(w, x) f(w, y)] = K, whose second moment per row is
//   K^2 exp(sum_l [ln(1 - 4a_l) - ln(1 - 8a_l) / 2] + 2 z'B'(I - 8A)^-1 B z - |z|^2), z = x + y
// (positive: A = 0, B = I; oprf: A = aI; saderf: oprf on x Psi, y / Psi; favor_sharp: A, B
// from the eigenvectors of the pair second moment). Trigonometric: Var / K^2 = cosh|x - y|^2 - 1.
#pragma once
#include <cstdint>
#include <string>

#include <torch/types.h>

namespace lra::bench {

// ln(Var[K^] / K^2) per pair for estimator `name` (kernel_variance_estimators()) with m rows
// (trigonometric: m frequencies, 2m features). q, k: (1, H, L, d) float64, the backend's inputs
// (x = q d^-1/4) -> (1, H, L, L) float64; +inf where the variance overflows a double.
torch::Tensor log_relative_variance(const std::string& name, const torch::Tensor& q,
                                    const torch::Tensor& k, int64_t m);

}  // namespace lra::bench
