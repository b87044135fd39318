// Backend-level properties: exact backends against naive loops, padding, gradients, redraw,
// checkpoints, degenerate sizes.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/features/dot_kernels.h"
#include "attention_test_util.h"

namespace lra {
namespace {

using test::attention_config;
using test::kernel_for;
using test::make_backend;
using test::random_inputs;

const std::vector<std::string> kAllBackends = attention_backend_names();

// Naive float64 softmax attention with padded keys skipped.
torch::Tensor naive_softmax(const test::Inputs& in) {
  const int64_t B = in.q.size(0), H = in.q.size(1), L = in.q.size(2), D = in.q.size(3);
  auto out = torch::zeros_like(in.v);
  auto q = in.q.accessor<double, 4>(), k = in.k.accessor<double, 4>(),
       v = in.v.accessor<double, 4>();
  auto mask = in.mask.accessor<double, 2>();
  auto o = out.accessor<double, 4>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < L; ++i) {
        std::vector<double> s(L, -INFINITY);
        double mx = -INFINITY;
        for (int64_t j = 0; j < L; ++j) {
          if (mask[b][j] == 0) continue;
          double dot = 0;
          for (int64_t c = 0; c < D; ++c) dot += q[b][h][i][c] * k[b][h][j][c];
          s[j] = dot / std::sqrt(static_cast<double>(D));
          mx = std::max(mx, s[j]);
        }
        double z = 0;
        for (int64_t j = 0; j < L; ++j) z += (mask[b][j] == 0) ? 0 : std::exp(s[j] - mx);
        for (int64_t j = 0; j < L; ++j) {
          if (mask[b][j] == 0) continue;
          for (int64_t c = 0; c < D; ++c) o[b][h][i][c] += std::exp(s[j] - mx) / z * v[b][h][j][c];
        }
      }
  return out;
}

std::vector<double> naive_normalize(const double* x, int64_t d) {
  double mean = 0;
  for (int64_t c = 0; c < d; ++c) mean += x[c] / d;
  double var = 0;
  for (int64_t c = 0; c < d; ++c) var += (x[c] - mean) * (x[c] - mean) / d;
  std::vector<double> y(d);
  double norm = 0;
  for (int64_t c = 0; c < d; ++c) {
    y[c] = (x[c] - mean) / std::sqrt(var + 1e-12);
    norm += y[c] * y[c];
  }
  for (auto& e : y) e = e / std::sqrt(norm) * std::pow(static_cast<double>(d), -0.25);
  return y;
}

double naive_kernel(const std::string& name, double t) {
  if (name == "exp" || name == "trigh") return std::exp(t);
  if (name == "inverse") return 1 / (1 - t);
  if (name == "logi") return 1 - std::log(1 - t);
  return 2 - std::sqrt(1 - t);
}

torch::Tensor naive_kernelized(const test::Inputs& in, const std::string& kernel, bool causal) {
  const int64_t B = in.q.size(0), H = in.q.size(1), L = in.q.size(2), D = in.q.size(3);
  auto q = in.q.contiguous(), k = in.k.contiguous();
  auto out = torch::zeros_like(in.v);
  auto v = in.v.accessor<double, 4>();
  auto mask = in.mask.accessor<double, 2>();
  auto o = out.accessor<double, 4>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < L; ++i) {
        auto x = naive_normalize(q[b][h][i].data_ptr<double>(), D);
        std::vector<double> w(L, 0.0);
        double z = 0;
        for (int64_t j = 0; j < L; ++j) {
          if (mask[b][j] == 0 || (causal && j > i)) continue;
          auto y = naive_normalize(k[b][h][j].data_ptr<double>(), D);
          double t = 0;
          for (int64_t c = 0; c < D; ++c) t += x[c] * y[c];
          w[j] = naive_kernel(kernel, t);
          z += w[j];
        }
        for (int64_t j = 0; j < L; ++j)
          for (int64_t c = 0; c < D; ++c) o[b][h][i][c] += w[j] / z * v[b][h][j][c];
      }
  return out;
}

TEST(AttentionExact, SoftmaxMatchesNaiveLoop) {
  auto in = random_inputs(2, 2, 7, 5, 11, /*pad=*/2, 1.5);
  auto out = make_backend(attention_config("softmax"), 5)->forward(in.q, in.k, in.v, in.mask);
  auto real_rows = in.mask.view({2, 1, 7, 1});  // padded queries' rows are unspecified
  EXPECT_LT(((out - naive_softmax(in)) * real_rows).abs().max().item<double>(), 1e-12);
}

