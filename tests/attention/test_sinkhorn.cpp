// sinkhorn: the Sinkhorn balancing against float64 loops; the sorted-block attention against a
// float64 dense reference written from the paper's definition (an (L x L) block permutation
// matrix, one softmax over the block's keys and its sorted block's), with the permutation given
// as input, in values and gradients; the module end to end from its own sort network and Gumbel
// draw; padding; the exact limits; the LRA code's form against its computation read token by
// token; draws, checkpoints and resuming; config refusals.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "attention/sinkhorn_attention.h"
#include "attention_test_util.h"
#include "config/config.h"

namespace lra::sinkhorn_test {

using test::max_abs;
using test::random_inputs;

AttentionConfig sinkhorn_config(int64_t block, const std::string& convention = "paper") {
  AttentionConfig c;
  c.type = "sinkhorn";
  c.block_size = block;
  c.convention = convention;
  return c;
}

// A float64 module built for sequences up to max_length.
AttentionPtr sinkhorn_module(const AttentionConfig& config, int64_t max_length, int64_t heads = 2,
                             int64_t head_dim = 4, uint64_t seed = 7) {
  auto context = test::test_context(heads, head_dim, 0.0, seed);
  context.max_length = max_length;
  auto module = make_attention(config, context);
  module->to(torch::kFloat64);
  return module;
}

torch::Tensor real_rows(const torch::Tensor& t, const torch::Tensor& mask) {
  return t * mask.view({mask.size(0), 1, mask.size(1), 1});
}

// Sinkhorn balancing in the probability domain: exp(logits / temperature) on the support, then
// rows and columns divided by their sums, `iterations` times.
torch::Tensor naive_sinkhorn(const torch::Tensor& logits, const torch::Tensor& support,
                             int64_t iterations, double temperature) {
  auto p = torch::exp(logits / temperature) * support.to(torch::kFloat64);
  for (int64_t it = 0; it < iterations; ++it) {
    p = p / p.sum(-1, true);
    p = p / p.sum(-2, true);
  }
  return p;
}

// (B, H, L, 2L) bool: which of [the keys; the sorted slots] query token t may attend, read from
// the definition: its own block's real keys, and the slots of its sorted block that real keys
// have weight in.
torch::Tensor allowed_keys(const torch::Tensor& mask, const torch::Tensor& permutation,
                           int64_t block) {
  const int64_t B = mask.size(0), H = permutation.size(1), L = mask.size(1), N = L / block;
  auto allowed = torch::zeros({B, H, L, 2 * L}, torch::kBool);
  auto m = mask.accessor<double, 2>();
  auto p = permutation.detach().contiguous();
  auto pa = p.accessor<double, 4>();
  auto a = allowed.accessor<bool, 4>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < L; ++t) {
        const int64_t i = t / block;
        for (int64_t u = i * block; u < (i + 1) * block; ++u) a[b][h][t][u] = m[b][u] != 0;
        for (int64_t slot = 0; slot < block; ++slot) {
          double real_weight = 0;
          for (int64_t j = 0; j < N; ++j) real_weight += pa[b][h][i][j] * m[b][j * block + slot];
          a[b][h][t][L + i * block + slot] = real_weight > 0;
        }
      }
  return allowed;
}

// The paper's attention, dense: M = P (x) I_block (L x L) sorts the zero-padded keys and values
// (M K, M V); every query weighs exp(q.key / sqrt(d)) over the allowed [K; M K].
torch::Tensor dense_sinkhorn(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& mask, const torch::Tensor& permutation,
                             int64_t block) {
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), N = L / block;
  auto eye = torch::eye(block, torch::kFloat64).view({1, 1, 1, block, 1, block});
  auto sort_matrix =
      (permutation.reshape({B, H, N, 1, N, 1}) * eye).reshape({B, H, L, L});  // (B, H, L, L)
  auto real = mask.view({B, 1, L, 1});
  auto keys = torch::cat({k * real, torch::matmul(sort_matrix, k * real)}, 2);    // (B, H, 2L, d)
  auto values = torch::cat({v * real, torch::matmul(sort_matrix, v * real)}, 2);  // (B, H, 2L, d)
  auto scores = torch::matmul(q, keys.transpose(-2, -1)) / std::sqrt(double(q.size(3)));
  auto e = torch::exp(scores) * allowed_keys(mask, permutation, block);
  return torch::matmul(e / e.sum(-1, true).clamp_min(1e-300), values);  // 0 without keys
}

