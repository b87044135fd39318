// The fast paths against their plain references, in float64, values and gradients:
// fused softmax (scaled_dot_product_attention) vs the explicit L x L form; the chunked linear
// attention with the slice-wise feature maps vs linear_attention over each backend's reference
// features(). (SchoenbAt's normalisations: test_scaling_normalization.cpp.)
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "attention/features/feature_maps.h"
#include "attention/linear_attention.h"
#include "attention_test_util.h"

namespace lra {
namespace {

using test::attention_config;
using test::make_backend;
using test::max_abs;
using test::random_inputs;

using AttentionFn =
    std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&)>;

struct ValueAndGrads {
  torch::Tensor out;
  std::vector<torch::Tensor> grads;  // d loss / d q, k, v
};

// out = fn(q, k, v) and the gradients of sum(out * weight) (weight zero on padded query rows,
// whose outputs are unspecified).
ValueAndGrads run(const AttentionFn& fn, const test::Inputs& in, const torch::Tensor& weight) {
  auto q = in.q.clone().requires_grad_(true), k = in.k.clone().requires_grad_(true),
       v = in.v.clone().requires_grad_(true);
  auto out = fn(q, k, v);
  (out * weight).sum().backward();
  // An input the output does not depend on (SchoenbAt with m = 1) has no gradient: zero.
  auto grad = [](const torch::Tensor& t) {
    return t.grad().defined() ? t.grad() : torch::zeros_like(t);
  };
  return {out.detach() * (weight != 0), {grad(q), grad(k), grad(v)}};
}

void expect_same(const ValueAndGrads& fast, const ValueAndGrads& reference, double tol,
                 const std::string& what) {
  const double scale = std::max(1.0, max_abs(reference.out));
  EXPECT_LT(max_abs(fast.out - reference.out), tol * scale) << what << ": values";
  const char* names[] = {"q", "k", "v"};
  for (size_t i = 0; i < 3; ++i) {
    const double g = std::max(1.0, max_abs(reference.grads[i]));
    EXPECT_LT(max_abs(fast.grads[i] - reference.grads[i]), tol * g)
        << what << ": gradient of " << names[i];
  }
}

torch::Tensor row_weight(const test::Inputs& in, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(in.v.sizes(), gen, in.v.options()) * in.mask.unsqueeze(1).unsqueeze(-1);
}

TEST(AttentionFastPath, FusedSoftmaxMatchesReference) {
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    auto in = random_inputs(2, 2, 37, 8, 501, /*pad=*/9, 1.5);
    in = {in.q.to(dtype), in.k.to(dtype), in.v.to(dtype), in.mask.to(dtype)};
    auto weight = row_weight(in, 502);
    auto fused = run([&](auto& q, auto& k,
                         auto& v) { return softmax_attention_fused(q, k, v, in.mask, 0.0, true); },
                     in, weight);
    auto reference =
        run([&](auto& q, auto& k,
                auto& v) { return softmax_attention_reference(q, k, v, in.mask, 0.0, true); },
            in, weight);
    expect_same(fused, reference, dtype == torch::kFloat64 ? 1e-12 : 2e-5,
                dtype == torch::kFloat64 ? "float64" : "float32");
  }
}

// Padded keys keep exactly zero weight in the fused kernel: huge values there change nothing.
TEST(AttentionFastPath, FusedSoftmaxIgnoresPaddedKeysExactly) {
  auto in = random_inputs(2, 2, 16, 4, 503, /*pad=*/5);
  auto pad = (in.mask == 0).unsqueeze(1).unsqueeze(-1);  // (B, 1, L, 1)
  auto out = softmax_attention_fused(in.q, in.k, in.v, in.mask, 0.0, false);
  auto dirty = softmax_attention_fused(in.q, in.k.masked_fill(pad, 1e3),
                                       in.v.masked_fill(pad, 1e30), in.mask, 0.0, false);
  EXPECT_TRUE(torch::equal(out, dirty));
}

struct BackendCase {
  std::string type, kernel;
  int64_t features;
};

