// The data-optimal parameters of the softmax-kernel random features exp(x.y), x = q d^-1/4,
// y = k d^-1/4, computed from the real tokens of one attention call (FAVOR++/OPRF, SADERF,
// FAVOR#; Likhosherstov et al. 2022, 2023). Every estimator stays unbiased for any valid
// parameters; these only minimise its variance, so they are computed without gradient.
#pragma once
#include <torch/types.h>

namespace lra {

// The minimiser over a < 1/8 of the log second moment of GERF/DERF features along a direction
// with statistic l >= 0: a = (1 - 2l - sqrt((2l + 1)^2 + 8l)) / 16 (<= 0; 0 at l = 0).
torch::Tensor gerf_optimal_a(const torch::Tensor& l);
double gerf_optimal_a(double l);

// Mean over (query, key) pairs of (x_i + y_j)(x_i + y_j)^T over real tokens:
// M1 + M2 + mu_x mu_y^T + mu_y mu_x^T. x, y: (B, H, L, d); mask: (B, L), 1 = real token, 0 =
// padding (0/1 only) -> (B, H, d, d). cpu_row_loops: on the CPU (float32/float64), one pass over
// the real rows per (batch, head); false: the tensor-op form, the reference the tests compare with.
torch::Tensor pair_second_moment(const torch::Tensor& x, const torch::Tensor& y,
                                 const torch::Tensor& mask, bool cpu_row_loops = true);

// OPRF (FAVOR++): the scalar a per (batch, head), gerf_optimal_a(trace(M) / d) with
// trace(M) = mean|x|^2 + mean|y|^2 + 2 mu_x . mu_y. x, y: (B, H, L, d) -> (B, H) float64.
torch::Tensor oprf_optimal_a(const torch::Tensor& x, const torch::Tensor& y,
                             const torch::Tensor& mask);

// SADERF's diagonal rescaling Psi, psi_l = (sum_j y_jl^2 / sum_i x_il^2)^(1/4) over real tokens:
// x Psi and y Psi^-1 have equal per-coordinate second moments and the same dot products.
// x, y: (B, H, L, d) -> (B, H, 1, d) float64; 1 where a coordinate is zero on either side.
torch::Tensor saderf_scaling(const torch::Tensor& x, const torch::Tensor& y,
                             const torch::Tensor& mask);

}  // namespace lra