// The module's permutation, recomputed from its parameters by the definition: block sums of the
// real keys, relu(. W + bias), plus the step's Gumbel noise while training, balanced in the
// probability domain.
torch::Tensor module_permutation(AttentionBackend& module, const torch::Tensor& k,
                                 const torch::Tensor& mask, int64_t block, int64_t max_blocks,
                                 int64_t draw, const AttentionConfig& config) {
  const int64_t B = k.size(0), H = k.size(1), N = k.size(2) / block, d = k.size(3);
  auto params = module.named_parameters();
  auto sums = (k * mask.view({B, 1, -1, 1})).view({B, H, N, block, d}).sum(3);  // (B, H, N, d)
  auto logits = torch::relu(torch::matmul(sums, params["sort_weight"].narrow(1, 0, N)) +
                            params["sort_bias"].narrow(0, 0, N));
  if (module.is_training())
    logits =
        logits + sinkhorn::gumbel_noise(7, draw, B, H, max_blocks).narrow(2, 0, N).narrow(3, 0, N);
  auto support = sinkhorn::permutation_support(sinkhorn::real_blocks(mask, block));
  return naive_sinkhorn(logits, support, config.sinkhorn_iterations, config.temperature);
}

TEST(SinkhornSort, BalancingMatchesProbabilityDomainLoops) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const int64_t B = 2, H = 2, N = 5, block = 4;
  auto logits = torch::randn({B, H, N, N}, gen, torch::kFloat64) * 2;
  auto mask = torch::ones({B, N * block}, torch::kFloat64);
  mask[0].narrow(0, 2 * block + 1, 3 * block - 1).zero_();  // batch 0: blocks 3 and 4 padding
  auto support = sinkhorn::permutation_support(sinkhorn::real_blocks(mask, block));
  for (int64_t iterations : {1, 3, 8})
    for (double temperature : {0.3, 1.0}) {
      auto fast =
          sinkhorn::sinkhorn_log_permutation(logits, support, iterations, temperature).exp();
      EXPECT_LT(max_abs(fast - naive_sinkhorn(logits, support, iterations, temperature)), 1e-12);
    }
  // Balanced: columns sum to 1 after each step, rows on convergence; a real block mixes real
  // blocks only (exactly 0 elsewhere) and a padding block keeps itself.
  auto p = sinkhorn::sinkhorn_log_permutation(logits, support, 1000, 0.5).exp();
  EXPECT_LT(max_abs(p.sum(-2) - 1), 1e-12);
  EXPECT_LT(max_abs(p.sum(-1) - 1), 1e-12);
  EXPECT_EQ(p[0].narrow(1, 0, 3).narrow(2, 3, 2).abs().max().item<double>(), 0.0);
  EXPECT_EQ(p[0].narrow(1, 3, 2).narrow(2, 0, 3).abs().max().item<double>(), 0.0);
  EXPECT_EQ(p[0][1][3][3].item<double>(), 1.0);
  EXPECT_EQ(p[0][1][4][4].item<double>(), 1.0);
}