TEST(AttentionExact, KernelizedMatchesNaiveLoop) {
  auto in = random_inputs(2, 2, 7, 5, 12, /*pad=*/2, 1.5);
  for (const auto& kernel : dot_kernel_names())
    for (bool causal : {false, true}) {
      auto config = attention_config("kernelized", 1, kernel);
      config.causal = causal;
      auto out = make_backend(config, 5)->forward(in.q, in.k, in.v, in.mask);
      auto real_rows = in.mask.view({2, 1, 7, 1});
      EXPECT_LT(
          ((out - naive_kernelized(in, kernel, causal)) * real_rows).abs().max().item<double>(),
          1e-12)
          << kernel << " causal=" << causal;
    }
}

// Every registration's exact reference: an exact backend's forward equals it; an approximate
// backend's equals the reference of the backend it approximates, which is what the tests and
// lra_bench kernel-error compare the estimate with.
TEST(AttentionExact, RegisteredReferences) {
  auto in = random_inputs(2, 2, 6, 4, 13, 2);
  for (const auto& spec : attention_backends())
    for (const auto& kernel :
         spec.kernels.empty() ? std::vector<std::string>{"exp"} : spec.kernels) {
      auto config = attention_config(spec.name, 8, kernel);
      // An exact backend with trained weights (synthesizer's synthetic logits) computes what its
      // weights say, which no weight-free reference reproduces: its own tests give the weights
      // to a float64 reference (test_synthesizer.cpp).
      if (spec.exact() && !make_backend(config, 4)->parameters().empty()) continue;
      auto reference =
          attention_implementation(spec.name).reference(in.q, in.k, in.v, in.mask, config);
      const std::string exact_name = spec.exact() ? spec.name : spec.approximates;
      auto exact = make_backend(attention_config(exact_name, 8, kernel), 4)
                       ->forward(in.q, in.k, in.v, in.mask);
      auto real_rows = in.mask.view({2, 1, 6, 1});  // padded queries' rows are unspecified
      EXPECT_LT(((reference - exact) * real_rows).abs().max().item<double>(), 1e-12)
          << spec.name << " kernel " << kernel;
    }
}

// Padded keys get zero weight: padded rows of batch 0 (garbage q, k, v) change nothing, and the
// real rows equal a run on the unpadded prefix alone.
TEST(AttentionBackends, PaddingInvarianceAndZeroWeight) {
  const int64_t L = 9, pad = 3, D = 4;
  auto in = random_inputs(2, 2, L, D, 21, pad);
  auto garbage = random_inputs(2, 2, L, D, 22, pad, 100.0);
  auto is_pad = (in.mask == 0).unsqueeze(1).unsqueeze(-1);  // (B, 1, L, 1)
  test::Inputs dirty{torch::where(is_pad, garbage.q, in.q), torch::where(is_pad, garbage.k, in.k),
                     torch::where(is_pad, garbage.v * 1e3, in.v), in.mask};
  auto prefix = [&](const torch::Tensor& t) { return t.narrow(0, 0, 1).narrow(2, 0, L - pad); };
  for (const auto& type : kAllBackends)
    for (bool causal : {false, true}) {
      if (causal && !attention_backend(type).supports_causal()) continue;
      auto config = attention_config(type, 16);
      config.causal = causal;
      auto backend = make_backend(config, D);
      auto clean = backend->forward(in.q, in.k, in.v, in.mask);
      auto noisy = backend->forward(dirty.q, dirty.k, dirty.v, dirty.mask);
      auto alone = backend->forward(prefix(in.q), prefix(in.k), prefix(in.v),
                                    torch::ones({1, L - pad}, torch::kFloat64));
      auto real = [&](const torch::Tensor& t) { return prefix(t); };
      EXPECT_LT((real(clean) - real(noisy)).abs().max().item<double>(), 1e-10) << type;
      EXPECT_LT((real(clean) - alone).abs().max().item<double>(), 1e-10) << type;
      EXPECT_TRUE(torch::equal(clean.narrow(0, 1, 1), noisy.narrow(0, 1, 1))) << type;
    }
}

