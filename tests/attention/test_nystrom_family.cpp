// nystromformer, linformer, gaussian_kernelized, skyformer: their limit cases (where the
// approximation becomes exact), the iterative pseudo-inverse, errors that shrink with the number
// of landmarks, padding with non-default settings, skyformer's draws. The generic properties
// (padding, gradients, save/load, float32) are in test_attention_backends.cpp.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "attention/nystrom.h"
#include "attention_test_util.h"

namespace lra {
namespace {

using test::make_backend;
using test::max_abs;
using test::random_inputs;
using test::relative_error;

AttentionConfig config_of(const std::string& type) {
  AttentionConfig c;
  c.type = type;
  return c;
}

// The generic padding check for one configured backend (in its current train/eval mode):
// garbage in padded positions changes nothing, and real rows equal a run on the prefix alone.
void expect_padding_invariant(const AttentionPtr& backend, const std::string& what) {
  const int64_t L = 11, pad = 4, D = 4;
  auto in = random_inputs(2, 2, L, D, 91, pad);
  auto garbage = random_inputs(2, 2, L, D, 92, pad, 100.0);
  auto is_pad = (in.mask == 0).unsqueeze(1).unsqueeze(-1);  // (B, 1, L, 1)
  auto clean = backend->forward(in.q, in.k, in.v, in.mask);
  auto noisy =
      backend->forward(torch::where(is_pad, garbage.q, in.q), torch::where(is_pad, garbage.k, in.k),
                       torch::where(is_pad, garbage.v * 1e3, in.v), in.mask);
  auto prefix = [&](const torch::Tensor& t) { return t.narrow(0, 0, 1).narrow(2, 0, L - pad); };
  auto alone = backend->forward(prefix(in.q), prefix(in.k), prefix(in.v),
                                torch::ones({1, L - pad}, torch::kFloat64));
  EXPECT_LT(max_abs(prefix(clean) - prefix(noisy)), 1e-10) << what;
  EXPECT_LT(max_abs(prefix(clean) - alone), 1e-10) << what;
  EXPECT_TRUE(torch::equal(clean.narrow(0, 1, 1), noisy.narrow(0, 1, 1))) << what;
}

// Naive float64 Gaussian-kernel attention: sum_j exp(-|x_i - y_j|^2 / 2) v_j over real keys.
torch::Tensor naive_gaussian(const test::Inputs& in) {
  const int64_t B = in.q.size(0), H = in.q.size(1), L = in.q.size(2), D = in.q.size(3);
  const double s = std::pow(static_cast<double>(D), -0.25);
  auto out = torch::zeros_like(in.v);
  auto q = in.q.accessor<double, 4>(), k = in.k.accessor<double, 4>(),
       v = in.v.accessor<double, 4>();
  auto mask = in.mask.accessor<double, 2>();
  auto o = out.accessor<double, 4>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < L; ++i)
        for (int64_t j = 0; j < L; ++j) {
          if (mask[b][j] == 0) continue;
          double dist2 = 0;
          for (int64_t c = 0; c < D; ++c) {
            const double diff = (q[b][h][i][c] - k[b][h][j][c]) * s;
            dist2 += diff * diff;
          }
          for (int64_t c = 0; c < D; ++c) o[b][h][i][c] += std::exp(-dist2 / 2) * v[b][h][j][c];
        }
  return out;
}

// ---- the shared pieces ----

TEST(NystromMath, IterativePinvConvergesToLinalgPinv) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  auto a =
      torch::softmax(torch::randn({3, 12, 12}, gen, torch::kFloat64) * 2, -1);  // row-stochastic
  EXPECT_LT(max_abs(iterative_pinv(a, 40) - torch::linalg_pinv(a)), 1e-8);
  // Rank-deficient (repeated landmarks give repeated rows and columns): still the pseudo-inverse.
  auto index = torch::tensor({0, 1, 1, 2, 3, 3, 3, 4}, torch::kInt64);
  auto singular = a.index_select(1, index).index_select(2, index);
  singular = singular / singular.sum(-1, true);
  EXPECT_LT(max_abs(iterative_pinv(singular, 25) - torch::linalg_pinv(singular)), 1e-8);
  // Each matrix's start depends on itself only.
  auto scaled = torch::cat({a.narrow(0, 0, 1), a.narrow(0, 1, 2) * 50.0});
  EXPECT_TRUE(torch::allclose(iterative_pinv(scaled, 6).narrow(0, 0, 1),
                              iterative_pinv(a.narrow(0, 0, 1), 6), 0, 1e-12));
}

