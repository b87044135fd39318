// The random-feature matrix of `favor`: every component function x weight sampler, in float64.
// Samplers: shapes and the moments each one claims; components: unbiasedness (seeded, with a
// tolerance from the sample variance), the closed forms of OPRF, SADERF and FAVOR# (the
// expressions of Google's kernel_transformation.py, written out independently here), error
// shrinking with m, and the fast path against the plain reference for values and gradients.
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/features/feature_parameters.h"
#include "attention/features/random_features.h"
#include "attention/features/weight_samplers.h"
#include "attention/linear_attention.h"
#include "attention_test_util.h"

namespace lra {
namespace {

using test::random_inputs;

AttentionConfig favor_config(const std::string& component, const std::string& sampler, int64_t m) {
  auto c = test::attention_config("favor", m);
  c.component = component;
  c.weight_sampler = sampler;
  return c;
}

at::Generator generator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

// ---- weight samplers ---------------------------------------------------------------------

TEST(WeightSamplers, ShapesAndFiniteForEveryDimension) {
  for (const auto& sampler : weight_sampler_names())
    for (int64_t dim : {1, 6, 8})
      for (int64_t rows : {1, 5, 40}) {
        auto gen = generator(3);
        auto w = sample_weights(sampler, rows, dim, true, gen);
        ASSERT_EQ(w.sizes(), (std::vector<int64_t>{rows, dim})) << sampler;
        EXPECT_TRUE(torch::isfinite(w).all().item<bool>()) << sampler << " " << rows << "x" << dim;
      }
}

TEST(WeightSamplers, GaussHermiteRuleIntegratesGaussianMoments) {
  auto [nodes, probs] = gauss_hermite_rule(8);
  double double_factorial = 1.0;  // E[x^2k] = (2k - 1)!!
  for (int k = 0; k < 8; ++k) {
    if (k > 0) double_factorial *= 2 * k - 1;
    const double even = (probs * nodes.pow(2 * k)).sum().item<double>();
    const double odd = (probs * nodes.pow(2 * k + 1)).sum().item<double>();
    EXPECT_NEAR(even / double_factorial, 1.0, 1e-10) << "E[x^" << 2 * k << "]";
    EXPECT_NEAR(odd, 0.0, 1e-9 * double_factorial) << "E[x^" << 2 * k + 1 << "]";
  }
}

TEST(WeightSamplers, MomentMatchingHasExactSampleMoments) {
  auto gen = generator(5);
  auto w = moment_matched_weights(40, 8, gen);  // (40, 8)
  EXPECT_LT(w.mean(0).abs().max().item<double>(), 1e-12);
  auto cov = torch::matmul((w - w.mean(0, true)).t(), w - w.mean(0, true)) / 40.0;
  EXPECT_LT((cov - torch::eye(8, torch::kFloat64)).abs().max().item<double>(), 1e-10);
}

// Structured blocks: SORF's rows of one block are orthogonal, of length sqrt(n); FastFood's have
// the lengths of Gaussian rows (chi(n): mean |w|^2 = n).
TEST(WeightSamplers, StructuredBlocksAreOrthogonalWithGaussianLengths) {
  auto gen = generator(7);
  auto sorf = sorf_weights(8, 8, gen);  // one block
  auto gram = torch::matmul(sorf, sorf.t());
  EXPECT_LT((gram - 8.0 * torch::eye(8, torch::kFloat64)).abs().max().item<double>(), 1e-10);
  double mean_sq = 0.0;
  for (int r = 0; r < 400; ++r)
    mean_sq += sample_weights("fastfood", 8, 8, true, gen).pow(2).sum(1).mean().item<double>();
  EXPECT_NEAR(mean_sq / 400 / 8.0, 1.0, 0.03);  // stderr of the ratio ~ 0.006
}

// Learned FastFood's matrix is a differentiable function of its diagonals.
TEST(WeightSamplers, FastfoodWeightsCarryGradients) {
  auto gen = generator(9);
  auto f = draw_fastfood_factors(12, 6, gen);
  for (auto* t : {&f.scale, &f.gaussian, &f.signs}) t->requires_grad_(true);
  fastfood_weights(f, 12, 6).pow(2).sum().backward();
  for (auto* t : {&f.scale, &f.gaussian, &f.signs}) {
    ASSERT_TRUE(t->grad().defined());
    EXPECT_GT(t->grad().abs().sum().item<double>(), 0.0);
  }
}

// ---- components: unbiasedness, closed forms, variance --------------------------------------

// With i.i.d. Gaussian rows every component is an unbiased estimate of exp(x.y): the mean over
// 3000 seeded draws is within 5 standard errors of the exact kernel at every (i, j).
TEST(FavorComponents, UnbiasedWithGaussianRows) {
  auto in = random_inputs(1, 1, 5, 8, 101, 0, 0.5);
  for (const auto& component : component_function_names()) {
    auto rf = test::as_random_feature(
        test::make_backend(favor_config(component, "gaussian", 8), 8, 17, 1));
    auto s = test::gram_over_draws(*rf, in, 3000);
    auto z = ((s.mean - s.exact).abs() / (s.stderr + 1e-12 * s.exact)).max().item<double>();
    EXPECT_LT(z, 5.0) << component;
    EXPECT_LT((s.stderr / s.exact).max().item<double>(), 0.05) << component;
  }
}

// Each sampler that claims unbiasedness (marginally N(0, I) rows: orthogonal with chi norms,
// scrambled Sobol) keeps the positive estimator unbiased.
TEST(FavorComponents, UnbiasedSamplers) {
  auto in = random_inputs(1, 1, 5, 8, 103, 0, 0.5);
  for (const std::string sampler : {"orthogonal", "qmc"}) {
    auto rf =
        test::as_random_feature(test::make_backend(favor_config("positive", sampler, 8), 8, 19, 1));
    auto s = test::gram_over_draws(*rf, in, 3000);
    auto z = ((s.mean - s.exact).abs() / (s.stderr + 1e-12 * s.exact)).max().item<double>();
    EXPECT_LT(z, 5.0) << sampler;
  }
}

// OPRF's parameter against the closed form of FAVOR++ as Google's expplus transformation writes
// it: rho = (sqrt((2 ave + d)^2 + 8 d ave) - 2 ave - d) / (4 ave), A = (1 - 1 / rho) / 8, with
// ave = mean|x|^2 + mean|y|^2 + 2 mean(x).mean(y) over real tokens.
TEST(FavorComponents, OprfParameterMatchesTheClosedForm) {
  auto in = random_inputs(2, 3, 11, 6, 107, /*pad=*/4, 1.3);
  auto a = oprf_optimal_a(in.q, in.k, in.mask);  // (2, 3)
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 3; ++h) {
      const int64_t n = in.mask[b].sum().item<int64_t>();
      auto x = in.q[b][h].narrow(0, 0, n), y = in.k[b][h].narrow(0, 0, n);  // real tokens
      const double d = 6.0;
      const double ave =
          (x.pow(2).sum(1).mean() + y.pow(2).sum(1).mean() + 2.0 * (x.mean(0) * y.mean(0)).sum())
              .item<double>();
      const double rho =
          (std::sqrt(std::pow(2 * ave + d, 2) + 8 * d * ave) - 2 * ave - d) / (4 * ave);
      EXPECT_NEAR(a[b][h].item<double>(), (1.0 - 1.0 / rho) / 8.0, 1e-12) << b << "," << h;
    }
}

// FAVOR#'s statistic against its definition, the mean over every pair of real tokens of
// (x_i + y_j)(x_i + y_j)^T, with padding and heads taken as a transposed view (as the model
// splits them).
TEST(FavorComponents, PairSecondMomentIsTheMeanOverRealPairs) {
  auto in = random_inputs(2, 3, 11, 6, 108, /*pad=*/4, 1.3);
  auto x = in.q.transpose(1, 2).contiguous().transpose(1, 2);  // (2, 3, 11, 6), non-contiguous
  auto moment = pair_second_moment(x, in.k, in.mask);          // (2, 3, 6, 6)
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 3; ++h) {
      const int64_t n = in.mask[b].sum().item<int64_t>();  // the real tokens come first
      auto xs = in.q[b][h].narrow(0, 0, n), ys = in.k[b][h].narrow(0, 0, n);
      auto sums = xs.unsqueeze(1) + ys.unsqueeze(0);  // (n, n, 6)
      auto exact = torch::einsum("ijp,ijq->pq", {sums, sums}) / static_cast<double>(n * n);
      EXPECT_LT((moment[b][h] - exact).abs().max().item<double>(), 1e-12) << b << "," << h;
    }
}