// Permutations given as input: balanced random logits, a hard reversal of the blocks (which
// sorts padding blocks into real ones) and the identity, which is block-local softmax.
TEST(Sinkhorn, SortedBlocksMatchDenseReferenceInValuesAndGradients) {
  struct Case {
    int64_t batch, heads, blocks, block, pad;
  };
  for (const Case c : {Case{2, 2, 5, 8, 13}, Case{1, 1, 3, 4, 0}, Case{2, 3, 4, 3, 5}}) {
    SCOPED_TRACE("B=" + std::to_string(c.batch) + " H=" + std::to_string(c.heads) +
                 " blocks=" + std::to_string(c.blocks));
    const int64_t L = c.blocks * c.block, d = 4;
    auto in = random_inputs(c.batch, c.heads, L, d, 11 + L, c.pad);
    auto support = sinkhorn::permutation_support(sinkhorn::real_blocks(in.mask, c.block));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
    auto logits = torch::randn({c.batch, c.heads, c.blocks, c.blocks}, gen, torch::kFloat64);
    auto shape = logits.sizes();
    const std::vector<torch::Tensor> permutations = {
        sinkhorn::sinkhorn_log_permutation(logits, support, 4, 0.75).exp(),
        torch::eye(c.blocks, torch::kFloat64).flip({1}).expand(shape).contiguous(),
        torch::eye(c.blocks, torch::kFloat64).expand(shape).contiguous()};
    auto weight = torch::randn({c.batch, c.heads, L, d}, gen, torch::kFloat64);
    auto run = [&](bool dense, const torch::Tensor& p, std::vector<torch::Tensor>& grads) {
      std::vector<torch::Tensor> x = {in.q.clone().requires_grad_(), in.k.clone().requires_grad_(),
                                      in.v.clone().requires_grad_(), p.clone().requires_grad_()};
      auto out = dense ? dense_sinkhorn(x[0], x[1], x[2], in.mask, x[3], c.block)
                       : sinkhorn::sorted_block_attention(x[0], x[1], x[2], in.mask, x[3], c.block,
                                                          0.0, false);
      (real_rows(out, in.mask) * weight).sum().backward();
      grads = {x[0].grad(), x[1].grad(), x[2].grad(), x[3].grad()};
      return real_rows(out, in.mask).detach();
    };
    for (size_t which = 0; which < permutations.size(); ++which) {
      std::vector<torch::Tensor> fast_grads, dense_grads;
      auto fast = run(false, permutations[which], fast_grads);
      auto dense = run(true, permutations[which], dense_grads);
      EXPECT_LT(max_abs(fast - dense), 1e-12) << "permutation " << which;
      for (size_t i = 0; i < 4; ++i)
        EXPECT_LT(max_abs(fast_grads[i] - dense_grads[i]), 1e-11) << which << " input " << i;
    }
    // The identity: every real key of the block counted twice, i.e. block-local softmax.
    auto local = sinkhorn::sorted_block_attention(in.q, in.k, in.v, in.mask, permutations[2],
                                                  c.block, 0.0, false);
    auto same_block = (torch::arange(L).div(c.block, "floor").unsqueeze(1) ==
                       torch::arange(L).div(c.block, "floor").unsqueeze(0));  // (L, L)
    auto scores = torch::matmul(in.q, in.k.transpose(-2, -1)) / std::sqrt(double(d));
    auto e = torch::exp(scores) * same_block * in.mask.view({c.batch, 1, 1, L});
    auto expected = torch::matmul(e / e.sum(-1, true).clamp_min(1e-300), in.v);
    EXPECT_LT(max_abs(real_rows(local - expected, in.mask)), 1e-12);
  }
}