// forward (chunked, slice-wise features, hand-written backward) against the plain composition
// of the backend's own reference features() and linear_attention.
// Every random-feature backend at a few feature counts (1 = only what is left at the smallest
// size) with its first kernel, and at one count with each other kernel it computes.
std::vector<BackendCase> fast_path_cases() {
  std::vector<BackendCase> cases;
  for (const auto& type : test::random_feature_backends()) {
    const auto& kernels = attention_backend(type).kernels;
    for (int64_t m : {40, 2, 1}) cases.push_back({type, kernels.front(), m});
    for (size_t i = 1; i < kernels.size(); ++i) cases.push_back({type, kernels[i], 17});
  }
  return cases;
}

TEST(AttentionFastPath, ChunkedLinearAttentionMatchesReference) {
  for (const auto& c : fast_path_cases())
    for (int64_t rows : {0, 1, 7})
      for (bool row_loops : {true, false}) {  // SchoenbAt's CPU row loops and its tensor-op form
        const ExecutionOptions execution{rows, row_loops};
        auto in = random_inputs(3, 2, 23, 6, 510, /*pad=*/6, 0.8);
        in.mask.index_put_({2}, 0.0);  // batch element 2: no real key at all
        auto weight = row_weight(in, 511);
        auto rf = test::as_random_feature(make_backend(
            attention_config(c.type, c.features, c.kernel), 6, 17, /*heads=*/2, execution));
        rf->freeze_data_dependent_parameters(true);  // FAVOR#: both paths on the same parameters
        auto fast = run([&](auto& q, auto& k, auto& v) { return rf->forward(q, k, v, in.mask); },
                        in, weight);
        auto reference = run(
            [&](auto& q, auto& k, auto& v) {
              auto phi = rf->features(q, k, in.mask, /*stabilized=*/true);
              // (SchoenbAt's post-SBN is exactly the identity at initialisation.)
              return linear_attention(phi.query, phi.key, v, in.mask, 1e-6);
            },
            in, weight);
        expect_same(fast, reference, 1e-10,
                    c.type + "/" + c.kernel + " m=" + std::to_string(c.features) + " rows=" +
                        std::to_string(rows) + (row_loops ? " row loops" : " tensor ops"));
        EXPECT_TRUE(torch::isfinite(fast.out).all().item<bool>()) << c.type;
        for (const auto& g : fast.grads)
          EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << c.type;
      }
}

// phi(x) = x: signed features, so denominators fall below eps (and below 0) with numerators that
// are not 0 there, which the exp maps never produce: the clamp's gradient gate is tested here.
class IdentityFeatureMap : public ChunkedFeatureMap {
 public:
  explicit IdentityFeatureMap(int64_t m) : m_(m) {}
  int64_t num_features() const override { return m_; }
  bool shifted() const override { return false; }
  c10::intrusive_ptr<ChunkedFeatureMap> slice(int64_t, int64_t) const override {
    return c10::make_intrusive<IdentityFeatureMap>(m_);
  }
  int64_t width() const override { return m_; }
  Chunk features(const torch::Tensor& x, bool, const torch::Tensor&,
                 torch::Tensor&) const override {
    return {x.contiguous(), torch::Tensor()};
  }
  torch::Tensor vjp(const torch::Tensor&, bool, const Chunk&,
                    const torch::Tensor& dphi) const override {
    return dphi;
  }

 private:
  int64_t m_;
};

TEST(AttentionFastPath, ClampedDenominatorsMatchReference) {
  const double eps = 0.5;
  for (int64_t rows : {0, 7}) {
    auto in = random_inputs(2, 2, 29, 5, 512, /*pad=*/4, 1.0);
    auto weight = row_weight(in, 513);
    auto map = c10::make_intrusive<IdentityFeatureMap>(5);
    auto fast =
        run([&](auto& q, auto& k,
                auto& v) { return chunked_linear_attention(q, k, v, in.mask, map, eps, rows); },
            in, weight);
    auto reference =
        run([&](auto& q, auto& k, auto& v) { return linear_attention(q, k, v, in.mask, eps); }, in,
            weight);
    auto den = torch::einsum("bhid,bhd->bhi", {in.q, (in.k * in.mask.view({2, 1, 29, 1})).sum(2)});
    const auto clamped = (den < eps).sum().item<int64_t>();
    ASSERT_GT(clamped, 10) << "the draw must clamp some denominators";
    ASSERT_LT(clamped, den.numel() - 10) << "and leave others";
    expect_same(fast, reference, 1e-10, "identity features rows=" + std::to_string(rows));
  }
}