// The CPU pass over real rows against the tensor form: float64 to rounding, float32 to its
// precision, with padding in mid-sequence, a sequence with no real token, and heads as a
// transposed view.
TEST(FavorComponents, PairSecondMomentRowPassMatchesTensorForm) {
  auto in = random_inputs(3, 2, 300, 6, 110, /*pad=*/40, 1.3);
  in.mask.index_put_({1, torch::indexing::Slice(3, 270)}, 0.0);
  in.mask.index_put_({2}, 0.0);
  auto x = in.q.transpose(1, 2).contiguous().transpose(1, 2);  // (3, 2, 300, 6), non-contiguous
  auto fast = pair_second_moment(x, in.k, in.mask);
  auto ops = pair_second_moment(x, in.k, in.mask, /*cpu_row_loops=*/false);
  EXPECT_LT((fast - ops).abs().max().item<double>(), 1e-12 * ops.abs().max().item<double>());
  auto fast32 = pair_second_moment(x.to(torch::kFloat), in.k.to(torch::kFloat), in.mask);
  EXPECT_LT((fast32.to(torch::kFloat64) - ops).abs().max().item<double>(),
            1e-5 * ops.abs().max().item<double>());
  EXPECT_EQ(fast[2].abs().max().item<double>(), 0.0) << "no real token: no moment";
}