TEST(Sinkhorn, ModuleMatchesItsDefinitionInValuesAndGradients) {
  const int64_t L = 37, block = 8, N = 5, max_length = 48, max_blocks = 6;
  auto config = sinkhorn_config(block);
  config.sinkhorn_iterations = 3;
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "evaluation");
    auto module = sinkhorn_module(config, max_length);
    module->train(training);
    module->on_train_step(3);
    auto in = random_inputs(2, 2, L, 4, 21, 9);
    std::vector<torch::Tensor> x = {in.q.clone().requires_grad_(), in.k.clone().requires_grad_(),
                                    in.v.clone().requires_grad_()};
    auto weight =
        torch::randn({2, 2, L, 4}, at::make_generator<at::CPUGeneratorImpl>(4), torch::kFloat64) *
        in.mask.view({2, 1, L, 1});
    auto out = module->forward(x[0], x[1], x[2], in.mask);
    (out * weight).sum().backward();
    auto params = module->named_parameters();
    std::vector<torch::Tensor> fast = {x[0].grad(), x[1].grad(), x[2].grad(),
                                       params["sort_weight"].grad().clone(),
                                       params["sort_bias"].grad().clone()};
    // The definition on the block-padded sequence (40 tokens).
    module->zero_grad();
    std::vector<torch::Tensor> y = {in.q.clone().requires_grad_(), in.k.clone().requires_grad_(),
                                    in.v.clone().requires_grad_()};
    auto pad = [&](const torch::Tensor& t) {
      return torch::constant_pad_nd(t, {0, 0, 0, N * block - L}, 0.0);
    };
    auto mask = torch::constant_pad_nd(in.mask, {0, N * block - L}, 0.0);
    auto p = module_permutation(*module, pad(y[1]), mask, block, max_blocks, 3, config);
    auto expected = dense_sinkhorn(pad(y[0]), pad(y[1]), pad(y[2]), mask, p, block).narrow(2, 0, L);
    (expected * weight).sum().backward();
    std::vector<torch::Tensor> dense = {y[0].grad(), y[1].grad(), y[2].grad(),
                                        params["sort_weight"].grad(), params["sort_bias"].grad()};
    EXPECT_LT(max_abs(real_rows(out - expected, in.mask)), 1e-12);
    for (size_t i = 0; i < fast.size(); ++i) EXPECT_LT(max_abs(fast[i] - dense[i]), 1e-11) << i;
    EXPECT_GT(max_abs(fast[3]), 1e-6);  // the sort network learns
  }
}

// Real rows do not see the padding: garbage in padded positions changes nothing, the padded
// keys' gradients are exactly zero, and the real rows equal a run on the real prefix alone
// (fewer blocks), in training (Gumbel noise) and in evaluation.
TEST(Sinkhorn, PaddingInvarianceAndExactlyZeroWeightOnPaddedKeys) {
  const int64_t L = 45, pad = 19, block = 8, d = 4;
  for (bool training : {true, false}) {
    auto module = sinkhorn_module(sinkhorn_config(block), 48);
    module->train(training);
    module->on_train_step(2);
    auto in = random_inputs(2, 2, L, d, 31, pad);
    auto garbage = random_inputs(2, 2, L, d, 32, pad, 100.0);
    auto is_pad = (in.mask == 0).view({2, 1, L, 1});
    auto q = torch::where(is_pad, garbage.q, in.q);
    auto k = torch::where(is_pad, garbage.k, in.k).requires_grad_();
    auto v = torch::where(is_pad, garbage.v * 1e3, in.v).requires_grad_();
    auto clean = module->forward(in.q, in.k, in.v, in.mask);
    auto noisy = module->forward(q, k, v, in.mask);
    real_rows(noisy, in.mask).sum().backward();
    auto prefix = [&](const torch::Tensor& t) { return t.narrow(0, 0, 1).narrow(2, 0, L - pad); };
    auto alone = module->forward(prefix(in.q), prefix(in.k), prefix(in.v),
                                 torch::ones({1, L - pad}, torch::kFloat64));
    EXPECT_LT(max_abs(real_rows(clean - noisy, in.mask)), 1e-12);
    EXPECT_LT(max_abs(prefix(clean) - alone), 1e-12);
    auto padded_grads = [&](const torch::Tensor& g) {
      return g.narrow(0, 0, 1).narrow(2, L - pad, pad);
    };
    EXPECT_EQ(max_abs(padded_grads(k.grad())), 0.0);
    EXPECT_EQ(max_abs(padded_grads(v.grad())), 0.0);
  }
}

