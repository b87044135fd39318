// Statistical properties of the random feature maps, in float64: unbiasedness (a seeded test with
// a tolerance from the sample variance), 1/sqrt(m) concentration, attention outputs converging
// to the exact backends, and FAVOR#'s variance reduction over FAVOR+.
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/features/dot_kernels.h"
#include "attention_test_util.h"

namespace lra {
namespace {

using test::attention_config;
using test::make_backend;
using test::random_inputs;

void expect_unbiased(const std::string& type, const std::string& kernel, int64_t m, int64_t draws,
                     double scale) {
  auto rf = test::as_random_feature(make_backend(attention_config(type, m, kernel), 8, 17, 1));
  auto in = random_inputs(1, 1, 5, 8, 101, 0, scale);
  auto s = test::gram_over_draws(*rf, in, draws);
  // 5 standard errors per entry (25 entries): a false alarm has probability ~1e-5, and the
  // draws are seeded, so the outcome is fixed.
  auto z = ((s.mean - s.exact).abs() / (s.stderr + 1e-12 * s.exact)).max().item<double>();
  EXPECT_LT(z, 5.0) << type << "/" << kernel;
  // The standard error is small enough for the test to mean something.
  EXPECT_LT((s.stderr / s.exact).max().item<double>(), 0.05) << type << "/" << kernel;
}

// Positive features of exp(x.y) have log-normal tails (relative variance ~ e^|x+y|^2): inputs
// of scale 0.5 keep the sample variance a trustworthy yardstick for the mean.
TEST(FavorFeatures, Unbiased) {
  expect_unbiased("favor", "exp", 8, 2000, 0.5);
}

TEST(FavorSharpFeatures, Unbiased) {
  expect_unbiased("favor_sharp", "exp", 8, 2000, 0.5);
}

TEST(SchoenbatFeatures, UnbiasedForEveryKernel) {
  for (const auto& kernel : dot_kernel_names()) expect_unbiased("schoenbat", kernel, 9, 2000, 1.0);
}

// Least-squares slope of log(error) against log(m).
double log_log_slope(const std::vector<double>& m, const std::vector<double>& err) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < m.size(); ++i)
    mx += std::log(m[i]) / m.size(), my += std::log(err[i]) / m.size();
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    sxy += (std::log(m[i]) - mx) * (std::log(err[i]) - my);
    sxx += (std::log(m[i]) - mx) * (std::log(m[i]) - mx);
  }
  return sxy / sxx;
}

void expect_root_m_concentration(const std::string& type, const std::string& kernel) {
  auto in = random_inputs(1, 1, 24, 8, 202, 0, 0.35);
  std::vector<double> ms, errs;
  for (int64_t random = 16; random <= 512; random *= 2) {
    // schoenbat spends one feature on the constant; count only the random ones.
    const int64_t m = type == "schoenbat" ? random + 1 : random;
    auto rf = test::as_random_feature(make_backend(attention_config(type, m, kernel), 8, 5, 1));
    double err = 0;
    const int seeds = 12;
    for (int r = 0; r < seeds; ++r) {
      rf->redraw(r);
      auto phi = rf->features(in.q, in.k, in.mask, false);
      err += test::relative_error(torch::matmul(phi.query, phi.key.transpose(-2, -1)),
                                  rf->exact_kernel(in.q, in.k)) /
             seeds;
    }
    ms.push_back(static_cast<double>(random));
    errs.push_back(err);
  }
  const double slope = log_log_slope(ms, errs);
  std::cout << "[ measured ] " << type << "/" << kernel << " log-log slope " << slope << "\n";
  EXPECT_NEAR(slope, -0.5, 0.12) << type << "/" << kernel;
}

TEST(FavorFeatures, ErrorShrinksLikeOneOverRootM) {
  expect_root_m_concentration("favor", "exp");
}

TEST(FavorSharpFeatures, ErrorShrinksLikeOneOverRootM) {
  expect_root_m_concentration("favor_sharp", "exp");
}

TEST(SchoenbatFeatures, ErrorShrinksLikeOneOverRootM) {
  for (const std::string kernel : {"exp", "inverse", "sqrt"})
    expect_root_m_concentration("schoenbat", kernel);
}

// Relative error of the attention output against the backend's exact reference, mean of seeds.
double output_error(const std::string& type, const std::string& kernel, int64_t m) {
  auto in = random_inputs(2, 2, 32, 8, 303, 5, 0.5);
  double err = 0;
  const int seeds = 4;
  for (int r = 0; r < seeds; ++r) {
    const auto config = attention_config(type, m, kernel);
    auto backend = make_backend(config, 8, 100 + r);
    // Padded query rows are unspecified; compare batch element 1 (no padding).
    auto out = backend->forward(in.q, in.k, in.v, in.mask).narrow(0, 1, 1);
    auto exact =
        attention_implementation(type).reference(in.q, in.k, in.v, in.mask, config).narrow(0, 1, 1);
    err += test::relative_error(out, exact) / seeds;
  }
  return err;
}

TEST(AttentionBackends, RandomFeatureOutputsConvergeToExact) {
  std::vector<std::pair<std::string, std::string>> cases;  // (backend, kernel)
  for (const auto& type : test::random_feature_backends())
    for (const std::string kernel : {"exp", "inverse"})
      if (attention_backend(type).accepts_kernel(kernel)) cases.push_back({type, kernel});
  for (const auto& [type, kernel] : cases) {
    const double small = output_error(type, kernel, 16);
    const double large = output_error(type, kernel, 1024);
    std::cout << "[ measured ] " << type << "/" << kernel << " output error m=16 " << small
              << " m=1024 " << large << "\n";
    // Ideal ratio sqrt(16 / 1024) = 0.125.
    EXPECT_LT(large, 0.35 * small) << type << "/" << kernel << " " << small << " -> " << large;
    EXPECT_LT(large, 0.1) << type << "/" << kernel;
  }
}

// FAVOR#'s optimised parameters cut the estimator's variance where the data are far from the
// origin (iid draws for both, to compare the feature families alone).
TEST(FavorSharpFeatures, LowerVarianceThanFavor) {
  auto in = random_inputs(1, 1, 5, 8, 404, 0, 2.0);
  std::vector<double> mse;
  for (const std::string type : {"favor", "favor_sharp"}) {
    auto config = attention_config(type, 8);
    config.weight_sampler = "gaussian";
    auto rf = test::as_random_feature(make_backend(config, 8, 9, 1));
    auto s = test::gram_over_draws(*rf, in, 400);
    mse.push_back((s.mse / s.exact.pow(2)).mean().item<double>());
  }
  std::cout << "[ measured ] relative MSE favor " << mse[0] << " favor_sharp " << mse[1] << "\n";
  EXPECT_LT(mse[1], 0.5 * mse[0]) << "favor " << mse[0] << " favor_sharp " << mse[1];
}

}  // namespace
}  // namespace lra
