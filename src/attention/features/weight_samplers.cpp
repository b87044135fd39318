#include "attention/features/weight_samplers.h"

#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

#include "attention/features/random_features.h"

namespace lra {
namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);
const auto kI64 = torch::TensorOptions().dtype(torch::kInt64);

int64_t next_power_of_two(int64_t n) {
  int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

int64_t blocks_for(int64_t rows, int64_t n) {
  return (rows + n - 1) / n;
}

// (blocks, n, n) -> (rows, dim): the first rows of the stacked blocks, first dim columns (the
// structured transforms act on inputs zero-padded to n coordinates).
torch::Tensor stack_blocks(const torch::Tensor& blocks, int64_t rows, int64_t dim) {
  const int64_t n = blocks.size(-1);
  return blocks.reshape({-1, n}).narrow(0, 0, rows).narrow(1, 0, dim);
}

}  // namespace

torch::Tensor orthonormal_hadamard(int64_t n) {
  auto h = torch::ones({1, 1}, kF64);
  while (h.size(0) < n) h = torch::cat({torch::cat({h, h}, 1), torch::cat({h, -h}, 1)}, 0);
  return h / std::sqrt(static_cast<double>(n));  // (n, n)
}

std::pair<torch::Tensor, torch::Tensor> gauss_hermite_rule(int64_t points) {
  // Golub-Welsch: the nodes are the eigenvalues of the Jacobi matrix of the probabilists'
  // Hermite polynomials, the probabilities the squared first components of its eigenvectors.
  auto jacobi = torch::zeros({points, points}, kF64);  // (points, points)
  for (int64_t k = 1; k < points; ++k) {
    const double b = std::sqrt(static_cast<double>(k));
    jacobi[k - 1][k] = b;
    jacobi[k][k - 1] = b;
  }
  auto [nodes, vectors] = torch::linalg_eigh(jacobi);
  auto probs = vectors[0].pow(2);
  return {nodes, probs / probs.sum()};
}

torch::Tensor sorf_weights(int64_t rows, int64_t dim, at::Generator& gen) {
  const int64_t n = next_power_of_two(dim), blocks = blocks_for(rows, n);
  auto h = orthonormal_hadamard(n).unsqueeze(0);    // (1, n, n)
  auto signs = rademacher({3, blocks, 1, n}, gen);  // D1, D2, D3 per block, as column scales
  auto product = torch::matmul(torch::matmul(h * signs[0], h * signs[1]), h * signs[2]);
  return stack_blocks(product * std::sqrt(static_cast<double>(n)), rows, dim);  // rows ~ sqrt(n)
}

torch::Tensor sobol_gaussian_weights(int64_t rows, int64_t dim, at::Generator& gen) {
  // Scrambled Sobol points as torch.quasirandom.SobolEngine(scramble=True) makes them: a random
  // linear matrix scramble and a random digital shift, so each point is uniform on the 2^-30
  // grid (hence unbiased after the inverse CDF) while the set stays low-discrepancy.
  constexpr int64_t kMaxBit = 30;
  auto state = torch::zeros({dim, kMaxBit}, kI64);
  at::_sobol_engine_initialize_state_(state, dim);
  auto shift_bits = torch::randint(0, 2, {dim, kMaxBit}, gen, kI64);
  auto shift = (shift_bits * torch::pow(2, torch::arange(kMaxBit, kI64))).sum(1);  // (dim)
  auto ltm = torch::randint(0, 2, {dim, kMaxBit, kMaxBit}, gen, kI64).tril();
  at::_sobol_engine_scramble_(state, ltm, dim);
  const double cell = std::ldexp(1.0, -static_cast<int>(kMaxBit));
  auto points = shift.to(torch::kFloat64).unsqueeze(0) * cell;  // (1, dim): the first point
  if (rows > 1) {
    auto drawn = at::_sobol_engine_draw(shift.clone(), rows - 1, state, dim, 0, torch::kFloat64);
    points = torch::cat({points, std::get<0>(drawn)}, 0);  // (rows, dim)
  }
  // The middle of each grid cell: never exactly 0 or 1, where the inverse CDF is infinite.
  return torch::special_ndtri(points + 0.5 * cell);
}