// One block holds the sequence: softmax attention, by the module's exact branch and by the
// sorted-block path itself (a 1 x 1 permutation is 1: the block's keys listed twice).
TEST(Sinkhorn, OneBlockIsExactSoftmax) {
  auto in = random_inputs(2, 2, 16, 4, 41, 5);
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  auto module = sinkhorn_module(sinkhorn_config(16), 16);
  EXPECT_LT(max_abs(real_rows(module->forward(in.q, in.k, in.v, in.mask) - exact, in.mask)), 1e-12);
  auto support = sinkhorn::permutation_support(sinkhorn::real_blocks(in.mask, 16));
  auto logits = torch::randn({2, 2, 1, 1}, torch::kFloat64);
  auto p = sinkhorn::sinkhorn_log_permutation(logits, support, 5, 0.75).exp();
  EXPECT_TRUE(torch::equal(p, torch::ones_like(p)));
  auto general = sinkhorn::sorted_block_attention(in.q, in.k, in.v, in.mask, p, 16, 0.0, false);
  EXPECT_LT(max_abs(real_rows(general - exact, in.mask)), 1e-12);
  EXPECT_NE(attention_backend("sinkhorn").exact_reason(sinkhorn_config(16), 16), "");
  EXPECT_EQ(attention_backend("sinkhorn").exact_reason(sinkhorn_config(16), 17), "");
  EXPECT_EQ(attention_backend("sinkhorn").exact_reason(sinkhorn_config(16, "lra_code"), 16), "");
}

// The LRA code's SinkhornAttention read token by token (sort_activation softmax): query token
// t = s nb + n attends, softmax 1, to keys s' nb + n with the bias -1e10 unless tokens n b + s and
// n b + s' are both real (its padding mask, reshaped the other way); softmax 2, to the sums over
// c of k[s' nb + c] (values likewise), biased unless some c has c b + s and c b + s' real; the two
// outputs added.
torch::Tensor loop_lra_code(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            const torch::Tensor& mask, int64_t block) {
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), nb = L / block;
  const double scale = 1.0 / std::sqrt(double(q.size(3)));
  auto m = [&](int64_t b, int64_t t) { return mask[b][t].item<double>() != 0; };
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < L; ++t) {
        const int64_t s = t / nb, n = t % nb;
        std::vector<torch::Tensor> local_scores, local_values, sum_scores, sum_values;
        for (int64_t s2 = 0; s2 < block; ++s2) {
          const int64_t u = s2 * nb + n;
          const double bias = m(b, n * block + s) && m(b, n * block + s2) ? 0.0 : -1e10;
          local_scores.push_back(q[b][h][t].dot(k[b][h][u]) * scale + bias);
          local_values.push_back(v[b][h][u]);
          bool shared = false;
          for (int64_t c = 0; c < nb; ++c) shared |= m(b, c * block + s) && m(b, c * block + s2);
          auto key_sum = k[b][h].narrow(0, s2 * nb, nb).sum(0);
          sum_scores.push_back(q[b][h][t].dot(key_sum) * scale + (shared ? 0.0 : -1e10));
          sum_values.push_back(v[b][h].narrow(0, s2 * nb, nb).sum(0));
        }
        auto w1 = torch::softmax(torch::stack(local_scores), 0);
        auto w2 = torch::softmax(torch::stack(sum_scores), 0);
        rows.push_back(torch::matmul(w1, torch::stack(local_values)) +
                       torch::matmul(w2, torch::stack(sum_values)));
      }
  return torch::stack(rows).view({B, H, L, q.size(3)});
}