// SADERF's rescaling balances every coordinate's second moment and keeps every dot product.
TEST(FavorComponents, SaderfScalingBalancesMomentsAndKeepsTheKernel) {
  auto in = random_inputs(1, 2, 9, 5, 109, /*pad=*/2, 1.0);
  in.q = in.q * torch::tensor({0.2, 1.0, 3.0, 0.7, 1.5}, torch::kFloat64);  // unbalanced
  auto psi = saderf_scaling(in.q, in.k, in.mask);                           // (1, 2, 1, 5)
  auto real = [&](const torch::Tensor& t) { return t.narrow(2, 0, 7); };
  auto sx = real(in.q * psi).pow(2).sum(2), sy = real(in.k / psi).pow(2).sum(2);
  EXPECT_LT(((sx - sy).abs() / sy).max().item<double>(), 1e-12);
  auto before = torch::matmul(in.q, in.k.transpose(-2, -1));
  auto after = torch::matmul(in.q * psi, (in.k / psi).transpose(-2, -1));
  EXPECT_LT((before - after).abs().max().item<double>(), 1e-12);
}

// favor_sharp's features against FAVOR#'s symmetric closed form (Google's
// expsharp_softmax_kernel_transformation): P = mu1 mu2^T + mu2 mu1^T + M1 + M2 = Q diag(S) Q^T,
// A_l = (1 - 2 S_l - sqrt((2 S_l + 1)^2 + 8 S_l)) / 16, B = diag(sqrt(1 - 4A)) Q^T,
// phi(x) = exp(omega^T B x - |x|^2 / 2 + sum_l A_l omega_l^2) with omega in Q's coordinates
// (omega = Q^T w for our row w: the same Gaussian law). Equal up to one constant per (batch,
// head) (D and m^-1/2, which that code leaves out).
TEST(FavorSharpFeatures, MatchTheSymmetricClosedForm) {
  const int64_t d = 6, m = 10, L = 9;
  auto in = random_inputs(1, 1, L, d, 113, /*pad=*/0, 1.2);
  auto backend = test::make_backend(test::attention_config("favor_sharp", m), d, 23, 1);
  auto rf = test::as_random_feature(backend);
  auto phi = rf->features(in.q, in.k, in.mask, /*stabilized=*/false);
  const double s = std::pow(static_cast<double>(d), -0.25);
  auto x = in.q[0][0] * s, y = in.k[0][0] * s;  // (L, d)
  auto mu1 = x.mean(0).unsqueeze(1), mu2 = y.mean(0).unsqueeze(1);
  auto P = torch::matmul(mu1, mu2.t()) + torch::matmul(mu2, mu1.t()) + torch::matmul(x.t(), x) / L +
           torch::matmul(y.t(), y) / L;
  auto [S, Q] = torch::linalg_eigh(P);
  auto A = (1.0 - 2.0 * S - torch::sqrt((2.0 * S + 1.0).pow(2) + 8.0 * S)) / 16.0;
  auto B = torch::sqrt(1.0 - 4.0 * A).unsqueeze(1) * Q.t();  // (d, d)
  auto w = backend->named_buffers()["projection"];           // (m, d)
  auto omega = torch::matmul(w, Q);                          // (m, d): rows Q^T w
  auto closed = [&](const torch::Tensor& z) {                // (L, d) -> (L, m)
    return torch::exp(torch::matmul(torch::matmul(z, B.t()), omega.t()) -
                      0.5 * z.pow(2).sum(1, true) + (omega.pow(2) * A).sum(1).unsqueeze(0));
  };
  for (const auto& [ours, theirs] :
       {std::pair{phi.query[0][0], closed(x)}, std::pair{phi.key[0][0], closed(y)}}) {
    auto ratio = ours / theirs;
    EXPECT_LT(((ratio - ratio.mean()).abs() / ratio.mean()).max().item<double>(), 1e-10);
  }
}

