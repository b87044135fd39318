// SchoenbAt's pre- and post-SBN (scaling_normalization.h): the fused CPU row passes and the
// tensor-op forms against the plain references, in float64, values and every gradient; float32
// against float64; the degenerate rows (constant, spread below the std epsilon), |z| at and below
// post-SBN's floor, NaN.
#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/scaling_normalization.h"
#include "attention_test_util.h"

namespace lra {
namespace {

using test::max_abs;

torch::Tensor randn(at::IntArrayRef shape, uint64_t seed, double scale = 1.0) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(shape, gen, torch::kFloat64) * scale;
}

// Rows with a spread, constant rows (c = 0) and rows whose spread is far below the std epsilon
// (the floor branch of the norm: its gradient goes through sd).
torch::Tensor normalization_inputs(int64_t d, uint64_t seed) {
  auto x = randn({2, 3, 300, d}, seed, 3.0);  // 1,800 rows: more than one task per thread
  x.select(2, 4).fill_(1.5);
  x.select(2, 7).copy_(1e-30 * randn({2, 3, d}, seed + 1));
  return x;
}

// max over rows of |a - b| / max(1, |b|) within each row: the degenerate rows' gradients are
// ~1e18 (the reference divides by its 1e-12 floor), which would hide every other row's error.
double row_relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  auto scale = b.abs().amax(-1).clamp_min(1.0);
  return ((a - b).abs().amax(-1) / scale).max().item<double>();
}

TEST(ScalingNormalization, PreSbnBothFormsMatchReferenceValuesAndGradients) {
  for (int64_t d : {1, 2, 6, 32}) {
    const auto x0 = normalization_inputs(d, 600 + d);
    const auto w = randn(x0.sizes(), 700 + d);
    auto reference_x = x0.clone().requires_grad_(true);
    auto reference = pre_sbn(reference_x) * std::pow(static_cast<double>(d), -0.25);
    (reference * w).sum().backward();
    for (bool rows : {true, false}) {
      auto x = x0.clone().requires_grad_(true);
      auto y = schoenbat_normalize(x, rows);
      (y * w).sum().backward();
      const char* form = rows ? "fused" : "tensor ops";
      EXPECT_LT(max_abs(y - reference), 1e-14) << form << " d=" << d;
      EXPECT_LT(row_relative_error(x.grad(), reference_x.grad()), 1e-12) << form << " d=" << d;
      EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>()) << form << " d=" << d;
    }
  }
}

// Head dims 16, 32 and 64 run the float rows held in registers; 6 and 40 the plain loops.
TEST(ScalingNormalization, PreSbnFloat32MatchesFloat64) {
  for (int64_t d : {16, 32, 64, 6, 40}) {
    const auto x0 = normalization_inputs(d, 610 + d);
    const auto w = randn(x0.sizes(), 611 + d);
    auto x64 = x0.clone().requires_grad_(true);
    auto x32 = x0.to(torch::kFloat32).requires_grad_(true);
    auto y64 = schoenbat_normalize(x64), y32 = schoenbat_normalize(x32);
    (y64 * w).sum().backward();
    (y32 * w.to(torch::kFloat32)).sum().backward();
    EXPECT_LT(max_abs(y32.to(torch::kFloat64) - y64), 1e-6) << "d=" << d;
    // The 1e-30 rows are subnormal in float32 and the constant rows' ~1e18 gradients are the
    // floor's artefact: compare the ordinary rows, and check the others stay finite.
    auto ordinary = torch::ones({300}, torch::kBool);
    ordinary[4] = false;
    ordinary[7] = false;
    auto g32 = x32.grad().to(torch::kFloat64).index({"...", ordinary, torch::indexing::Slice()});
    auto g64 = x64.grad().index({"...", ordinary, torch::indexing::Slice()});
    EXPECT_LT(row_relative_error(g32, g64), 1e-5) << "d=" << d;
    EXPECT_TRUE(torch::isfinite(y32).all().item<bool>()) << "d=" << d;
    EXPECT_TRUE(torch::isfinite(x32.grad()).all().item<bool>()) << "d=" << d;
  }
}

// z around post-SBN's floor: exactly at it, below it, zero, both signs, and ordinary values.
torch::Tensor post_inputs(uint64_t seed, int64_t D = 16) {
  auto z = randn({2, 3, 77, D}, seed);  // 462 rows: blocks of 64 leave a tail
  auto flat = z.view({-1});
  const double f = kPostSbnFloor;
  for (int64_t i = 0; i < flat.numel(); i += 13) flat[i] = (i % 2 ? f : -f);
  for (int64_t i = 5; i < flat.numel(); i += 17) flat[i] = 0.3 * f * (i % 3 ? 1 : -1);
  for (int64_t i = 9; i < flat.numel(); i += 29) flat[i] = 0.0;
  return z;
}

