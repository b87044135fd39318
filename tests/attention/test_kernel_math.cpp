// The building blocks: kernels and their Maclaurin series, pre-SBN, the random draws.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/features/dot_kernels.h"
#include "attention/features/random_features.h"
#include "attention/scaling_normalization.h"
#include "attention_test_util.h"

namespace lra {
namespace {

TEST(KernelMath, MaclaurinSeriesMatchesClosedForm) {
  auto t = torch::linspace(-0.4, 0.4, 41, torch::kFloat64);
  for (const auto& name : dot_kernel_names()) {
    const auto kernel = parse_dot_kernel(name);
    const auto a = maclaurin_coefficients(kernel, 20);
    for (double an : a) EXPECT_GE(an, 0.0) << name;  // Schoenberg: positive definite on spheres
    EXPECT_DOUBLE_EQ(a[0], 1.0) << name;
    auto err = (maclaurin_series(kernel, t, 20) - dot_kernel_value(kernel, t)).abs().max();
    EXPECT_LT(err.item<double>(), 1e-8) << name;
  }
  // Spot values: sqrt's a_n are those of -sqrt(1 - t): 1/2, 1/8, 1/16, 5/128.
  const auto s = maclaurin_coefficients(DotKernel::kSqrt, 4);
  EXPECT_DOUBLE_EQ(s[1], 0.5);
  EXPECT_DOUBLE_EQ(s[2], 0.125);
  EXPECT_DOUBLE_EQ(s[3], 0.0625);
  EXPECT_DOUBLE_EQ(s[4], 5.0 / 128.0);
  EXPECT_THROW(parse_dot_kernel("gauss"), std::invalid_argument);
}

TEST(KernelMath, PreSbnPutsInputsOnTheSphere) {
  auto in = test::random_inputs(2, 2, 5, 7, 1, 0, 3.0);
  auto x = pre_sbn(in.q + 2.0);
  EXPECT_LT((x.norm(2, -1) - 1.0).abs().max().item<double>(), 1e-12);
  EXPECT_LT(x.mean(-1).abs().max().item<double>(), 1e-12);
  auto t = torch::matmul(schoenbat_normalize(in.q), schoenbat_normalize(in.k).transpose(-2, -1));
  EXPECT_LE(t.abs().max().item<double>(), 1.0 / std::sqrt(7.0) + 1e-12);
  // head_dim 1 standardises to zero: the result must be 0, not NaN.
  auto one = pre_sbn(torch::randn({3, 1}, torch::kFloat64));
  EXPECT_TRUE(torch::isfinite(one).all().item<bool>());
  EXPECT_EQ(one.abs().max().item<double>(), 0.0);
}

TEST(KernelMath, DegreeDistributionAndRademacher) {
  const auto pmf = maclaurin_degree_pmf(20);
  double total = 0.0;
  for (double p : pmf) total += p;
  EXPECT_NEAR(total, 1.0, 1e-15);
  EXPECT_NEAR(pmf[0] / pmf[1], 2.0, 1e-12);
  auto gen = feature_generator(3, 0);
  auto degrees = sample_maclaurin_degrees(20000, 20, gen);
  EXPECT_GE(degrees.min().item<int64_t>(), 1);
  EXPECT_LE(degrees.max().item<int64_t>(), 20);
  // E[N] = sum n 2^-n / (1 - 2^-20) ~ 2; standard error ~ 0.01.
  EXPECT_NEAR(degrees.to(torch::kFloat64).mean().item<double>(), 2.0, 0.05);
  auto r = rademacher({1000, 8}, gen);
  EXPECT_TRUE((r.abs() == 1.0).all().item<bool>());
  EXPECT_NEAR(r.mean().item<double>(), 0.0, 0.05);
}

TEST(KernelMath, OrthogonalGaussianBlocks) {
  auto gen = feature_generator(5, 0);
  const int64_t d = 6;
  auto w = gaussian_projection(15, d, /*orthogonal=*/true, /*chi_norms=*/false, gen);
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{15, d}));
  EXPECT_LT((w.norm(2, 1) - std::sqrt(6.0)).abs().max().item<double>(), 1e-12);
  for (int64_t start = 0; start < 15; start += d) {
    auto block = w.narrow(0, start, std::min<int64_t>(d, 15 - start));
    auto gram = torch::matmul(block, block.t()) / 6.0;
    auto eye = torch::eye(block.size(0), torch::kFloat64);
    EXPECT_LT((gram - eye).abs().max().item<double>(), 1e-12);
  }
  // Chi row norms: E|w|^2 = d.
  auto chi = gaussian_projection(6000, d, true, true, gen);
  EXPECT_NEAR(chi.pow(2).sum(1).mean().item<double>(), 6.0, 0.25);
  // Reproducible from (seed, draw index) alone.
  auto g1 = feature_generator(9, 4);
  auto g2 = feature_generator(9, 4);
  EXPECT_TRUE(torch::equal(gaussian_projection(8, 4, true, true, g1),
                           gaussian_projection(8, 4, true, true, g2)));
}

}  // namespace
}  // namespace lra
