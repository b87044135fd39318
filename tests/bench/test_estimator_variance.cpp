// The exact per-pair variances lra_bench kernel-variance reports, against the sample variance of
// the backends' own estimates (i.i.d. Gaussian rows, float64) and against the textbook forms.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "attention/random_feature_attention.h"
#include "attention/registry.h"
#include "bench/estimator_variance.h"
#include "bench/kernel_variance_bench.h"
#include "config/schema.h"

namespace {

// q, k: (1, 1, L, d) with x = q d^-1/4 ~ N(0, sigma^2); anisotropic so that FAVOR#'s rotation
// and SADERF's rescaling differ from OPRF.
std::pair<torch::Tensor, torch::Tensor> inputs(int64_t L, int64_t d, double sigma) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(31);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto spread = torch::linspace(0.3, 1.7, d, opts);
  const double s = sigma * std::pow(static_cast<double>(d), 0.25);
  return {torch::randn({1, 1, L, d}, gen, opts) * spread * s,
          torch::randn({1, 1, L, d}, gen, opts) * spread.flip(0) * s};
}

// Mean over draws of (K^ - K)^2 / K^2 per pair, from the registered backend's features.
torch::Tensor sampled_relative_mse(const std::string& backend, const std::string& component,
                                   const torch::Tensor& q, const torch::Tensor& k, int64_t m,
                                   int64_t draws) {
  lra::AttentionConfig settings;
  if (!component.empty()) settings.component = component;
  settings.weight_sampler = "gaussian";
  settings.features = m;
  lra::AttentionContext context{1, q.size(3), 0.0, 3};
  auto attention = lra::make_attention(lra::with_backend(settings, backend), context);
  attention->to(torch::kFloat64);
  auto rf = std::dynamic_pointer_cast<lra::RandomFeatureAttention>(attention);
  auto mask = torch::ones({1, q.size(2)}, q.options());
  torch::NoGradGuard no_grad;
  auto exact = rf->exact_kernel(q, k);
  auto sum = torch::zeros_like(exact);
  for (int64_t r = 0; r < draws; ++r) {
    rf->redraw(r);
    auto phi = rf->features(q, k, mask, false);
    sum += (torch::matmul(phi.query, phi.key.transpose(-2, -1)) - exact).pow(2);
  }
  return sum / static_cast<double>(draws) / exact.pow(2);
}

}  // namespace

TEST(EstimatorVariance, ExactVarianceMatchesTheBackendsSampleVariance) {
  const auto [q, k] = inputs(6, 8, 0.2);  // small: heavy tails would need far more draws
  const int64_t m = 4, draws = 4000;
  const std::pair<const char*, const char*> backends[] = {{"trigonometric", "favor"},
                                                          {"positive", "favor"},
                                                          {"oprf", "favor"},
                                                          {"saderf", "favor"},
                                                          {"favor_sharp", "favor_sharp"}};
  for (const auto& [name, backend] : backends) {
    const std::string component = std::string(backend) == "favor" ? name : "";
    auto exact = torch::exp(lra::bench::log_relative_variance(name, q, k, m));
    auto sampled = sampled_relative_mse(backend, component, q, k, m, draws);
    const double ratio = (sampled.mean() / exact.mean()).item<double>();
    std::cout << "[ " << name << ": mean Var/K^2 exact " << exact.mean().item<double>()
              << ", sampled over " << draws << " draws " << sampled.mean().item<double>() << " ]\n";
    EXPECT_NEAR(ratio, 1.0, 0.06) << name;
  }
}

TEST(EstimatorVariance, PositiveAndTrigonometricHaveTheirTextbookForms) {
  const auto [q, k] = inputs(5, 4, 0.5);
  const double s = std::pow(4.0, -0.25);
  auto x = (q * s).unsqueeze(-2), y = (k * s).unsqueeze(-3);
  auto positive = torch::expm1((x + y).pow(2).sum(-1)) / 7.0;  // (exp|x+y|^2 - 1) / m
  auto trig = (torch::cosh((x - y).pow(2).sum(-1)) - 1.0) / 7.0;
  EXPECT_TRUE(torch::allclose(torch::exp(lra::bench::log_relative_variance("positive", q, k, 7)),
                              positive, 1e-10, 0));
  EXPECT_TRUE(torch::allclose(
      torch::exp(lra::bench::log_relative_variance("trigonometric", q, k, 7)), trig, 1e-10, 0));
}

TEST(EstimatorVariance, DataOptimalEstimatorsNeverLoseToFavorPlusOnAverage) {
  for (double sigma : {0.1, 0.3, 0.6}) {
    const auto [q, k] = inputs(16, 16, sigma);
    const double positive =
        torch::logsumexp(lra::bench::log_relative_variance("positive", q, k, 8).flatten(), 0)
            .item<double>();
    for (const char* name : {"oprf", "saderf", "favor_sharp"})
      EXPECT_LT(torch::logsumexp(lra::bench::log_relative_variance(name, q, k, 8).flatten(), 0)
                    .item<double>(),
                positive)
          << name << " sigma " << sigma;
  }
  EXPECT_THROW(lra::bench::log_relative_variance("nope", torch::ones({1, 1, 2, 2}),
                                                 torch::ones({1, 1, 2, 2}), 1),
               std::invalid_argument);
}
