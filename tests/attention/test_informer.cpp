// informer (ProbSparse attention): the fast path against its float64 reference given the same
// sampled positions, in values and gradients; padding; the exact limit u >= n; ties in the
// sparsity measure; the draws (where they may fall, their seeds, checkpoints, evaluation); the
// Skyformer-code convention; and the settings refused at load time.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/backends/informer.h"
#include "attention/exact_softmax.h"
#include "attention/flop_count.h"
#include "attention_test_util.h"

namespace lra {
namespace {

using backends::informer::prob_sparse_attention;
using backends::informer::prob_sparse_count;
using backends::informer::prob_sparse_reference;
using backends::informer::sample_key_positions;
using backends::informer::sampling_factor;
using backends::informer::sparsity_measure;
using test::make_backend;
using test::max_abs;
using test::random_inputs;

// informer with the sampling factor c given directly (attention.features 0), so that u = c
// ceil(ln n) is far below n at the tests' lengths.
AttentionConfig informer_with_factor(double c) {
  auto config = test::attention_config("informer", 0);
  config.sampling_factor = c;
  return config;
}

// Gradients of sum(out * weight) over the real queries' rows with respect to q, k, v.
std::vector<torch::Tensor> input_grads(
    const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&,
                                      const torch::Tensor&)>& attention,
    const test::Inputs& in, const torch::Tensor& weight) {
  auto q = in.q.clone().requires_grad_(true), k = in.k.clone().requires_grad_(true),
       v = in.v.clone().requires_grad_(true);
  auto real_rows = in.mask.unsqueeze(1).unsqueeze(-1);
  auto grads = torch::autograd::grad({(attention(q, k, v) * weight * real_rows).sum()}, {q, k, v});
  return {grads[0], grads[1], grads[2]};
}

TEST(Informer, CountsAndFactorFollowTheSkyformerConfig) {
  // ListOps in the Skyformer config: in_nb_features 128, max_seq_len 2000 (+1 for CLS here).
  auto config = test::attention_config("informer", 128);
  EXPECT_EQ(sampling_factor(config, 2001), 17.0);    // ceil(128 / 7.60)
  EXPECT_EQ(prob_sparse_count(17.0, 2000), 17 * 8);  // c ceil(ln 2000)
  EXPECT_EQ(prob_sparse_count(17.0, 100), 17 * 5);   // ceil(ln 100) = 5
  EXPECT_EQ(prob_sparse_count(17.0, 50), 50);        // capped at n
  EXPECT_EQ(prob_sparse_count(2.5, 1000), 18);       // ceil(2.5 * 7)
  EXPECT_EQ(prob_sparse_count(3.0, 1), 1);           // ln 1 = 0, but at least one
  EXPECT_EQ(prob_sparse_count(3.0, 0), 0);
  EXPECT_EQ(sampling_factor(informer_with_factor(5.0), 2001), 5.0);
  EXPECT_THROW(sampling_factor(config, 1), std::invalid_argument);
}

// The fast path (row-loop M, autograd through the u exact rows) against the dense float64
// reference given the same sampled positions, with a padded sequence in the batch.
TEST(Informer, FastPathMatchesReferenceInValuesAndGradients) {
  const double c = 2.0;  // u = 8 of 37 and of 28 real tokens
  auto in = random_inputs(2, 3, 37, 8, 11, /*pad=*/9);
  auto positions = sample_key_positions(in.mask, c, 5, 3);
  auto fast = [&](const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    return prob_sparse_attention(q, k, v, in.mask, positions, c);
  };
  auto slow = [&](const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    return prob_sparse_reference(q, k, v, in.mask, positions, c);
  };
  auto real_rows = in.mask.view({2, 1, 37, 1});
  auto expected = slow(in.q, in.k, in.v);
  EXPECT_LT(max_abs((fast(in.q, in.k, in.v) - expected) * real_rows), 1e-12);
  // Not the trivial cases: some rows are exact softmax rows, most are the mean.
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  auto is_exact = ((expected - exact).abs().amax(-1) < 1e-12).to(torch::kFloat64) *
                  in.mask.unsqueeze(1);  // (B, H, L)
  EXPECT_EQ(is_exact.sum().item<double>(), 3 * (8 + 8));

  auto weight = torch::randn_like(in.v);
  auto g_fast = input_grads(fast, in, weight), g_slow = input_grads(slow, in, weight);
  for (int which = 0; which < 3; ++which)
    EXPECT_LT(max_abs(g_fast[which] - g_slow[which]), 1e-12) << "input " << which;

  // The CPU row loop and the gathered tensor ops (the CUDA path) give the same measure.
  auto loop = sparsity_measure(in.q, in.k, in.mask, positions, c, true);
  auto gathered = sparsity_measure(in.q, in.k, in.mask, positions, c, false);
  EXPECT_TRUE(torch::equal(torch::isinf(loop), torch::isinf(gathered)));
  EXPECT_LT(max_abs((loop - gathered).nan_to_num(0.0, 0.0, 0.0)), 1e-12);
  auto loop32 = sparsity_measure(in.q.to(torch::kFloat32), in.k.to(torch::kFloat32),
                                 in.mask.to(torch::kFloat32), positions, c, true);
  EXPECT_LT(max_abs((loop32.to(torch::kFloat64) - loop).nan_to_num(0.0, 0.0, 0.0)), 1e-5);
}

// The module draws its positions from (layer seed, optimizer step) and runs the same fast path;
// the float32 module agrees with the float64 reference.
TEST(Informer, ModuleIsTheFastPathOnItsDraw) {
  const double c = 1.0;
  auto config = informer_with_factor(c);
  auto in = random_inputs(2, 2, 40, 8, 21, 13);
  auto backend = make_backend(config, 8, /*seed=*/9);
  backend->on_train_step(4);
  auto positions = sample_key_positions(in.mask, c, 9, 4);
  EXPECT_TRUE(torch::equal(backend->forward(in.q, in.k, in.v, in.mask),
                           prob_sparse_attention(in.q, in.k, in.v, in.mask, positions, c)));
  auto expected = prob_sparse_reference(in.q, in.k, in.v, in.mask, positions, c);
  auto single = make_attention(config, test::test_context(2, 8, 0.0, 9));
  single->on_train_step(4);
  auto out32 = single->forward(in.q.to(torch::kFloat32), in.k.to(torch::kFloat32),
                               in.v.to(torch::kFloat32), in.mask.to(torch::kFloat32));
  EXPECT_EQ(out32.scalar_type(), torch::kFloat32);
  auto real_rows = in.mask.view({2, 1, 40, 1});
  EXPECT_LT(max_abs((out32.to(torch::kFloat64) - expected) * real_rows), 1e-5);
}

// Samples fall on real keys only, uniformly, with replacement; a real query's samples depend on
// its rank among the real tokens, not on the padding around it.
TEST(Informer, DrawsCoverRealKeysOnlyAndIgnoreThePadding) {
  const int64_t L = 50;
  auto mask = torch::ones({2, L}, torch::kFloat64);
  mask.index_put_({0, torch::indexing::Slice(10, 30)}, 0.0);  // a hole in the middle
  auto positions = sample_key_positions(mask, 30.0, 3, 0);    // (2, L, U_max)
  EXPECT_EQ(positions.size(2), prob_sparse_count(30.0, L));
  auto real = mask > 0;
  for (int64_t i = 0; i < L; ++i) {
    if (!real[0][i].item<bool>()) continue;
    auto hits = real[0].index_select(0, positions[0][i]);
    EXPECT_TRUE(hits.all().item<bool>()) << "query " << i;
  }
  // Every one of the 30 real keys is hit about equally often over the draws.
  auto counts = torch::zeros({L}, torch::kFloat64);
  const int64_t U0 = prob_sparse_count(30.0, 30);
  auto real_queries = real[0].nonzero().squeeze(1);
  for (int64_t i = 0; i < real_queries.size(0); ++i) {
    auto row = positions[0][real_queries[i].item<int64_t>()].narrow(0, 0, U0);
    counts.index_add_(0, row, torch::ones({U0}, torch::kFloat64));
  }
  const double expected = 30.0 * U0 / 30.0;
  auto on_real = counts.masked_select(real[0]);
  EXPECT_EQ(counts.masked_select(real[0].logical_not()).sum().item<double>(), 0.0);
  EXPECT_LT(((on_real - expected).pow(2) / expected).sum().item<double>(),
            30 + 5 * std::sqrt(60.0));
  // The same sequence without the hole: the same keys, compacted.
  auto compact = torch::ones({1, 30}, torch::kFloat64);
  auto alone = sample_key_positions(compact, 30.0, 3, 0);  // a smaller U_max
  auto real_at = real[0].nonzero().squeeze(1);             // (30) positions in the long sequence
  const int64_t U = prob_sparse_count(30.0, 30);
  for (int64_t r = 0; r < 30; ++r) {
    auto long_row = positions[0][real_at[r].item<int64_t>()].narrow(0, 0, U);
    auto short_row = real_at.index_select(0, alone[0][r].narrow(0, 0, U));
    EXPECT_TRUE(torch::equal(long_row, short_row)) << "rank " << r;
  }
  // Other draws, other samples.
  EXPECT_FALSE(torch::equal(positions, sample_key_positions(mask, 30.0, 3, 1)));
  EXPECT_FALSE(torch::equal(positions, sample_key_positions(mask, 30.0, 4, 0)));
}

// Padded keys get exactly zero weight, the mean covers the real values only, and a sequence's
// real rows are those of the sequence without its padding, wherever the padding sits.
TEST(Informer, PaddingInvarianceAndZeroWeightOnPaddedKeys) {
  const int64_t L = 45, D = 6;
  auto in = random_inputs(2, 2, L, D, 31);
  in.mask.index_put_({0, torch::indexing::Slice(5, 17)}, 0.0);
  in.mask.index_put_({0, torch::indexing::Slice(40, L)}, 0.0);
  auto backend = make_backend(informer_with_factor(1.0), D, 5);
  backend->on_train_step(2);
  auto is_pad = (in.mask == 0).view({2, 1, L, 1});
  auto noise = random_inputs(2, 2, L, D, 32, 0, 100.0);
  auto clean = backend->forward(in.q, in.k, in.v, in.mask);
  auto noisy =
      backend->forward(torch::where(is_pad, noise.q, in.q), torch::where(is_pad, noise.k, in.k),
                       torch::where(is_pad, noise.v * 1e3, in.v), in.mask);
  auto real_rows = in.mask.view({2, 1, L, 1});
  EXPECT_LT(max_abs((clean - noisy) * real_rows), 1e-12);

  // Exactly zero gradient into padded keys and values from the real rows.
  auto k = in.k.clone().requires_grad_(true), v = in.v.clone().requires_grad_(true);
  auto out = backend->forward(in.q, k, v, in.mask);
  auto grads = torch::autograd::grad({(out * real_rows * torch::randn_like(out)).sum()}, {k, v});
  EXPECT_EQ(max_abs(grads[0] * is_pad), 0.0);
  EXPECT_EQ(max_abs(grads[1] * is_pad), 0.0);
  EXPECT_GT(max_abs(grads[0]), 0.0);

  // The compacted sequence alone gives the same rows.
  auto keep = (in.mask[0] > 0).nonzero().squeeze(1);
  auto pick = [&](const torch::Tensor& t) { return t.narrow(0, 0, 1).index_select(2, keep); };
  auto alone = backend->forward(pick(in.q), pick(in.k), pick(in.v),
                                torch::ones({1, keep.size(0)}, torch::kFloat64));
  EXPECT_LT(max_abs(pick(clean) - alone), 1e-12);
}

// u >= n: every real query gets its exact row, so the output is exact softmax attention.
TEST(Informer, EveryQuerySelectedIsExactSoftmax) {
  auto in = random_inputs(2, 2, 20, 4, 41, 6);
  auto real_rows = in.mask.view({2, 1, 20, 1});
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  // The general path with a factor that selects everyone.
  auto positions = sample_key_positions(in.mask, 50.0, 1, 0);
  auto general = prob_sparse_attention(in.q, in.k, in.v, in.mask, positions, 50.0);
  EXPECT_LT(max_abs((general - exact) * real_rows), 1e-12);
  // The module's shortcut: the defaults (features 128) at the quickstart's length (64 tokens +
  // CLS: c = ceil(128 / ln 65) = 31, u = 31 ceil(ln n) >= n for every n <= 65).
  auto quick = make_attention(test::attention_config("informer", 128), [] {
    auto ctx = test::test_context(2, 4, 0.0, 1);
    ctx.max_length = 65;
    return ctx;
  }());
  quick->to(torch::kFloat64);
  for (int64_t n = 1; n <= 65; ++n)
    EXPECT_EQ(prob_sparse_count(sampling_factor(test::attention_config("informer", 128), 65), n),
              n);
  EXPECT_LT(max_abs((quick->forward(in.q, in.k, in.v, in.mask) - exact) * real_rows), 1e-12);
  AttentionShape shape{4, 2, 64, 32};
  EXPECT_EQ(attention_implementation("informer").flops(shape, *quick).forward,
            quadratic_attention_flops(shape).forward);
  // Below the limit the FLOPs are the sampled scores and u exact rows.
  auto sparse = make_backend(informer_with_factor(1.0), 4);
  AttentionShape long_shape{4, 2, 4096, 32};
  const double u = prob_sparse_count(1.0, 4096), bh = 8, L = 4096, d = 32;
  auto count = attention_implementation("informer").flops(long_shape, *sparse);
  EXPECT_DOUBLE_EQ(count.forward, 2 * bh * L * u * d + 4 * bh * u * L * d);
  EXPECT_DOUBLE_EQ(count.backward, 8 * bh * u * L * d);
}

// Batch 1, one head; all real; heavily padded (2 real of 30, then 1 real).
TEST(Informer, DegenerateShapes) {
  const double c = 1.0;
  for (int64_t real : {30, 2, 1}) {
    auto in = random_inputs(1, 1, 30, 3, 50 + real, 30 - real);
    auto positions = sample_key_positions(in.mask, c, 2, 0);
    auto fast = prob_sparse_attention(in.q, in.k, in.v, in.mask, positions, c);
    auto slow = prob_sparse_reference(in.q, in.k, in.v, in.mask, positions, c);
    auto real_rows = in.mask.view({1, 1, 30, 1});
    EXPECT_LT(max_abs((fast - slow) * real_rows), 1e-12) << real;
    auto module =
        make_backend(informer_with_factor(c), 3, 2, 1)->forward(in.q, in.k, in.v, in.mask);
    EXPECT_TRUE(torch::isfinite(module).all().item<bool>()) << real;
    if (real == 1) {  // u = n = 1: exact (n = 2 has u = ceil(ln 2) = 1)
      auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
      EXPECT_LT(max_abs((module - exact) * real_rows), 1e-12) << real;
    }
  }
  // A sequence with no real token at all gives finite (unspecified) rows.
  auto in = random_inputs(2, 1, 30, 3, 59);
  in.mask[1].zero_();
  auto out = make_backend(informer_with_factor(c), 3, 2, 1)->forward(in.q, in.k, in.v, in.mask);
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
}

// Equal M everywhere (every sampled key is the zero vector): the u selected queries are the
// first real ones by position, in the fast path and in the reference alike.
TEST(Informer, TiesInTheSparsityMeasureGoToTheLowerPosition) {
  const int64_t L = 16, D = 4;
  auto in = random_inputs(1, 2, L, D, 61);
  in.mask.index_put_({0, 1}, 0.0);  // a padded query among the first ones
  const std::vector<int64_t> zero_keys = {3, 7, 11};
  for (auto j : zero_keys) in.k.select(2, j).zero_();
  auto positions = torch::tensor(zero_keys, torch::kInt64).repeat({1, L, 2});  // (1, L, 6)
  const double c = 1.0;
  const int64_t u = prob_sparse_count(c, L - 1);  // 3
  ASSERT_EQ(u, 3);
  auto m = sparsity_measure(in.q, in.k, in.mask, positions, c, true);
  EXPECT_EQ(max_abs(m.select(2, 0)), 0.0);
  auto fast = prob_sparse_attention(in.q, in.k, in.v, in.mask, positions, c);
  auto slow = prob_sparse_reference(in.q, in.k, in.v, in.mask, positions, c);
  auto real_rows = in.mask.view({1, 1, L, 1});
  EXPECT_LT(max_abs((fast - slow) * real_rows), 1e-12);
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  auto row_is_exact = [&](int64_t i) {
    return max_abs(fast.select(2, i) - exact.select(2, i)) < 1e-12;
  };
  EXPECT_TRUE(row_is_exact(0));
  EXPECT_TRUE(row_is_exact(2));
  EXPECT_TRUE(row_is_exact(3));
  for (int64_t i = 4; i < L; ++i) EXPECT_FALSE(row_is_exact(i)) << i;
}

// Training draws follow (layer seed, optimizer step) and come back bit for bit with a
// checkpoint; evaluation uses one fixed draw whatever the step.
TEST(Informer, DrawsAreSeededResumableAndFixedInEvaluation) {
  auto config = informer_with_factor(1.0);
  auto in = random_inputs(2, 2, 40, 4, 71, 7);
  auto run = [&](const AttentionPtr& b) { return b->forward(in.q, in.k, in.v, in.mask); };
  auto a = make_backend(config, 4, 1), twin = make_backend(config, 4, 1),
       other = make_backend(config, 4, 2);
  auto step0 = run(a);
  EXPECT_TRUE(torch::equal(step0, run(a)));
  EXPECT_TRUE(torch::equal(step0, run(twin)));
  EXPECT_FALSE(torch::equal(step0, run(other)));
  a->on_train_step(1);
  EXPECT_FALSE(torch::equal(step0, run(a)));
  a->on_train_step(3);
  const std::string path = ::testing::TempDir() + "informer_draws.pt";
  torch::save(a, path);
  torch::load(other, path);
  std::remove(path.c_str());
  EXPECT_TRUE(torch::equal(run(a), run(other)));
  a->on_train_step(4);
  other->on_train_step(4);
  twin->on_train_step(4);
  EXPECT_TRUE(torch::equal(run(a), run(other)));
  EXPECT_TRUE(torch::equal(run(a), run(twin)));
  a->eval();
  auto evaluated = run(a);
  EXPECT_TRUE(torch::equal(evaluated,
                           prob_sparse_attention(in.q, in.k, in.v, in.mask,
                                                 sample_key_positions(in.mask, 1.0, 1, -1), 1.0)));
  a->on_train_step(5);
  EXPECT_TRUE(torch::equal(evaluated, run(a)));
}

// convention skyformer_code: the Skyformer code's ProbAttention, which ignores the key mask.
TEST(Informer, SkyformerCodeConventionIgnoresTheMask) {
  auto paper = informer_with_factor(1.0);
  auto code = paper;
  code.convention = "skyformer_code";
  auto in = random_inputs(2, 2, 40, 4, 81, 10);
  auto a = make_backend(paper, 4, 3), b = make_backend(code, 4, 3);
  auto ones = torch::ones_like(in.mask);
  // Without padding the two agree bit for bit.
  EXPECT_TRUE(torch::equal(a->forward(in.q, in.k, in.v, ones), b->forward(in.q, in.k, in.v, ones)));
  // With it, the code's form is the method on the padded sequence as if it were all real.
  auto code_out = b->forward(in.q, in.k, in.v, in.mask);
  auto positions = sample_key_positions(ones, 1.0, 3, 0);
  EXPECT_LT(max_abs(code_out - prob_sparse_reference(in.q, in.k, in.v, ones, positions, 1.0)),
            1e-12);
  auto real_rows = in.mask.view({2, 1, 40, 1});
  EXPECT_GT(max_abs((code_out - a->forward(in.q, in.k, in.v, in.mask)) * real_rows), 1e-3);
}

TEST(Informer, BadSettingsAreRefusedNamingTheKey) {
  auto has = [](const std::vector<std::string>& errors, const std::string& text) {
    for (const auto& e : errors)
      if (e.find(text) != std::string::npos) return true;
    return false;
  };
  auto config = test::attention_config("informer", 128);
  EXPECT_TRUE(attention_config_errors(config, 2001).empty());
  config.sampling_factor = 5.0;  // ignored next to features 128: refused
  EXPECT_TRUE(has(attention_config_errors(config, 2001), "attention.sampling_factor:"));
  config.features = 0;  // c = 5
  EXPECT_TRUE(attention_config_errors(config, 2001).empty());
  config.sampling_factor = 0.0;  // outside (0, 1e6]
  EXPECT_TRUE(has(attention_config_errors(config, 2001), "attention.sampling_factor"));
  auto kernel = test::attention_config("informer", 128);
  kernel.kernel = "inverse";  // informer computes softmax only
  EXPECT_TRUE(has(attention_config_errors(kernel, 2001), "attention.kernel"));
  auto unread = test::attention_config("informer", 128);
  unread.num_landmarks = 7;  // a key informer does not read
  EXPECT_TRUE(has(attention_config_errors(unread, 2001), "attention.num_landmarks"));
  EXPECT_THROW(make_attention(kernel, test::test_context(1, 4, 0.0, 1)), std::invalid_argument);
}

}  // namespace
}  // namespace lra
