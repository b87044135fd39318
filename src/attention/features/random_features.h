// Random draws shared by the random-feature backends. Every draw is float64 on the CPU from an
// explicit generator, so a (seed, draw index) pair gives the same features on every device.
#pragma once
#include <cstdint>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/types.h>

namespace lra {

// A CPU generator for draw number `draw_index` of the layer seeded with `seed`; each redraw uses
// a fresh index, so redraws are reproducible after a checkpoint resume.
at::Generator feature_generator(uint64_t seed, int64_t draw_index);

// (rows, dim) Gaussian projection. orthogonal: stacked blocks of dim mutually orthogonal
// directions (Haar, from QR with the sign fix), each row rescaled by the norm of an independent
// N(0, I_dim) vector (chi_norms) or by sqrt(dim); otherwise i.i.d. N(0, 1) entries. Every row is
// marginally N(0, I_dim) with chi norms, which is what keeps the estimators unbiased.
torch::Tensor gaussian_projection(int64_t rows, int64_t dim, bool orthogonal, bool chi_norms,
                                  at::Generator& gen);

// Tensor of the given shape with independent +-1 entries.
torch::Tensor rademacher(at::IntArrayRef shape, at::Generator& gen);

// P(N = n) for n = 1..max_degree, proportional to 2^-(n+1) (the dp-rfs measure SchoenbAt uses).
std::vector<double> maclaurin_degree_pmf(int64_t max_degree);

// `count` independent degrees from maclaurin_degree_pmf, sorted ascending (int64, CPU).
torch::Tensor sample_maclaurin_degrees(int64_t count, int64_t max_degree, at::Generator& gen);

}  // namespace lra