TEST(NystromMath, SegmentMeansCoverEachSequencesRealTokens) {
  // 7 real tokens of 10 in 3 segments: ranks [0, 2), [2, 4), [4, 7); 2 real tokens in 3
  // segments: [0, 1), [0, 1), [1, 2) (each at least one token).
  auto mask = torch::zeros({2, 10}, torch::kFloat64);
  mask.narrow(1, 0, 7).fill_(1.0);
  mask[1].fill_(0.0);
  mask[1][3] = 1.0;
  mask[1][8] = 1.0;
  auto m = segment_means_matrix(mask, 3);  // (2, 3, 10)
  auto expected = torch::zeros({2, 3, 10}, torch::kFloat64);
  expected[0][0].narrow(0, 0, 2).fill_(0.5);
  expected[0][1].narrow(0, 2, 2).fill_(0.5);
  expected[0][2].narrow(0, 4, 3).fill_(1.0 / 3);
  expected[1][0][3] = 1.0;
  expected[1][1][3] = 1.0;
  expected[1][2][8] = 1.0;
  EXPECT_TRUE(torch::allclose(m, expected, 0, 1e-15));
}

// ---- nystromformer ----

// Every real token a landmark and a converged pinv: A pinv(A) A = A, exact softmax attention,
// on the Nystrom path (m < L, padded batch), also when m > n repeats tokens; m >= L takes the
// exact branch directly.
TEST(Nystromformer, EveryTokenALandmarkIsExactSoftmax) {
  auto config = config_of("nystromformer");
  config.pinv_iterations = 40;
  auto exact_of = [](const test::Inputs& in) {
    return softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  };
  config.num_landmarks = 12;  // 12 real tokens of 16
  auto padded = random_inputs(1, 2, 16, 5, 102, /*pad=*/4);
  auto out = make_backend(config, 5)->forward(padded.q, padded.k, padded.v, padded.mask);
  EXPECT_LT(max_abs((out - exact_of(padded)).narrow(2, 0, 12)), 1e-8);
  // 6 real tokens of 16: three of them twice. Converged by ~20 iterations; far more would grow
  // rounding noise in the null space of the singular A (each iteration multiplies it by ~3.25).
  config.num_landmarks = 9;
  config.pinv_iterations = 25;
  auto repeated = random_inputs(1, 2, 16, 5, 103, /*pad=*/10);
  out = make_backend(config, 5)->forward(repeated.q, repeated.k, repeated.v, repeated.mask);
  EXPECT_LT(max_abs((out - exact_of(repeated)).narrow(2, 0, 6)), 1e-9);
  config.num_landmarks = 16;  // = L
  config.pinv_iterations = 6;
  auto full = random_inputs(2, 2, 16, 5, 101);
  out = make_backend(config, 5)->forward(full.q, full.k, full.v, full.mask);
  EXPECT_LT(max_abs(out - exact_of(full)), 1e-12);
}

// The generic gradient check meets nystromformer on its exact branch (m >= L); here the Nystrom
// path with the convolution, and skyformer with accumulated columns.
TEST(NystromFamily, GradientsMatchFiniteDifferencesOnTheApproximatePaths) {
  auto nystrom = config_of("nystromformer");
  nystrom.num_landmarks = 3;
  nystrom.conv_kernel = 3;
  auto sky = config_of("skyformer");
  sky.features = 3;
  sky.accumulation = 2;
  for (const auto& config : {nystrom, sky}) {
    auto backend = make_backend(config, 4, 3, 1);
    auto in = random_inputs(2, 1, 7, 4, 171, 2);
    auto weight = torch::randn_like(in.v) * in.mask.unsqueeze(1).unsqueeze(-1);
    auto loss = [&](const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
      return (backend->forward(q, k, v, in.mask) * weight).sum();
    };
    std::vector<torch::Tensor> inputs = {in.q.clone().requires_grad_(true),
                                         in.k.clone().requires_grad_(true),
                                         in.v.clone().requires_grad_(true)};
    loss(inputs[0], inputs[1], inputs[2]).backward();
    for (size_t which = 0; which < 3; ++which) {
      auto grad = inputs[which].grad().flatten();
      for (int64_t idx = 0; idx < grad.numel(); idx += 5) {
        const double h = 1e-6;
        std::vector<torch::Tensor> plus = {in.q.clone(), in.k.clone(), in.v.clone()};
        std::vector<torch::Tensor> minus = {in.q.clone(), in.k.clone(), in.v.clone()};
        plus[which].view(-1)[idx] += h;
        minus[which].view(-1)[idx] -= h;
        const double numeric = (loss(plus[0], plus[1], plus[2]).item<double>() -
                                loss(minus[0], minus[1], minus[2]).item<double>()) /
                               (2 * h);
        EXPECT_NEAR(grad[idx].item<double>(), numeric, 1e-6 + 1e-5 * std::abs(numeric))
            << config.type << " input " << which << " index " << idx;
      }
    }
  }
}