// The data-optimal components cut the variance of the positive estimator where the inputs are
// away from the origin (what FAVOR++ and SADERF claim); iid rows for all three. (Farther out the
// positive estimator's log-normal tails make a sample variance meaningless.)
TEST(FavorComponents, OptimalParametersReduceVariance) {
  auto in = random_inputs(1, 1, 5, 8, 127, 0, 1.0);
  in.q = in.q * torch::tensor({0.3, 0.5, 1.0, 1.0, 1.2, 1.5, 2.0, 0.8}, torch::kFloat64);
  std::vector<double> mse;
  for (const std::string component : {"positive", "oprf", "saderf"}) {
    auto rf = test::as_random_feature(
        test::make_backend(favor_config(component, "gaussian", 8), 8, 29, 1));
    auto s = test::gram_over_draws(*rf, in, 1000);
    mse.push_back((s.stderr.pow(2) * 1000 / s.exact.pow(2)).mean().item<double>());
  }
  std::cout << "[ measured ] relative variance positive " << mse[0] << " oprf " << mse[1]
            << " saderf " << mse[2] << "\n";
  EXPECT_LT(mse[1], 0.5 * mse[0]);
  EXPECT_LT(mse[2], 0.5 * mse[0]);
}

// Every component x sampler: the Gram error against the exact kernel shrinks as m grows
// (16 -> 256, mean over 8 seeded draws; the error of a Monte Carlo estimate falls ~ 1/sqrt(m)).
TEST(FavorMatrix, ErrorShrinksWithFeatures) {
  auto in = random_inputs(1, 1, 12, 8, 131, 0, 0.6);
  for (const auto& component : component_function_names())
    for (const auto& sampler : weight_sampler_names()) {
      std::vector<double> error;
      for (int64_t m : {16, 256}) {
        auto rf = test::as_random_feature(
            test::make_backend(favor_config(component, sampler, m), 8, 37, 1));
        torch::NoGradGuard no_grad;
        auto exact = rf->exact_kernel(in.q, in.k);
        double sum = 0.0;
        for (int64_t r = 0; r < 8; ++r) {
          rf->redraw(r);
          auto phi = rf->features(in.q, in.k, in.mask, false);
          sum += test::relative_error(torch::matmul(phi.query, phi.key.transpose(-2, -1)), exact);
        }
        error.push_back(sum / 8);
      }
      // SORF's rows all have length sqrt(n): at d = 8 that leaves a bias that more features do
      // not remove (it vanishes only as d grows), so its error falls more slowly.
      const double factor = sampler == "sorf" ? 0.8 : 0.6;
      EXPECT_LT(error[1], factor * error[0])
          << component << "/" << sampler << ": " << error[0] << " -> " << error[1];
    }
}

// ---- the fast path -------------------------------------------------------------------------

struct Outputs {
  torch::Tensor out;
  std::vector<torch::Tensor> grads;  // q, k, v
};