TEST(Sinkhorn, LraCodeConventionIsTheCodesComputation) {
  const int64_t L = 24, block = 4, d = 3;
  auto module = sinkhorn_module(sinkhorn_config(block, "lra_code"), L, 2, d);
  EXPECT_TRUE(module->parameters().empty());  // its sort network would get no gradient
  for (int64_t pad : {int64_t{0}, int64_t{7}}) {
    auto in = random_inputs(2, 2, L, d, 51, pad);
    std::vector<torch::Tensor> x = {in.q.clone().requires_grad_(), in.k.clone().requires_grad_(),
                                    in.v.clone().requires_grad_()};
    std::vector<torch::Tensor> y = {in.q.clone().requires_grad_(), in.k.clone().requires_grad_(),
                                    in.v.clone().requires_grad_()};
    auto fast = module->forward(x[0], x[1], x[2], in.mask);
    auto loops = loop_lra_code(y[0], y[1], y[2], in.mask, block);
    EXPECT_LT(max_abs(fast - loops), 1e-12) << "pad " << pad;  // every row, as the code
    auto weight = torch::randn_like(fast);
    (fast * weight).sum().backward();
    (loops * weight).sum().backward();
    for (size_t i = 0; i < 3; ++i) EXPECT_LT(max_abs(x[i].grad() - y[i].grad()), 1e-11) << i;
  }
  // One block (nb = 1): both attentions are softmax over the same keys, so twice softmax.
  auto in = random_inputs(1, 2, 8, d, 52);
  auto whole = sinkhorn_module(sinkhorn_config(8, "lra_code"), 8, 2, d);
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  EXPECT_LT(max_abs(whole->forward(in.q, in.k, in.v, in.mask) - 2 * exact), 1e-12);
}

// The noise is draw `step` of the layer seed: a new one every training step, none in
// evaluation, restored bit for bit by a checkpoint; a run resumed from a checkpoint continues
// identically.
TEST(Sinkhorn, DrawsAreSeededCheckpointedAndBitIdenticalOnResume) {
  auto config = sinkhorn_config(4);
  auto in = random_inputs(2, 2, 20, 4, 61, 3);
  auto source = sinkhorn_module(config, 20, 2, 4, /*seed=*/1);
  auto step0 = source->forward(in.q, in.k, in.v, in.mask);
  source->on_train_step(1);
  auto step1 = source->forward(in.q, in.k, in.v, in.mask);
  EXPECT_FALSE(torch::equal(step0, step1));
  EXPECT_TRUE(torch::equal(step1, source->forward(in.q, in.k, in.v, in.mask)));
  source->eval();
  auto eval1 = source->forward(in.q, in.k, in.v, in.mask);
  source->on_train_step(5);
  EXPECT_TRUE(torch::equal(eval1, source->forward(in.q, in.k, in.v, in.mask)));
  source->train();
  auto twin = sinkhorn_module(config, 20, 2, 4, /*seed=*/1);
  auto other = sinkhorn_module(config, 20, 2, 4, /*seed=*/2);
  EXPECT_TRUE(torch::equal(step0, twin->forward(in.q, in.k, in.v, in.mask)));
  EXPECT_FALSE(torch::equal(step0, other->forward(in.q, in.k, in.v, in.mask)));

  // Training: 4 steps straight, against 2 steps, a checkpoint, a fresh module loading it and 2
  // more steps.
  auto train = [&](AttentionPtr module, int64_t from, int64_t to) {
    torch::optim::SGD sgd(module->parameters(), torch::optim::SGDOptions(0.1));
    for (int64_t step = from; step <= to; ++step) {
      sgd.zero_grad();
      module->forward(in.q, in.k, in.v, in.mask).pow(2).sum().backward();
      sgd.step();
      module->on_train_step(step);
    }
  };
  auto straight = sinkhorn_module(config, 20, 2, 4, /*seed=*/3);
  train(straight, 1, 4);
  auto first = sinkhorn_module(config, 20, 2, 4, /*seed=*/3);
  train(first, 1, 2);
  const std::string path = ::testing::TempDir() + "sinkhorn_resume.pt";
  torch::save(first, path);
  auto resumed = sinkhorn_module(config, 20, 2, 4, /*seed=*/9);
  torch::load(resumed, path);
  std::remove(path.c_str());
  train(resumed, 3, 4);
  for (const auto& p : straight->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), resumed->named_parameters()[p.key()])) << p.key();
  EXPECT_TRUE(torch::equal(straight->forward(in.q, in.k, in.v, in.mask),
                           resumed->forward(in.q, in.k, in.v, in.mask)));
}