// At the default 6 pinv iterations (the truncated iteration also damps the tiny eigenvalues of a
// near-singular softmax(q~ k~^T), which a converged pinv would amplify at small m).
TEST(Nystromformer, ErrorShrinksAsLandmarksGrow) {
  auto in = random_inputs(2, 2, 64, 8, 103, 0, 0.7);
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  double previous = INFINITY;
  for (int64_t m : {2, 4, 8, 16, 32, 64}) {
    auto config = config_of("nystromformer");
    config.num_landmarks = m;
    const double error =
        relative_error(make_backend(config, 8)->forward(in.q, in.k, in.v, in.mask), exact);
    std::printf("nystromformer m=%lld relative error %.3g\n", static_cast<long long>(m), error);
    EXPECT_LT(error, previous) << "m=" << m;
    previous = error;
  }
  EXPECT_LT(previous, 0.1);  // m = L, 6 iterations
}

// The skip connection is a zero-padded depthwise filter of the masked values, per head.
TEST(Nystromformer, ConvolutionAddsADepthwiseFilterOfTheMaskedValues) {
  auto config = config_of("nystromformer");
  config.num_landmarks = 4;
  auto plain = make_backend(config, 3);
  config.conv_kernel = 3;
  auto with_conv = make_backend(config, 3);
  torch::Tensor w;  // (H, 1, 3, 1)
  for (const auto& p : with_conv->named_parameters())
    if (p.key() == "conv_weight") w = p.value();
  ASSERT_TRUE(w.defined());
  auto in = random_inputs(2, 2, 9, 3, 104, /*pad=*/3);
  auto skip =
      with_conv->forward(in.q, in.k, in.v, in.mask) - plain->forward(in.q, in.k, in.v, in.mask);
  auto expected = torch::zeros_like(in.v);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < 9; ++i)
        for (int64_t t = 0; t < 3; ++t) {
          const int64_t j = i + t - 1;
          if (j < 0 || j >= 9 || in.mask[b][j].item<double>() == 0) continue;
          expected[b][h][i] += w.detach()[h][0][t][0] * in.v[b][h][j];
        }
  EXPECT_LT(max_abs(skip - expected), 1e-12);
  expect_padding_invariant(with_conv, "nystromformer conv_kernel 3");
  config.conv_kernel = 35;
  expect_padding_invariant(make_backend(config, 4), "nystromformer conv_kernel 35");
  config.conv_kernel = 4;
  EXPECT_THROW(make_backend(config, 4), std::invalid_argument);
}

// ---- linformer ----

TEST(Linformer, IdentityProjectionIsExactSoftmax) {
  auto config = config_of("linformer");
  config.linformer_k = 10;
  auto ctx = test::test_context(2, 4, 0.0, 5);
  ctx.max_length = 10;
  auto backend = make_attention(config, ctx);
  backend->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : backend->named_parameters())
      if (p.key() == "projection")
        p.value().copy_(torch::eye(10, torch::kFloat64).expand({2, 10, 10}));
  }
  auto in = random_inputs(2, 2, 10, 4, 111);
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  EXPECT_LT(max_abs(backend->forward(in.q, in.k, in.v, in.mask) - exact), 1e-12);
}

TEST(Linformer, LongerThanMaxLengthIsAClearError) {
  auto ctx = test::test_context(2, 4, 0.0, 5);
  ctx.max_length = 8;
  auto backend = make_attention(config_of("linformer"), ctx);
  auto in = random_inputs(1, 2, 9, 4, 112);
  try {
    backend->forward(in.q.to(torch::kFloat32), in.k.to(torch::kFloat32), in.v.to(torch::kFloat32),
                     in.mask.to(torch::kFloat32));
    ADD_FAILURE() << "no error for length 9 > max_length 8";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sequence length 9 exceeds max_length 8"),
              std::string::npos)
        << e.what();
  }
  ctx.max_length = 0;
  EXPECT_THROW(make_attention(config_of("linformer"), ctx), std::invalid_argument);
}

// ---- gaussian_kernelized ----

TEST(GaussianKernelized, MatchesNaiveLoop) {
  auto in = random_inputs(2, 2, 7, 5, 121, /*pad=*/2, 1.5);
  auto out = make_backend(config_of("gaussian_kernelized"), 5)->forward(in.q, in.k, in.v, in.mask);
  EXPECT_LT(max_abs(out - naive_gaussian(in)), 1e-12);
  auto reference = attention_implementation("gaussian_kernelized")
                       .reference(in.q, in.k, in.v, in.mask, config_of("gaussian_kernelized"));
  EXPECT_LT(max_abs(reference - naive_gaussian(in)), 1e-12);
}

