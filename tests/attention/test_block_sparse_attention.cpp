// The block-sparse engine every sparse backend runs on: the fused CPU kernel and the op-composed
// path against the dense float64 reference, in values and gradients, for block and token key
// lists, the token rules (causal, band, exempt slots), keys listed twice, global rows, lengths
// that are not a block multiple, padding, batch 1 / one head and more threads than work.
#include <cmath>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/cpu/block_sparse_attention.h"
#include "attention/cpu/block_sparse_kernel.h"
#include "attention_test_util.h"

namespace lra::block_sparse_test {

using test::max_abs;
using test::random_inputs;

// Real rows (mask 1) of (B, H, L, d), others zero (whatever they held, NaN included).
torch::Tensor real_rows(const torch::Tensor& t, const torch::Tensor& mask) {
  return torch::where(mask.view({mask.size(0), 1, mask.size(1), 1}).gt(0), t, torch::zeros_like(t));
}

struct Case {
  std::string name;
  int64_t batch, heads, length, block;
  TokenRule rule;
  bool tokens;  // key_tokens (else key_blocks)
  int64_t global_blocks, exempt;
};

// A random layout: the first `global` blocks global, every other block listing 3 random key
// blocks (or 40 random key tokens, some twice, the first `exempt` of them exempt from the rule)
// plus its own block, so that causal and band rules always leave a key.
BlockSparseLayout random_layout(const Case& c, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t nb = (c.length + c.block - 1) / c.block, S = nb - c.global_blocks;
  BlockSparseLayout layout;
  layout.block_size = c.block;
  layout.sparse_rows = torch::arange(c.global_blocks, nb, torch::kInt64);
  layout.global_rows = torch::arange(0, c.global_blocks, torch::kInt64);
  layout.rule = c.rule;
  layout.band_left = 5;
  layout.band_right = 3;
  layout.rule_exempt_slots = c.exempt;
  auto own = layout.sparse_rows.view({1, S, 1}).expand({c.heads, S, 1});  // (H, S, 1)
  if (c.tokens) {
    auto picked = torch::randint(0, c.length, {c.heads, S, 40}, gen, torch::kInt64);
    picked.narrow(2, 7, 3).copy_(picked.narrow(2, 0, 3));  // listed twice
    picked.select(2, 12).fill_(-1);                        // an unused slot
    auto own_tokens = own * c.block + torch::arange(c.block, torch::kInt64).view({1, 1, -1});
    layout.key_tokens = torch::cat({picked, own_tokens}, 2);  // (H, S, 40 + bs)
  } else {
    auto picked = torch::randint(0, nb, {c.heads, S, 3}, gen, torch::kInt64);
    picked.select(2, 2).select(1, 0).fill_(-1);        // an unused slot in row 0
    layout.key_blocks = torch::cat({picked, own}, 2);  // (H, S, 4)
  }
  return layout;
}

const std::vector<Case> kCases = {
    {"blocks", 2, 2, 203, 16, TokenRule::kNone, false, 1, 0},
    {"blocks, batch 1, one head, no global", 1, 1, 100, 8, TokenRule::kNone, false, 0, 0},
    {"tokens, causal", 2, 2, 150, 16, TokenRule::kCausal, true, 0, 0},
    {"tokens, band, exempt slots", 2, 3, 129, 32, TokenRule::kBand, true, 1, 4},
    {"blocks, band", 1, 2, 96, 16, TokenRule::kBand, false, 2, 0},
};

// float64 inputs, the last third of batch row 0 padded, the first real keys of row 1 padded too
// (a hole, not only a tail).
test::Inputs inputs_for(const Case& c) {
  auto in = random_inputs(c.batch, c.heads, c.length, 8, 3, c.length / 3);
  if (c.batch > 1) in.mask.index_put_({1, torch::indexing::Slice(0, 5)}, 0.0);
  return in;
}

TEST(BlockSparseAttention, KernelAndOpsMatchTheDenseReferenceInValuesAndGradients) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    auto in = inputs_for(c);
    auto layout = random_layout(c, 11);
    std::vector<torch::Tensor> x = {in.q.clone().requires_grad_(), in.k.clone().requires_grad_(),
                                    in.v.clone().requires_grad_()};
    auto slow = block_sparse_attention_reference(x[0], x[1], x[2], in.mask, layout);
    auto weight = real_rows(torch::randn_like(in.v), in.mask);
    auto g_slow = torch::autograd::grad({(slow * weight).sum()}, x);
    const double scale = 1.0 / std::sqrt(8.0);
    for (const std::string path : {"kernel", "ops"}) {
      SCOPED_TRACE(path);
      auto out = path == "kernel" ? block_sparse_kernel(x[0], x[1], x[2], in.mask, layout, scale)
                                  : block_sparse_attention_ops(x[0], x[1], x[2], in.mask, layout);
      EXPECT_LT(max_abs(real_rows(out - slow, in.mask)), 1e-12);
      auto g = torch::autograd::grad({(out * weight).sum()}, x);
      for (size_t i = 0; i < 3; ++i) EXPECT_LT(max_abs(g[i] - g_slow[i]), 1e-11) << "grad " << i;
    }
  }
}

