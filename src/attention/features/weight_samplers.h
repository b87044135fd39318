// The weight samplers of the random-feature matrix (attention.weight_sampler): ways to draw the
// (m, d) matrix W whose rows omega_i stand in for m draws from N(0, I_d) in a random-feature map.
// Every sampler returns float64 on the CPU from an explicit generator (random_features.h), so a
// (seed, draw index) pair gives the same W on every device.
//
//   gaussian         i.i.d. N(0, 1) entries                                     unbiased
//   orthogonal       blocks of d orthogonal directions, chi or sqrt(d) norms    unbiased (chi)
//   sorf             sqrt(n) H D1 H D2 H D3 blocks (Yu et al. 2016)             asymptotically
//   qmc              scrambled Sobol points through the inverse normal CDF      unbiased
//   moment_matching  Gaussian rows with sample mean 0 and sample covariance I   consistent
//   quadrature       entries from the 8-node Gauss-Hermite rule for N(0, 1)     near-unbiased
//   fastfood         S H G P H B blocks (Le et al. 2013)                        asymptotically
//
// (n: d rounded up to a power of two; the structured samplers transform n coordinates and keep
// the first d columns. fastfood_learned draws like fastfood and then trains S, G and B.)
#pragma once
#include <cstdint>
#include <string>

#include <ATen/core/Generator.h>
#include <torch/types.h>

namespace lra {

// `sampler` is one of weight_sampler_names() (backend_spec.h) other than fastfood_learned, for
// which this gives its initial draw. chi_norms applies to `orthogonal` (attention.row_norm).
torch::Tensor sample_weights(const std::string& sampler, int64_t rows, int64_t dim, bool chi_norms,
                             at::Generator& gen);

// The samplers one by one; each returns (rows, dim).
torch::Tensor sorf_weights(int64_t rows, int64_t dim, at::Generator& gen);
torch::Tensor sobol_gaussian_weights(int64_t rows, int64_t dim, at::Generator& gen);
torch::Tensor moment_matched_weights(int64_t rows, int64_t dim, at::Generator& gen);
torch::Tensor gauss_hermite_weights(int64_t rows, int64_t dim, at::Generator& gen);

// FastFood's diagonal factors, one row per block of n rows: W_b = diag(S) H diag(G) P H diag(B)
// with H the orthonormal n x n Hadamard matrix and P a permutation; S = chi(n) sqrt(n) / |G|, so
// each row's length is distributed as a Gaussian row's. (blocks, n) each; permutation int64.
struct FastfoodFactors {
  torch::Tensor scale, gaussian, signs, permutation;
};
FastfoodFactors draw_fastfood_factors(int64_t rows, int64_t dim, at::Generator& gen);
// (rows, dim) from the factors, with autograd through scale, gaussian and signs.
torch::Tensor fastfood_weights(const FastfoodFactors& factors, int64_t rows, int64_t dim);

// The n x n Hadamard matrix scaled to be orthonormal (n a power of two), float64.
torch::Tensor orthonormal_hadamard(int64_t n);
// Nodes and probabilities of the `points`-node Gauss-Hermite rule for N(0, 1): sum_k p_k f(x_k)
// integrates polynomials of degree < 2 points exactly. Two (points) float64 tensors.
std::pair<torch::Tensor, torch::Tensor> gauss_hermite_rule(int64_t points);

}  // namespace lra
