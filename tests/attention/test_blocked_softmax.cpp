// The blocked CPU softmax attention (cpu/blocked_softmax.h) against the plain (L x L) formula in
// float64: values and gradients with interior and trailing padding and lengths that cut the
// 256 x 256 blocks; its dropout is exact (weights kept or zeroed and rescaled, at the requested
// rate, regenerated identically in the backward).
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/cpu/blocked_softmax.h"
#include "attention/exact_softmax.h"

namespace lra {
namespace {

torch::Tensor f64_randn(std::vector<int64_t> shape, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(shape, gen, torch::TensorOptions().dtype(torch::kFloat64));
}

// (B, L): sequence 0 has holes and trailing padding, sequence 1 is full, sequence 2 ends early.
torch::Tensor mixed_mask(int64_t L) {
  auto mask = torch::ones({3, L}, torch::kFloat64);
  mask[0].narrow(0, L - L / 3, L / 3).zero_();
  mask[0][1] = 0;
  mask[0][L / 2] = 0;
  mask[2].narrow(0, L / 2, L - L / 2).zero_();
  return mask;
}

struct Case {
  torch::Tensor q, k, v, mask, grad;  // grad: (B, H, L, D), zero on padded query rows
};

Case make_case(int64_t L, int64_t D, uint64_t seed) {
  Case c;
  c.q = f64_randn({3, 2, L, D}, seed);
  c.k = f64_randn({3, 2, L, D}, seed + 1);
  c.v = f64_randn({3, 2, L, D}, seed + 2);
  c.mask = mixed_mask(L);
  c.grad = f64_randn({3, 2, L, D}, seed + 3) * c.mask.view({3, 1, L, 1});
  return c;
}

std::vector<torch::Tensor> value_and_grads(const Case& c, bool blocked, double dropout = 0.0) {
  auto q = c.q.clone().requires_grad_(), k = c.k.clone().requires_grad_(),
       v = c.v.clone().requires_grad_();
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.q.size(-1)));
  auto out = blocked ? blocked_softmax_attention(q, k, v, c.mask, dropout, scale)
                     : softmax_attention_reference(q, k, v, c.mask, 0.0, false);
  out.backward(c.grad);
  auto real_rows = c.mask.view({c.mask.size(0), 1, -1, 1});
  return {out * real_rows, q.grad(), k.grad(), v.grad()};
}

TEST(BlockedSoftmax, MatchesTheReferenceInFloat64WithPadding) {
  for (int64_t L : {5, 70, 600, 1100}) {
    const Case c = make_case(L, 8, 10 + L);
    auto got = value_and_grads(c, true), want = value_and_grads(c, false);
    const char* names[] = {"output", "dq", "dk", "dv"};
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_TRUE(torch::allclose(got[i], want[i], 1e-10, 1e-12))
          << names[i] << " at L = " << L << ": max diff "
          << (got[i] - want[i]).abs().max().item<double>();
  }
}

TEST(BlockedSoftmax, Float32AgreesWithFloat64) {
  const Case c = make_case(700, 32, 3);
  const double scale = 1.0 / std::sqrt(32.0);
  auto want = blocked_softmax_attention(c.q, c.k, c.v, c.mask, 0.0, scale);
  auto got = blocked_softmax_attention(c.q.to(torch::kFloat), c.k.to(torch::kFloat),
                                       c.v.to(torch::kFloat), c.mask.to(torch::kFloat), 0.0, scale);
  EXPECT_LT((got.to(torch::kFloat64) - want).abs().max().item<double>(), 2e-6);
}

TEST(BlockedSoftmax, RowsWithoutRealKeysAndPaddedQueriesAreZero) {
  const int64_t L = 40;
  auto q = f64_randn({2, 1, L, 4}, 1), k = f64_randn({2, 1, L, 4}, 2),
       v = f64_randn({2, 1, L, 4}, 3);
  auto mask = torch::ones({2, L}, torch::kFloat64);
  mask[0].zero_();
  mask[1].narrow(0, 30, 10).zero_();
  auto out = blocked_softmax_attention(q.requires_grad_(), k, v, mask, 0.0, 0.5);
  EXPECT_EQ(out[0].abs().max().item<double>(), 0.0);
  EXPECT_EQ(out[1].narrow(1, 30, 10).abs().max().item<double>(), 0.0);
  out.sum().backward();
  EXPECT_TRUE(torch::isfinite(q.grad()).all().item<bool>());
}