TEST(BlockSparseAttention, Float32KernelMatchesFloat64AndTakesTheCpuPath) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    auto in = inputs_for(c);
    auto layout = random_layout(c, 5);
    auto exact = block_sparse_attention_reference(in.q, in.k, in.v, in.mask, layout);
    auto q = in.q.to(torch::kFloat), k = in.k.to(torch::kFloat), v = in.v.to(torch::kFloat);
    ASSERT_TRUE(block_sparse_kernel_supported(q));
    auto out = block_sparse_attention(q, k, v, in.mask.to(torch::kFloat), layout);
    EXPECT_LT(max_abs(real_rows(out.to(torch::kFloat64) - exact, in.mask)), 1e-5);
  }
}

// Threads beyond the (batch x head) slices split a slice's query blocks, each into its own key
// gradient copy: the same numbers as one thread.
TEST(BlockSparseAttention, MoreThreadsThanSlicesGiveTheSameResult) {
  const Case c{"one slice", 1, 1, 203, 16, TokenRule::kCausal, true, 1, 2};
  auto in = inputs_for(c);
  auto layout = random_layout(c, 9);
  const int saved = at::get_num_threads();
  std::vector<std::vector<torch::Tensor>> results;
  for (int threads : {1, 4}) {
    at::set_num_threads(threads);
    std::vector<torch::Tensor> x = {in.q.clone().requires_grad_(), in.k.clone().requires_grad_(),
                                    in.v.clone().requires_grad_()};
    auto out = block_sparse_attention(x[0], x[1], x[2], in.mask, layout);
    auto g = torch::autograd::grad({out.sum()}, x);
    results.push_back({out, g[0], g[1], g[2]});
  }
  at::set_num_threads(saved);
  for (size_t i = 0; i < 4; ++i) EXPECT_LT(max_abs(results[0][i] - results[1][i]), 1e-12) << i;
}

// The rules read literally on a small case: block 1 of 4-token blocks lists keys 0..11 (causal:
// query i sees j <= i; band 1, 1: |i - j| <= 1; the first 2 slots exempt from it).
TEST(BlockSparseAttention, MultiplicityAppliesTheRuleTokenByToken) {
  BlockSparseLayout layout;
  layout.block_size = 4;
  layout.sparse_rows = torch::tensor({1}, torch::kInt64);
  layout.global_rows = torch::tensor({0, 2}, torch::kInt64);
  layout.key_tokens = torch::arange(12, torch::kInt64).view({1, 1, 12});
  for (auto rule : {TokenRule::kNone, TokenRule::kCausal, TokenRule::kBand}) {
    layout.rule = rule;
    layout.band_left = layout.band_right = 1;
    layout.rule_exempt_slots = rule == TokenRule::kBand ? 2 : 0;
    auto count = block_sparse_multiplicity(layout, 1, 12)[0];  // (L, L)
    for (int64_t i = 4; i < 8; ++i)
      for (int64_t j = 0; j < 12; ++j) {
        const bool seen = rule == TokenRule::kNone     ? true
                          : rule == TokenRule::kCausal ? j <= i
                                                       : j < 2 || std::abs(i - j) <= 1;
        EXPECT_EQ(count[i][j].item<double>(), seen ? 1.0 : 0.0) << i << "," << j;
      }
    EXPECT_EQ(count.narrow(0, 0, 4).sum().item<double>(), 48.0);  // global rows see all 12
  }
}

