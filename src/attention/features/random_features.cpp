#include "attention/features/random_features.h"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "util/rng.h"

namespace lra {

at::Generator feature_generator(uint64_t seed, int64_t draw_index) {
  return at::make_generator<at::CPUGeneratorImpl>(
      derive_seed(seed, 0xFEA7ULL + static_cast<uint64_t>(draw_index)));
}

namespace {

// One (dim, dim) block whose rows are orthonormal and Haar distributed.
torch::Tensor haar_orthogonal_block(int64_t dim, at::Generator& gen) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto g = torch::randn({dim, dim}, gen, opts);  // (dim, dim)
  auto [q, r] = torch::linalg_qr(g);             // q, r: (dim, dim)
  // LAPACK leaves the signs of diag(r) free; fixing them makes q exactly Haar.
  auto signs = torch::sign(torch::diagonal(r)).masked_fill(torch::diagonal(r) == 0, 1.0);
  return (q * signs.unsqueeze(0)).t().contiguous();  // rows = directions, (dim, dim)
}

}  // namespace

torch::Tensor gaussian_projection(int64_t rows, int64_t dim, bool orthogonal, bool chi_norms,
                                  at::Generator& gen) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  if (!orthogonal) return torch::randn({rows, dim}, gen, opts);  // (rows, dim)
  std::vector<torch::Tensor> blocks;
  for (int64_t done = 0; done < rows; done += dim) {
    auto block = haar_orthogonal_block(dim, gen);  // (dim, dim)
    blocks.push_back(block.narrow(0, 0, std::min(dim, rows - done)));
  }
  auto directions = torch::cat(blocks, 0);  // (rows, dim), unit rows
  torch::Tensor norms;                      // (rows, 1)
  if (chi_norms) {
    norms = torch::randn({rows, dim}, gen, opts).norm(2, 1, /*keepdim=*/true);
  } else {
    norms = torch::full({rows, 1}, std::sqrt(static_cast<double>(dim)), opts);
  }
  return directions * norms;
}

torch::Tensor rademacher(at::IntArrayRef shape, at::Generator& gen) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  return torch::randint(0, 2, shape, gen, opts) * 2.0 - 1.0;
}

std::vector<double> maclaurin_degree_pmf(int64_t max_degree) {
  std::vector<double> pmf;
  double total = 0.0;
  for (int64_t n = 1; n <= max_degree; ++n) {
    pmf.push_back(std::pow(2.0, -static_cast<double>(n + 1)));
    total += pmf.back();
  }
  for (auto& p : pmf) p /= total;
  return pmf;
}

torch::Tensor sample_maclaurin_degrees(int64_t count, int64_t max_degree, at::Generator& gen) {
  auto opts = torch::TensorOptions().dtype(torch::kInt64);
  if (count == 0) return torch::empty({0}, opts);
  const auto pmf = maclaurin_degree_pmf(max_degree);
  auto probs = torch::tensor(pmf, torch::kFloat64);                        // (max_degree)
  auto idx = torch::multinomial(probs, count, /*replacement=*/true, gen);  // (count), 0-based
  return std::get<0>(torch::sort(idx + 1));
}

}  // namespace lra