// With v = identity the output rows are the weights after dropout (q and k zero-padded to width
// L, which leaves the scores and the mask's stream unchanged).
torch::Tensor dropped_weights(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& mask, double p, uint64_t seed) {
  const int64_t L = q.size(2), D = q.size(3);
  auto eye = torch::eye(L, torch::kFloat64).expand({q.size(0), q.size(1), L, L});
  torch::manual_seed(seed);
  return blocked_softmax_attention(torch::constant_pad_nd(q, {0, L - D}),
                                   torch::constant_pad_nd(k, {0, L - D}), eye, mask, p,
                                   0.5);  // (B, H, L, L)
}

TEST(BlockedSoftmax, DropoutKeepsOrZeroesEachWeightAtTheRequestedRate) {
  const int64_t L = 600;  // two key blocks
  const double p = 0.1;
  auto q = f64_randn({2, 2, L, 8}, 5), k = f64_randn({2, 2, L, 8}, 6);
  auto mask = torch::ones({2, L}, torch::kFloat64);
  auto exact = dropped_weights(q, k, mask, 0.0, 11);
  auto dropped = dropped_weights(q, k, mask, p, 11);
  auto kept = dropped != 0;
  // Kept weights are the exact ones over (1 - p); the rest are zero.
  EXPECT_TRUE(
      torch::allclose(dropped.masked_select(kept), exact.masked_select(kept) / (1 - p), 1e-12, 0));
  const double n = static_cast<double>(kept.numel());
  const double rate = 1.0 - kept.sum().item<double>() / n;
  EXPECT_NEAR(rate, p, 5.0 * std::sqrt(p * (1 - p) / n));  // 5 sigma
  // A second call draws a new mask: the two agree where independent draws would.
  auto other = dropped_weights(q, k, mask, p, 12) != 0;
  const double agree = (kept == other).sum().item<double>() / n;
  const double expect = p * p + (1 - p) * (1 - p);
  EXPECT_NEAR(agree, expect, 5.0 * std::sqrt(expect * (1 - expect) / n));
  // The same generator state gives the same mask.
  EXPECT_TRUE(torch::equal(dropped, dropped_weights(q, k, mask, p, 11)));
}

TEST(BlockedSoftmax, DropoutBackwardMatchesTheExplicitMaskedWeights) {
  const int64_t L = 530, D = 6;
  const double p = 0.25;
  const Case c = make_case(L, D, 21);
  // The mask of the call under seed 4, read through v = identity.
  auto weights = dropped_weights(c.q, c.k, c.mask, p, 4);  // (B, H, L, L)
  auto keep = (weights != 0).to(torch::kFloat64) / (1 - p);
  auto q = c.q.clone().requires_grad_(), k = c.k.clone().requires_grad_(),
       v = c.v.clone().requires_grad_();
  torch::manual_seed(4);
  blocked_softmax_attention(q, k, v, c.mask, p, 0.5).backward(c.grad);
  auto q2 = c.q.clone().requires_grad_(), k2 = c.k.clone().requires_grad_(),
       v2 = c.v.clone().requires_grad_();
  auto scores = torch::matmul(q2, k2.transpose(-2, -1)) * 0.5;
  scores = scores.masked_fill((c.mask == 0).view({3, 1, 1, L}), -INFINITY);
  torch::matmul(torch::softmax(scores, -1) * keep, v2).backward(c.grad);
  EXPECT_TRUE(torch::allclose(q.grad(), q2.grad(), 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(k.grad(), k2.grad(), 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(v.grad(), v2.grad(), 1e-10, 1e-12));
}

}  // namespace
}  // namespace lra