// Every key a real row sees is padded: uniform weights over those keys, on both paths.
TEST(BlockSparseAttention, RowsWhoseKeysAreAllPaddedWeighThemUniformly) {
  BlockSparseLayout layout;
  layout.block_size = 4;
  layout.sparse_rows = torch::tensor({0, 1}, torch::kInt64);
  layout.global_rows = torch::empty({0}, torch::kInt64);
  layout.key_blocks = torch::tensor({1, 0}, torch::kInt64).view({1, 2, 1});  // 0 <-> 1
  auto in = random_inputs(1, 1, 8, 4, 2);
  in.mask.narrow(1, 4, 4).fill_(0.0);  // block 1 padded: block 0 sees only padded keys
  auto expected = in.v.narrow(2, 4, 4).mean(2, true).expand({1, 1, 4, 4});
  for (bool kernel : {true, false}) {
    auto out = kernel ? block_sparse_attention(in.q, in.k, in.v, in.mask, layout)
                      : block_sparse_attention_ops(in.q, in.k, in.v, in.mask, layout);
    EXPECT_LT(max_abs(out.narrow(2, 0, 4) - expected), 1e-12) << kernel;
  }
}

}  // namespace lra::block_sparse_test

namespace lra::block_sparse_test {

// The kernel's bias and log-sum-exp (what reformer's rounds need): against a dense loop over the
// listed slots, every slot's exp(score + its bias) added to its key's weight, in values, the
// log-normaliser and the gradients of a loss that reads both; a list with unused slots, so that
// slots and keys are not aligned.
TEST(BlockSparseAttention, BiasAndLogNormaliserMatchADenseLoop) {
  const int64_t B = 2, H = 2, L = 48, bs = 8, d = 4;
  auto in = random_inputs(B, H, L, d, 17, 5);
  Case c{"tokens", B, H, L, bs, TokenRule::kNone, true, 0, 0};
  auto layout = random_layout(c, 23);
  const int64_t S = layout.sparse_rows.numel(), M = layout.key_tokens.size(2);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(29);
  auto bias = torch::randn({B, H, S, bs, M}, gen, torch::kFloat64);
  std::vector<torch::Tensor> x = {in.q.clone().requires_grad_(), in.k.clone().requires_grad_(),
                                  in.v.clone().requires_grad_()};
  // Dense: weights (B, H, L, L) summed slot by slot.
  const double scale = 0.5;
  auto scores = torch::matmul(x[0], x[1].transpose(-2, -1)) * scale;  // (B, H, L, L)
  auto tokens = layout.key_tokens.accessor<int64_t, 3>();
  std::vector<torch::Tensor> rows;
  for (int64_t s = 0; s < S; ++s)
    for (int64_t r = 0; r < bs; ++r) {
      const int64_t i = s * bs + r;
      std::vector<torch::Tensor> heads;
      for (int64_t h = 0; h < H; ++h) {
        auto weight = torch::zeros({B, L}, torch::kFloat64);
        for (int64_t slot = 0; slot < M; ++slot) {
          const int64_t j = tokens[h][s][slot];
          if (j < 0 || j >= L) continue;
          auto term = torch::exp(scores.select(2, i).select(1, h).select(1, j) +
                                 bias.select(1, h).select(1, s).select(1, r).select(1, slot)) *
                      in.mask.select(1, j);  // (B)
          auto one_hot = torch::zeros({L}, torch::kFloat64).index_fill_(0, torch::tensor({j}), 1.0);
          weight = weight + term.unsqueeze(1) * one_hot;
        }
        heads.push_back(weight);
      }
      auto weight = torch::stack(heads, 1);  // (B, H, L)
      rows.push_back(weight);
    }
  auto w = torch::stack(rows, 2);                             // (B, H, L, L)
  auto dense_lse = torch::log(w.sum(-1));                     // (B, H, L)
  auto dense_out = torch::matmul(w / w.sum(-1, true), x[2]);  // (B, H, L, d)
  auto [out, lse] = block_sparse_kernel_with_lse(x[0], x[1], x[2], in.mask, layout, scale, bias);
  EXPECT_LT(max_abs(out - dense_out), 1e-12);
  EXPECT_LT(max_abs(lse - dense_lse), 1e-12);
  auto gw = torch::randn_like(in.v), gl = torch::randn({B, H, L}, torch::kFloat64);
  auto g_fast = torch::autograd::grad({(out * gw).sum() + (lse * gl).sum()}, x);
  auto g_dense = torch::autograd::grad({(dense_out * gw).sum() + (dense_lse * gl).sum()}, x);
  for (size_t i = 0; i < 3; ++i) EXPECT_LT(max_abs(g_fast[i] - g_dense[i]), 1e-11) << i;
}

}  // namespace lra::block_sparse_test