TEST(Sinkhorn, Float32MatchesFloat64AndFlopsCountTheSort) {
  auto in = random_inputs(2, 2, 50, 8, 71, 6);
  auto config = sinkhorn_config(8);
  auto d64 = sinkhorn_module(config, 64, 2, 8)->forward(in.q, in.k, in.v, in.mask);
  auto f32 = make_attention(config,
                            [] {
                              auto c = test::test_context(2, 8, 0.0, 7);
                              c.max_length = 64;
                              return c;
                            }())
                 ->forward(in.q.to(torch::kFloat32), in.k.to(torch::kFloat32),
                           in.v.to(torch::kFloat32), in.mask.to(torch::kFloat32));
  EXPECT_EQ(f32.scalar_type(), torch::kFloat32);
  EXPECT_LT(max_abs(real_rows(f32.to(torch::kFloat64) - d64, in.mask)), 1e-4);
  // B = 1, H = 1, L = 64, d = 8, b = 16: N = 4 blocks. Attention 2 x 2 x 64 x 32 x 8, sort net
  // 2 x 4 x 8 x 4, permutation times keys and values 2 x 2 x 16 x 16 x 8.
  auto module = sinkhorn_module(sinkhorn_config(16), 64, 1, 8);
  const auto count = attention_implementation("sinkhorn").flops({1, 1, 64, 8}, *module);
  EXPECT_DOUBLE_EQ(count.forward, 2 * 2 * 64 * 32 * 8 + 2 * 4 * 8 * 4 + 2 * 2 * 16 * 16 * 8);
  EXPECT_DOUBLE_EQ(count.backward, 2 * count.forward);
  auto code = sinkhorn_module(sinkhorn_config(16, "lra_code"), 64, 1, 8);
  EXPECT_DOUBLE_EQ(attention_implementation("sinkhorn").flops({1, 1, 64, 8}, *code).forward,
                   2 * 2 * 64 * 32 * 8);
}

TEST(Sinkhorn, BadSettingsAreRefusedAtLoadNamingTheKey) {
  auto errors_of = [](AttentionConfig c, int64_t padded) {
    std::string all;
    for (const auto& e : attention_config_errors(c, padded)) all += e + "\n";
    return all;
  };
  auto c = sinkhorn_config(50);
  EXPECT_EQ(errors_of(c, 2000), "");
  EXPECT_EQ(errors_of(c, 2001), "");  // the paper's form pads the last block
  EXPECT_NE(errors_of(c, 40).find("attention.block_size: 50 is longer"), std::string::npos);
  auto code = sinkhorn_config(50, "lra_code");
  EXPECT_EQ(errors_of(code, 2000), "");
  EXPECT_NE(errors_of(code, 2001).find("attention.block_size: 50 does not divide"),
            std::string::npos);
  auto zero = c;
  zero.sinkhorn_iterations = 0;
  EXPECT_NE(errors_of(zero, 2000).find("attention.sinkhorn_iterations: 0"), std::string::npos);
  auto cold = c;
  cold.temperature = 0.0;
  EXPECT_NE(errors_of(cold, 2000).find("attention.temperature: 0"), std::string::npos);
  auto unread = code;
  unread.sinkhorn_iterations = 3;
  EXPECT_NE(errors_of(unread, 2000).find("attention.sinkhorn_iterations: 3 is set"),
            std::string::npos);
  unread = code;
  unread.temperature = 0.5;
  EXPECT_NE(errors_of(unread, 2000).find("attention.temperature: 0.5 is set"), std::string::npos);
  auto skyformer = c;
  skyformer.convention = "skyformer_code";
  EXPECT_NE(errors_of(skyformer, 2000).find("attention.convention: skyformer_code"),
            std::string::npos);
  // Through the config reader: refused before anything runs, naming the key.
  try {
    load_config_text("", {"attention.type=sinkhorn", "attention.block_size=4096"});
    ADD_FAILURE() << "accepted a block longer than the padded length";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("attention.block_size: 4096"), std::string::npos)
        << e.what();
  }
}

}  // namespace lra::sinkhorn_test