template <typename Fn>
Outputs run_with_grads(Fn fn, const test::Inputs& in, const torch::Tensor& weight) {
  auto q = in.q.clone().requires_grad_(true), k = in.k.clone().requires_grad_(true),
       v = in.v.clone().requires_grad_(true);
  auto out = fn(q, k, v);
  (out * weight).sum().backward();
  return {out.detach(), {q.grad(), k.grad(), v.grad()}};
}

// Every component x sampler: forward's chunked map equals the plain features() + linear
// attention in values and gradients, with padding, a batch element with no real key, and
// several slice sizes; outputs of real rows do not see padded keys.
TEST(FavorMatrix, FastPathMatchesReferenceAndIgnoresPadding) {
  auto in = random_inputs(3, 2, 19, 6, 137, /*pad=*/5, 0.8);
  in.mask.index_put_({2}, 0.0);
  auto weight = torch::randn({3, 2, 19, 6}, generator(139), torch::kFloat64) *
                in.mask.unsqueeze(1).unsqueeze(-1);
  for (const auto& component : component_function_names())
    for (const auto& sampler : weight_sampler_names())
      for (int64_t rows : {0, 4}) {
        const std::string what = component + "/" + sampler + " rows=" + std::to_string(rows);
        auto rf = test::as_random_feature(test::make_backend(
            favor_config(component, sampler, 24), 6, 41, 2, ExecutionOptions{rows, true}));
        rf->freeze_data_dependent_parameters(true);
        auto fast = run_with_grads(
            [&](auto& q, auto& k, auto& v) { return rf->forward(q, k, v, in.mask); }, in, weight);
        auto reference = run_with_grads(
            [&](auto& q, auto& k, auto& v) {
              auto phi = rf->features(q, k, in.mask, /*stabilized=*/true);
              return linear_attention(phi.query, phi.key, v, in.mask, 1e-6);
            },
            in, weight);
        auto real = in.mask.unsqueeze(1).unsqueeze(-1) > 0;  // (B, 1, L, 1)
        // Relative to the size of the values: trigonometric denominators can sit near 0 (the
        // eps clamp), where outputs are large.
        auto differ = [](const torch::Tensor& a, const torch::Tensor& b) {
          return ((a - b).abs() / (1.0 + b.abs())).max().item<double>();
        };
        auto zero_pads = [&](const torch::Tensor& t) {
          return torch::where(real, t, torch::zeros_like(t));
        };
        EXPECT_LT(differ(zero_pads(fast.out), zero_pads(reference.out)), 1e-9) << what;
        for (size_t i = 0; i < 3; ++i)
          EXPECT_LT(differ(fast.grads[i], reference.grads[i]), 1e-8) << what << " grad " << i;
        // Padded keys: changing them changes nothing for real rows.
        auto k2 = torch::where(in.mask.unsqueeze(1).unsqueeze(-1) > 0, in.k, in.k * 50.0);
        auto v2 = torch::where(in.mask.unsqueeze(1).unsqueeze(-1) > 0, in.v, in.v * 1e3);
        auto moved = rf->forward(in.q, k2, v2, in.mask);
        EXPECT_LT((torch::where(real, moved - fast.out, torch::zeros_like(moved)))
                      .abs()
                      .max()
                      .item<double>(),
                  1e-9)
            << what << " padding";
      }
}

TEST(FavorMatrix, LearnedFastfoodTrainsItsFactorsAndIsNotRedrawn) {
  auto backend = test::make_backend(favor_config("positive", "fastfood_learned", 16), 6, 43, 2);
  auto in = random_inputs(2, 2, 7, 6, 149, 2, 0.8);
  backend->forward(in.q, in.k, in.v, in.mask).pow(2).sum().backward();
  int trained = 0;
  for (const auto& p : backend->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
    ++trained;
  }
  EXPECT_EQ(trained, 3);  // S, G, B
  auto redrawn = favor_config("positive", "fastfood_learned", 16);
  redrawn.redraw_interval = 10;
  EXPECT_THROW(test::make_backend(redrawn, 6), std::invalid_argument);
  auto sharp = test::attention_config("favor_sharp", 16);
  sharp.weight_sampler = "fastfood_learned";
  EXPECT_THROW(test::make_backend(sharp, 6), std::invalid_argument);
}

}  // namespace
}  // namespace lra