torch::Tensor moment_matched_weights(int64_t rows, int64_t dim, at::Generator& gen) {
  auto g = torch::randn({rows, dim}, gen, kF64);
  if (rows < 2) return g;               // one row has no sample moments to match
  auto centered = g - g.mean(0, true);  // (rows, dim), column means exactly 0
  if (rows > dim) {
    // Whitened by the Cholesky factor of the sample covariance: W^T W / rows = I exactly.
    auto cov = torch::matmul(centered.t(), centered) / static_cast<double>(rows);  // (dim, dim)
    auto lower = torch::linalg_cholesky(cov);
    return torch::linalg_solve_triangular(lower, centered.t(), /*upper=*/false).t();
  }
  // Fewer rows than dimensions: the sample covariance is singular; match each column's mean
  // and variance instead.
  return centered / centered.pow(2).mean(0, true).sqrt().clamp_min(1e-12);
}

torch::Tensor gauss_hermite_weights(int64_t rows, int64_t dim, at::Generator& gen) {
  constexpr int64_t kPoints = 8;  // matches the moments of N(0, 1) up to degree 15
  auto [nodes, probs] = gauss_hermite_rule(kPoints);
  auto index = torch::multinomial(probs, rows * dim, /*replacement=*/true, gen);
  return nodes.index_select(0, index).view({rows, dim});
}

FastfoodFactors draw_fastfood_factors(int64_t rows, int64_t dim, at::Generator& gen) {
  const int64_t n = next_power_of_two(dim), blocks = blocks_for(rows, n);
  FastfoodFactors f;
  f.signs = rademacher({blocks, n}, gen);
  std::vector<torch::Tensor> perms;
  for (int64_t b = 0; b < blocks; ++b) perms.push_back(torch::randperm(n, gen, kI64));
  f.permutation = torch::stack(perms);                             // (blocks, n)
  f.gaussian = torch::randn({blocks, n}, gen, kF64);               // (blocks, n)
  auto chi = torch::randn({blocks, n, n}, gen, kF64).norm(2, -1);  // (blocks, n) chi(n) lengths
  f.scale = chi * std::sqrt(static_cast<double>(n)) / f.gaussian.norm(2, -1, true);
  return f;
}

torch::Tensor fastfood_weights(const FastfoodFactors& f, int64_t rows, int64_t dim) {
  const int64_t blocks = f.gaussian.size(0), n = f.gaussian.size(1);
  auto h = orthonormal_hadamard(n).to(f.gaussian.options()).unsqueeze(0);  // (1, n, n)
  auto hb = h * f.signs.unsqueeze(1);                                      // H diag(B)
  // (Module::to(dtype) converts integer buffers too: the permutation may arrive as floats.)
  auto index =
      f.permutation.to(f.gaussian.device(), torch::kInt64).unsqueeze(2).expand({blocks, n, n});
  auto permuted = hb.gather(1, index);                                  // P H diag(B)
  auto product = torch::matmul(h * f.gaussian.unsqueeze(1), permuted);  // H diag(G) P H diag(B)
  return stack_blocks(product * f.scale.unsqueeze(2), rows, dim);       // (rows, dim)
}

torch::Tensor sample_weights(const std::string& sampler, int64_t rows, int64_t dim, bool chi_norms,
                             at::Generator& gen) {
  if (sampler == "gaussian") return gaussian_projection(rows, dim, false, chi_norms, gen);
  if (sampler == "orthogonal") return gaussian_projection(rows, dim, true, chi_norms, gen);
  if (sampler == "sorf") return sorf_weights(rows, dim, gen);
  if (sampler == "qmc") return sobol_gaussian_weights(rows, dim, gen);
  if (sampler == "moment_matching") return moment_matched_weights(rows, dim, gen);
  if (sampler == "quadrature") return gauss_hermite_weights(rows, dim, gen);
  if (sampler == "fastfood" || sampler == "fastfood_learned")
    return fastfood_weights(draw_fastfood_factors(rows, dim, gen), rows, dim);
  throw std::invalid_argument("attention.weight_sampler: unknown sampler '" + sampler + "'");
}

}  // namespace lra