// Central differences on a sample of coordinates of q, k and v against autograd, in float64.
TEST(AttentionBackends, GradientsMatchFiniteDifferences) {
  const int64_t D = 4;
  for (const auto& type : kAllBackends)
    for (bool causal : {false, true}) {
      const auto& spec = attention_backend(type);
      if (causal && !spec.supports_causal()) continue;
      // Enough features that no estimated denominator comes near zero, where the curvature of
      // 1/den would swamp the finite differences.
      auto config = attention_config(type, 64, kernel_for(type, "inverse"));
      config.causal = causal;
      auto backend = make_backend(config, D, 3, 1);
      if (auto rf = std::dynamic_pointer_cast<RandomFeatureAttention>(backend))
        rf->freeze_data_dependent_parameters(true);  // FAVOR#: a fixed map for the check
      auto in = random_inputs(2, 1, 5, D, 31, 1);
      auto weight = torch::randn_like(in.v) * in.mask.unsqueeze(1).unsqueeze(-1);
      auto loss = [&](const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
        return (backend->forward(q, k, v, in.mask) * weight).sum();
      };
      std::vector<torch::Tensor> inputs = {in.q.clone().requires_grad_(true),
                                           in.k.clone().requires_grad_(true),
                                           in.v.clone().requires_grad_(true)};
      loss(inputs[0], inputs[1], inputs[2]).backward();
      auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
      for (size_t which = 0; which < 3; ++which) {
        // Shared query-key backends (shared_qk, reformer) do not read k: no gradient reaches it,
        // and the finite differences must be zero too.
        auto grad = inputs[which].grad().defined() ? inputs[which].grad().flatten()
                                                   : torch::zeros_like(inputs[which]).flatten();
        for (int trial = 0; trial < 8; ++trial) {
          const int64_t idx =
              torch::randint(0, grad.numel(), {1}, gen, torch::kInt64).item<int64_t>();
          const double h = 1e-6;
          std::vector<torch::Tensor> plus = {in.q.clone(), in.k.clone(), in.v.clone()};
          std::vector<torch::Tensor> minus = {in.q.clone(), in.k.clone(), in.v.clone()};
          plus[which].view(-1)[idx] += h;
          minus[which].view(-1)[idx] -= h;
          const double numeric = (loss(plus[0], plus[1], plus[2]).item<double>() -
                                  loss(minus[0], minus[1], minus[2]).item<double>()) /
                                 (2 * h);
          const double analytic = grad[idx].item<double>();
          EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-5 * std::abs(numeric))
              << type << " causal=" << causal << " input=" << which << " index=" << idx;
        }
      }
    }
}

TEST(AttentionBackends, RedrawOnlyAtTheInterval) {
  for (const auto& type : test::random_feature_backends()) {
    auto config = attention_config(type, 12);
    config.redraw_interval = 3;
    auto rf = test::as_random_feature(make_backend(config, 4));
    auto in = random_inputs(1, 2, 6, 4, 41);
    auto before = rf->forward(in.q, in.k, in.v, in.mask);
    for (int64_t step = 1; step <= 9; ++step) {
      rf->on_train_step(step);
      auto after = rf->forward(in.q, in.k, in.v, in.mask);
      EXPECT_EQ(rf->draw_index(), step / 3) << type;
      EXPECT_EQ(torch::equal(before, after), step % 3 != 0) << type << " step " << step;
      before = after;
    }
    config.redraw_interval = 0;
    auto never = test::as_random_feature(make_backend(config, 4));
    auto fixed = never->forward(in.q, in.k, in.v, in.mask);
    for (int64_t step = 1; step <= 5; ++step) never->on_train_step(step);
    EXPECT_TRUE(torch::equal(fixed, never->forward(in.q, in.k, in.v, in.mask))) << type;
    // Same seed, same draws; another seed, other draws.
    auto twin = test::as_random_feature(make_backend(config, 4));
    auto other = test::as_random_feature(make_backend(config, 4, /*seed=*/8));
    EXPECT_TRUE(torch::equal(fixed, twin->forward(in.q, in.k, in.v, in.mask))) << type;
    EXPECT_FALSE(torch::equal(fixed, other->forward(in.q, in.k, in.v, in.mask))) << type;
  }
}