// The fused exp-feature kernel against the slice-wise tensor path on the same map, in float64:
// shared and per-(batch, head) projections, with and without FAVOR#'s offset, blocks of 1, 4
// and automatic rows, padded keys that fill whole blocks (which the kernel skips) and part of
// one, mid-sequence padding, and a batch element with no real key.
TEST(AttentionFastPath, FusedExpKernelMatchesTensorPath) {
  const int64_t B = 3, H = 2, L = 23, d = 6, m = 19;
  auto in = random_inputs(B, H, L, d, 560, /*pad=*/9, 0.9);
  in.mask.index_put_({1, torch::indexing::Slice(3, 8)}, 0.0);
  in.mask.index_put_({2}, 0.0);
  auto weight = row_weight(in, 561);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(562);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  for (int64_t P : {int64_t{1}, B * H})
    for (bool offset : {false, true}) {
      auto projection = torch::randn({P, m, d}, gen, opts);  // (P, m, d)
      auto shift = offset ? torch::randn({P, 1, m}, gen, opts) * 0.3 : torch::Tensor();  // (P,1,m)
      auto map = make_exp_feature_map(projection, shift, 0.7);
      ASSERT_NE(map->exp_projection(), nullptr);
      for (int64_t rows : {0, 1, 4}) {
        auto with = [&](bool fused) {
          return run(
              [&](auto& q, auto& k, auto& v) {
                return chunked_linear_attention(q, k, v, in.mask, map, 1e-6, rows, fused);
              },
              in, weight);
        };
        expect_same(
            with(true), with(false), 1e-12,
            "P=" + std::to_string(P) + (offset ? " offset" : "") + " rows=" + std::to_string(rows));
      }
    }
}

// The same for SchoenbAt's Maclaurin map: the fused kernel (row loops) against the slice-wise
// tensor ops of the same layout, in float64; padded keys' features are not 0 here, so the
// kernel must drop them from S and dv itself.
TEST(AttentionFastPath, FusedMaclaurinKernelMatchesTensorPath) {
  const int64_t B = 3, H = 2, L = 23, d = 6;
  auto in = random_inputs(B, H, L, d, 570, /*pad=*/9, 0.5);
  in.mask.index_put_({1, torch::indexing::Slice(3, 8)}, 0.0);
  in.mask.index_put_({2}, 0.0);
  auto weight = row_weight(in, 571);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(572);
  auto degrees = std::get<0>(torch::randint(1, 5, {12}, gen, torch::kInt64).sort());  // (m - 1)
  const int64_t F = degrees.sum().item<int64_t>();
  auto rademacher = torch::randint(0, 2, {F, d}, gen, torch::kFloat64).mul_(2.0).sub_(1.0);
  auto scales = torch::rand({12}, gen, torch::kFloat64).add_(0.5);
  const auto layout = make_maclaurin_layout(degrees, rademacher, scales, 0.7);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto fused = make_maclaurin_feature_map(layout, opts, /*cpu_row_loops=*/true);
  auto ops = make_maclaurin_feature_map(layout, opts, /*cpu_row_loops=*/false);
  ASSERT_NE(fused->maclaurin_layout(), nullptr);
  ASSERT_EQ(ops->maclaurin_layout(), nullptr);
  for (int64_t rows : {0, 1, 4}) {
    auto with = [&](const c10::intrusive_ptr<ChunkedFeatureMap>& map) {
      return run(
          [&](auto& q, auto& k, auto& v) {
            return chunked_linear_attention(q, k, v, in.mask, map, 1e-6, rows);
          },
          in, weight);
    };
    expect_same(with(fused), with(ops), 1e-12, "maclaurin rows=" + std::to_string(rows));
  }
}