TEST(ScalingNormalization, PostSbnFusedMatchesTensorOpsValuesAndGradients) {
  const auto z0 = post_inputs(620);
  const auto w = randn(z0.sizes(), 621);
  const auto beta0 = 0.5 + torch::rand({16}, torch::kFloat64);  // in [0.5, 1.5)
  auto run = [&](bool rows, const torch::Tensor& z_in) {
    auto z = z_in.clone().requires_grad_(true);
    auto gamma = torch::full({1}, 1.3, torch::kFloat64).requires_grad_(true);
    auto beta = beta0.clone().requires_grad_(true);
    auto y = post_sbn(z, gamma, beta, rows);
    (y * w).sum().backward();
    return std::vector<torch::Tensor>{y.detach(), z.grad(), gamma.grad(), beta.grad()};
  };
  const auto reference = run(false, z0);
  // Also a transposed (non-contiguous) input, as the attention's output may be.
  const auto zt = z0.transpose(1, 2).contiguous().transpose(1, 2);
  for (const auto& z : {z0, zt}) {
    const auto fused = run(true, z);
    const char* names[] = {"value", "d z", "d gamma", "d beta"};
    for (int i = 0; i < 4; ++i) {
      const double scale = std::max(1.0, max_abs(reference[i]));
      EXPECT_LT(max_abs(fused[i] - reference[i]), 1e-12 * scale) << names[i];
    }
  }
}

void post_sbn_float32_matches_float64(int64_t D, uint64_t seed) {
  const auto z64 = post_inputs(seed, D);
  const auto beta = 0.5 + torch::rand({D}, torch::kFloat64);
  const auto gamma = torch::full({1}, 0.8, torch::kFloat64);
  const auto w = randn(z64.sizes(), seed + 1);
  // Values and the three gradients (the float32 backward runs the vectorised block loops).
  auto run = [&](torch::ScalarType type) {
    auto leaf = [&](const torch::Tensor& t) { return t.to(type).clone().requires_grad_(true); };
    auto z = leaf(z64), g = leaf(gamma), b = leaf(beta);
    auto y = post_sbn(z, g, b);
    (y * w.to(type)).sum().backward();
    return std::vector<torch::Tensor>{y.detach(), z.grad(), g.grad(), b.grad()};
  };
  const auto r64 = run(torch::kFloat64), r32 = run(torch::kFloat32);
  const char* names[] = {"value", "d z", "d gamma", "d beta"};
  for (int i = 0; i < 4; ++i) {
    const double scale = std::max(1.0, max_abs(r64[i]));
    EXPECT_LT(max_abs(r32[i].to(torch::kFloat64) - r64[i]), 2e-5 * scale) << names[i];
  }
  // gamma = beta = 1: exactly z, in both precisions.
  for (auto type : {torch::kFloat64, torch::kFloat32}) {
    auto z = z64.to(type);
    auto ones = torch::ones({D}, z.options());
    EXPECT_TRUE(torch::equal(post_sbn(z, ones.narrow(0, 0, 1), ones), z));
  }
}

// D = 16 and 32: the float rows held in registers; 24: the plain loops.
TEST(ScalingNormalization, PostSbnFloat32MatchesFloat64AndStartsAsIdentity) {
  for (int64_t D : {16, 32, 24}) {
    SCOPED_TRACE("D=" + std::to_string(D));
    post_sbn_float32_matches_float64(D, 630 + static_cast<uint64_t>(D));
  }
}

TEST(ScalingNormalization, PostSbnPropagatesNaN) {
  for (auto type : {torch::kFloat64, torch::kFloat32}) {
    auto z = post_inputs(640).to(type);
    z[0][1][2][3] = std::numeric_limits<double>::quiet_NaN();
    auto beta = torch::full({16}, 0.7, z.options());
    auto y = post_sbn(z, torch::ones({1}, z.options()), beta);
    EXPECT_TRUE(std::isnan(y[0][1][2][3].item<double>()));
    EXPECT_EQ(torch::isnan(y).sum().item<int64_t>(), 1);
  }
}

TEST(ScalingNormalization, PostSbnRejectsBadParameterShapes) {
  auto z = post_inputs(650);
  EXPECT_THROW(post_sbn(z, torch::ones({2}, z.options()), torch::ones({16}, z.options())),
               c10::Error);
  EXPECT_THROW(post_sbn(z, torch::ones({1}, z.options()), torch::ones({15}, z.options())),
               c10::Error);
}

}  // namespace
}  // namespace lra