TEST(AttentionBackends, SaveLoadRestoresIdenticalOutputs) {
  auto in = random_inputs(2, 2, 6, 4, 51, 1);
  for (const auto& type : kAllBackends) {
    auto config = attention_config(type, 20);
    if (attention_backend(type).reads_key("redraw_interval")) config.redraw_interval = 2;
    auto source = make_backend(config, 4, /*seed=*/1);
    source->on_train_step(2);  // a redrawn state, so a fresh module cannot match by luck
    for (auto& p : source->parameters()) p.data().mul_(0.9);
    const std::string path = ::testing::TempDir() + "attention_" + type + ".pt";
    torch::save(source, path);
    auto target = make_backend(config, 4, /*seed=*/2);
    torch::load(target, path);
    std::remove(path.c_str());
    EXPECT_TRUE(torch::equal(source->forward(in.q, in.k, in.v, in.mask),
                             target->forward(in.q, in.k, in.v, in.mask)))
        << type;
    if (auto rf = std::dynamic_pointer_cast<RandomFeatureAttention>(target)) {
      EXPECT_EQ(rf->draw_index(), 1) << type;
    }
  }
}

// Loading into a module that already ran: whatever it cached from its own draw (SchoenbAt's
// factor layout) must give way to the loaded one, even when the buffers keep their shapes.
TEST(AttentionBackends, LoadAfterAForwardUsesTheLoadedDraw) {
  auto in = random_inputs(2, 2, 6, 4, 52, 1);
  for (const auto& type : test::random_feature_backends()) {
    auto config = attention_config(type, 20);
    auto source = make_backend(config, 4, /*seed=*/3);
    auto target = make_backend(config, 4, /*seed=*/4);
    auto before = target->forward(in.q, in.k, in.v, in.mask);
    const std::string path = ::testing::TempDir() + "attention_reload_" + type + ".pt";
    torch::save(source, path);
    torch::load(target, path);
    std::remove(path.c_str());
    auto after = target->forward(in.q, in.k, in.v, in.mask);
    EXPECT_FALSE(torch::equal(before, after)) << type;
    EXPECT_TRUE(torch::equal(source->forward(in.q, in.k, in.v, in.mask), after)) << type;
  }
}

TEST(AttentionBackends, OneFeatureAndOddHeadDims) {
  for (int64_t d : {1, 3, 5}) {
    auto in = random_inputs(2, 2, 7, d, 61 + d, 2);
    for (const auto& type : kAllBackends)
      for (int64_t m : {1, 3, 7}) {
        auto config = attention_config(type, m, kernel_for(type, "logi"));
        auto out = make_backend(config, d)->forward(in.q, in.k, in.v, in.mask);
        EXPECT_EQ(out.sizes(), in.v.sizes()) << type;
        EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << type << " d=" << d << " m=" << m;
      }
  }
  // With m = 1 only the constant feature is left: uniform weights over the real keys.
  auto in = random_inputs(2, 2, 7, 4, 70, 2);
  auto out = make_backend(attention_config("schoenbat", 1), 4)->forward(in.q, in.k, in.v, in.mask);
  auto w = in.mask.unsqueeze(1).unsqueeze(-1);
  auto mean = (in.v * w).sum(2, true) / w.sum(2, true);
  EXPECT_LT((out - mean.expand_as(out)).abs().max().item<double>(), 1e-12);
}

TEST(AttentionBackends, WorkInFloat32AndRejectBadConfigs) {
  auto in = random_inputs(2, 2, 6, 4, 80, 1);
  for (const auto& type : kAllBackends) {
    auto ctx = test::test_context(2, 4, 0.1, 3);
    auto backend = make_attention(attention_config(type, 16), ctx);
    auto out = backend->forward(in.q.to(torch::kFloat32), in.k.to(torch::kFloat32),
                                in.v.to(torch::kFloat32), in.mask.to(torch::kFloat32));
    EXPECT_EQ(out.scalar_type(), torch::kFloat32) << type;
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << type;
  }
  EXPECT_THROW(make_attention(attention_config("favor", 0), AttentionContext{1, 4, 0.0, 1}),
               std::invalid_argument);
  // A key the backend does not read is refused by the same rule the config applies.
  AttentionConfig unread;
  unread.type = "favor_sharp";
  unread.kernel = "inverse";
  EXPECT_THROW(make_attention(unread, AttentionContext{1, 4, 0.0, 1}), std::invalid_argument);
}

}  // namespace
}  // namespace lra