// FAVOR#'s per-call parameters (second moments over real tokens, eigh, rotated projection) on
// the CPU path against their tensor-op form, each computed from the inputs (not frozen): the
// same attention in float64, padding in mid-sequence and a batch element with no real token.
TEST(AttentionFastPath, FavorSharpParametersMatchTensorForm) {
  auto in = random_inputs(3, 2, 40, 6, 580, /*pad=*/6, 0.8);
  in.mask.index_put_({1, torch::indexing::Slice(5, 20)}, 0.0);
  in.mask.index_put_({2}, 0.0);
  auto weight = row_weight(in, 581);
  auto with = [&](bool row_loops) {
    auto rf = test::as_random_feature(make_backend(attention_config("favor_sharp", 24), 6, 17,
                                                   /*heads=*/2, ExecutionOptions{0, row_loops}));
    return run([&](auto& q, auto& k, auto& v) { return rf->forward(q, k, v, in.mask); }, in,
               weight);
  };
  expect_same(with(true), with(false), 1e-10, "favor_sharp parameters");
}

// Two threads split the (batch x head) axis between them, each running its slices with the
// caller's autograd and inference mode: same values and gradients as one thread, and the
// evaluation path (inference mode, whose tensors refuse in-place updates outside it) works.
TEST(AttentionFastPath, ThreadedSlicesMatchOneThread) {
  struct RestoreThreads {
    int saved = torch::get_num_threads();
    ~RestoreThreads() { torch::set_num_threads(saved); }
  } restore;
  for (const auto& type : test::random_feature_backends()) {
    auto in = random_inputs(3, 2, 23, 6, 530, /*pad=*/6, 0.8);
    auto weight = row_weight(in, 531);
    auto rf = test::as_random_feature(make_backend(attention_config(type, 24), 6, 19));
    rf->freeze_data_dependent_parameters(true);
    auto fn = [&](auto& q, auto& k, auto& v) { return rf->forward(q, k, v, in.mask); };
    torch::set_num_threads(1);
    auto one = run(fn, in, weight);
    torch::set_num_threads(2);
    auto two = run(fn, in, weight);
    expect_same(two, one, 1e-12, type + " two threads");
    torch::Tensor inferred;
    {
      // Recomputed data-dependent parameters (favor_sharp's eigh splits its matrices over the
      // threads) are the frozen ones: the same inputs.
      rf->freeze_data_dependent_parameters(false);
      c10::InferenceMode inference;
      auto q = in.q.clone(), k = in.k.clone(), v = in.v.clone();
      inferred = rf->forward(q, k, v, in.mask);
    }
    auto real_rows = (weight != 0);
    EXPECT_LT(max_abs((inferred - one.out) * real_rows), 1e-12) << type << " inference mode";
  }
}

// Large logits: the per-slice key shifts are merged (online rescaling) without overflow, and the
// result does not depend on the slice size.
TEST(AttentionFastPath, ChunkedKeyShiftsMergeAcrossSlices) {
  auto in = random_inputs(1, 2, 64, 8, 520, 0, 6.0);
  auto config = attention_config("favor", 32);
  auto whole = make_backend(config, 8, 3)->forward(in.q, in.k, in.v, in.mask);
  auto sliced =
      make_backend(config, 8, 3, 2, ExecutionOptions{5})->forward(in.q, in.k, in.v, in.mask);
  EXPECT_TRUE(torch::isfinite(whole).all().item<bool>());
  EXPECT_LT(max_abs(whole - sliced), 1e-10 * std::max(1.0, max_abs(whole)));
}

// The float32 CPU paths (vectorised exp, fused feature rows, blocked softmax) against float64 on
// the same draw: agreement to float32 rounding.
TEST(AttentionFastPath, Float32AgreesWithFloat64) {
  for (const std::string type : {"softmax", "favor", "favor_sharp", "schoenbat"}) {
    auto in = random_inputs(2, 2, 300, 16, 540, /*pad=*/40, 0.8);
    auto backend = make_attention(attention_config(type, 64), test::test_context(2, 16, 0.0, 5));
    auto f32 = backend->forward(in.q.to(torch::kFloat), in.k.to(torch::kFloat),
                                in.v.to(torch::kFloat), in.mask.to(torch::kFloat));
    backend->to(torch::kFloat64);
    auto f64 = backend->forward(in.q, in.k, in.v, in.mask);
    auto real_rows = in.mask.view({2, 1, 300, 1});
    EXPECT_LT(max_abs((f32.to(torch::kFloat64) - f64) * real_rows), 2e-5 * max_abs(f64)) << type;
  }
}

}  // namespace
}  // namespace lra