// ---- skyformer ----

TEST(Skyformer, ErrorShrinksAsLandmarksGrow) {
  auto in = random_inputs(1, 2, 64, 8, 131, /*pad=*/8, 0.7);
  auto exact = attention_implementation("skyformer")
                   .reference(in.q, in.k, in.v, in.mask, config_of("skyformer"));
  auto real = [](const torch::Tensor& t) { return t.narrow(2, 0, 56); };
  exact = real(exact);
  double previous = INFINITY;
  for (int64_t c : {4, 16, 64}) {
    double total = 0;
    for (int seed = 0; seed < 8; ++seed) {
      auto config = config_of("skyformer");
      config.features = c;
      auto backend = make_backend(config, 8, 1000 + seed);
      backend->eval();
      total += relative_error(real(backend->forward(in.q, in.k, in.v, in.mask)), exact);
    }
    const double error = total / 8;
    std::printf("skyformer c=%lld mean relative error %.3g\n", static_cast<long long>(c), error);
    EXPECT_LT(error, previous) << "c=" << c;
    previous = error;
  }
}

// Training draws follow (layer seed, optimizer step) and come back with a checkpoint; evaluation
// uses one fixed draw.
TEST(Skyformer, DrawsAreSeededResumableAndFixedInEvaluation) {
  auto config = config_of("skyformer");
  config.features = 6;
  auto in = random_inputs(2, 2, 12, 4, 141, 3);
  auto run = [&](const AttentionPtr& b) { return b->forward(in.q, in.k, in.v, in.mask); };
  auto a = make_backend(config, 4, 1), twin = make_backend(config, 4, 1),
       other = make_backend(config, 4, 2);
  auto step0 = run(a);
  EXPECT_TRUE(torch::equal(step0, run(a)));  // one step, one draw
  EXPECT_TRUE(torch::equal(step0, run(twin)));
  EXPECT_FALSE(torch::equal(step0, run(other)));
  a->on_train_step(1);
  auto step1 = run(a);
  EXPECT_FALSE(torch::equal(step0, step1));
  a->on_train_step(2);
  a->on_train_step(3);
  // A checkpoint at step 3 restores the draw into a module of another seed.
  const std::string path = ::testing::TempDir() + "skyformer_draws.pt";
  torch::save(a, path);
  torch::load(other, path);
  std::remove(path.c_str());
  EXPECT_TRUE(torch::equal(run(a), run(other)));
  a->on_train_step(4);
  other->on_train_step(4);
  EXPECT_TRUE(torch::equal(run(a), run(other)));
  twin->on_train_step(4);
  EXPECT_TRUE(torch::equal(run(a), run(twin)));
  // Evaluation: the same draw whatever the step.
  a->eval();
  auto evaluated = run(a);
  a->on_train_step(5);
  EXPECT_TRUE(torch::equal(evaluated, run(a)));
  twin->eval();
  EXPECT_TRUE(torch::equal(evaluated, run(twin)));
  expect_padding_invariant(a, "skyformer eval");
}

TEST(Skyformer, FeaturesZeroTakesSamplingFactorTimesLogMaxLength) {
  auto config = config_of("skyformer");
  config.features = 0;
  config.sampling_factor = 4.0;  // int(4 ln 64) = 16
  auto in = random_inputs(2, 2, 12, 4, 151, 3);
  auto from_factor = make_backend(config, 4, 9);
  config.features = 16;
  auto explicit_16 = make_backend(config, 4, 9);
  EXPECT_TRUE(torch::equal(from_factor->forward(in.q, in.k, in.v, in.mask),
                           explicit_16->forward(in.q, in.k, in.v, in.mask)));
  config.features = 0;
  auto ctx = test::test_context(2, 4, 0.0, 9);
  ctx.max_length = 0;
  EXPECT_THROW(make_attention(config, ctx), std::invalid_argument);
}

TEST(Skyformer, AccumulationSumsSampledColumns) {
  auto config = config_of("skyformer");
  config.features = 5;
  config.accumulation = 3;
  auto backend = make_backend(config, 4, 11);
  expect_padding_invariant(backend, "skyformer accumulation 3");
  auto in = random_inputs(2, 2, 12, 4, 161, 3);
  auto out = backend->forward(in.q, in.k, in.v, in.mask);
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
}

}  // namespace
}  // namespace lra
