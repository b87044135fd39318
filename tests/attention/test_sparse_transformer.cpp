// sparse_transformer: the fast path (fixed: one block-sparse call; strided: two, merged by their
// normalisers) against a float64 dense reference whose mask is built from the definitions (the
// LRA code's Fixed1Pattern | Fixed2Pattern with its CLS row and column; the paper's strided
// A(1) | A(2)); float32; padding; the limits where the pattern is every earlier position (causal
// softmax) or every token is global (softmax); refused settings; FLOPs.
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "pattern_test_util.h"

namespace lra::sparse_transformer_test {

using test::random_inputs;
using test::real_rows;

AttentionConfig sparse_config(const std::string& pattern, int64_t block, int64_t global,
                              int64_t summary = AttentionConfig{}.summary_tokens) {
  AttentionConfig c;
  c.type = "sparse_transformer";
  c.sparse_pattern = pattern;
  c.block_size = block;
  c.global_tokens = global;
  c.summary_tokens = summary;
  return c;
}

// sparse_attention.py's masks on the positions after the g global ones (use_cls_token pads the
// mask of the others with a row and a column of ones), or Child et al.'s strided A(1) | A(2).
torch::Tensor pattern_mask(const AttentionConfig& c, int64_t length) {
  const int64_t l = c.block_size, g = c.global_tokens;
  return test::dense_mask(length, [&](int64_t i, int64_t j) {
    if (i < g || j < g) return true;
    const int64_t q = i - g, k = j - g;
    if (k > q) return false;  // every pattern is causal
    if (c.sparse_pattern == "strided") {
      const bool a1 = k >= std::max<int64_t>(0, q - l);  // t = max(0, i - l) ... i
      const bool a2 = (q - k) % l == 0;
      return a1 || a2;
    }
    const bool fixed1 = q / l == k / l;
    const bool fixed2 = k % l == 0 || k % l >= l - c.summary_tokens;
    return fixed1 || fixed2;
  });
}

torch::Tensor causal_mask(int64_t length) {
  return test::dense_mask(length, [](int64_t i, int64_t j) { return j <= i; });
}

struct Case {
  int64_t batch, heads, length, block, summary, global, pad;
};

// Lengths not a multiple of the block, summaries from none to every position (c >= l - 1),
// no / one / several global tokens, batch 1 and one head, heavy padding.
const std::vector<Case> kCases = {{2, 2, 203, 16, 4, 1, 70},  {1, 1, 203, 16, 0, 0, 0},
                                  {2, 3, 150, 10, 9, 2, 100}, {2, 2, 130, 16, 20, 1, 0},
                                  {1, 2, 97, 7, 2, 3, 20},    {2, 1, 60, 1, 0, 0, 10}};

TEST(SparseTransformer, FastPathMatchesDenseReferenceInValuesAndGradients) {
  for (const std::string pattern : {"fixed", "strided"})
    for (const auto& c : kCases) {
      SCOPED_TRACE(pattern + " L=" + std::to_string(c.length) + " l=" + std::to_string(c.block) +
                   " c=" + std::to_string(c.summary) + " g=" + std::to_string(c.global));
      auto config =
          sparse_config(pattern, c.block, c.global,
                        pattern == "fixed" ? c.summary : AttentionConfig{}.summary_tokens);
      auto backend = test::make_backend(config, 8, 1, c.heads);
      auto in = random_inputs(c.batch, c.heads, c.length, 8, 3, c.pad);
      test::expect_matches_dense(*backend, in, pattern_mask(config, c.length));
      // The registered reference is the same attention.
      auto reference = attention_implementation("sparse_transformer")
                           .reference(in.q, in.k, in.v, in.mask, config);
      auto dense =
          test::dense_pattern_attention(in.q, in.k, in.v, in.mask, pattern_mask(config, c.length));
      EXPECT_LT(test::max_abs(real_rows(reference - dense, in.mask)), 1e-12);
    }
}

TEST(SparseTransformer, OneModuleServesSeveralLengths) {
  for (const std::string pattern : {"fixed", "strided"}) {
    auto config = sparse_config(pattern, 8, 1, pattern == "fixed" ? 3 : 16);
    auto backend = test::make_backend(config, 8, 1, 2);
    for (int64_t L : {150, 90, 150, 203}) {
      auto in = random_inputs(1, 2, L, 8, 10 + L, 7);
      auto dense =
          test::dense_pattern_attention(in.q, in.k, in.v, in.mask, pattern_mask(config, L));
      EXPECT_LT(
          test::max_abs(real_rows(backend->forward(in.q, in.k, in.v, in.mask) - dense, in.mask)),
          1e-12)
          << pattern << " L=" << L;
    }
  }
}

TEST(SparseTransformer, Float32AgreesWithFloat64) {
  test::expect_float32_agrees(sparse_config("fixed", 16, 1, 4), random_inputs(2, 2, 203, 8, 5, 40),
                              2);
  test::expect_float32_agrees(sparse_config("strided", 16, 1), random_inputs(2, 2, 203, 8, 5, 40),
                              2);
}

TEST(SparseTransformer, PaddingInvarianceAndExactlyZeroWeightOnPaddedKeys) {
  for (const auto& config : {sparse_config("fixed", 16, 2, 4), sparse_config("strided", 16, 2)}) {
    auto backend = test::make_backend(config, 8, 1, 2);
    test::expect_padding_invariant(*backend, random_inputs(2, 2, 203, 8, 6, /*pad=*/150));
  }
}

// Without global tokens, a pattern holding every earlier position is causal softmax attention
// (our softmax backend has no causal form: the reference is the dense causal mask); with every
// token global it is softmax attention.
TEST(SparseTransformer, PatternsCoveringThePastAreCausalSoftmax) {
  const int64_t L = 100;
  for (const auto& config : {sparse_config("fixed", L, 0), sparse_config("fixed", 8, 0, 7),
                             sparse_config("fixed", 8, 0, 30), sparse_config("strided", L, 0),
                             sparse_config("strided", 1, 0)}) {
    SCOPED_TRACE(config.sparse_pattern + " l=" + std::to_string(config.block_size));
    auto in = random_inputs(2, 2, L, 4, 8, 30);
    auto causal = test::dense_pattern_attention(in.q, in.k, in.v, in.mask, causal_mask(L));
    auto out = test::backend_for(config, L)->forward(in.q, in.k, in.v, in.mask);
    EXPECT_LT(test::max_abs(real_rows(out - causal, in.mask)), 1e-12);
  }
  auto in = random_inputs(2, 2, 40, 4, 9, 10);
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  for (const std::string pattern : {"fixed", "strided"}) {
    auto out =
        test::make_backend(sparse_config(pattern, 8, 40), 4)->forward(in.q, in.k, in.v, in.mask);
    EXPECT_LT(test::max_abs(real_rows(out - exact, in.mask)), 1e-12) << pattern;
  }
  // Below the covering block the fixed pattern drops positions.
  auto sparse =
      test::make_backend(sparse_config("fixed", 8, 0, 3), 4)->forward(in.q, in.k, in.v, in.mask);
  auto causal = test::dense_pattern_attention(in.q, in.k, in.v, in.mask, causal_mask(40));
  EXPECT_GT(test::max_abs(real_rows(sparse - causal, in.mask)), 1e-3);
}

TEST(SparseTransformer, BadSettingsAreRefusedNamingTheKey) {
  EXPECT_EQ(test::first_error(sparse_config("fixed", 65, 1), 64)
                .rfind("attention.block_size: 65 is longer than the padded length 64", 0),
            0u);
  EXPECT_EQ(test::first_error(sparse_config("strided", 8, 1, 8), 64)
                .rfind("attention.summary_tokens: 8 is set, but sparse_pattern strided", 0),
            0u);
  EXPECT_EQ(test::first_error(sparse_config("fixed", 8, 65), 64)
                .rfind("attention.global_tokens: 65 is more than the padded length 64", 0),
            0u);
  EXPECT_EQ(
      test::first_error(sparse_config("dilated", 8, 1), 64)
          .rfind("attention.sparse_pattern: dilated is outside what it takes: fixed | strided", 0),
      0u);
  EXPECT_EQ(test::first_error(sparse_config("fixed", 64, 64, 0), 64), "");
  // The pattern is this backend's model: it approximates no registered attention.
  EXPECT_TRUE(attention_backend("sparse_transformer").exact());
}

// The engine's listed keys per query block times its rows, plus the global rows against every
// key. fixed, l = 4, c = 1 (offsets 0 and 3 summarise a block), L = 16: block s lists its 4
// positions and 2 s summaries: 4 + 6 + 8 + 10 keys. strided, l = 4: the band lists 4, 7, 7, 7
// keys, the 4 residue classes 4 x 4 each. One global token at L = 17: each block lists it too,
// and the fifth block (the global row, computed apart) only it.
TEST(SparseTransformer, FlopCountIsTheListedProducts) {
  auto count = [&](const AttentionConfig& c, int64_t L) {
    AttentionShape s{1, 1, L, 4, 1};
    return attention_implementation("sparse_transformer").flops(s, *test::make_backend(c, 4, 1, 1));
  };
  EXPECT_DOUBLE_EQ(count(sparse_config("fixed", 4, 0, 1), 16).forward, 2 * 2 * 4 * 4.0 * 28);
  EXPECT_DOUBLE_EQ(count(sparse_config("fixed", 4, 0, 1), 16).backward, 2 * 2 * 2 * 4 * 4.0 * 28);
  EXPECT_DOUBLE_EQ(count(sparse_config("strided", 4, 0), 16).forward,
                   2 * 2 * 4 * (4.0 * 25 + 4 * 16));
  EXPECT_DOUBLE_EQ(count(sparse_config("fixed", 4, 1, 1), 17).forward, 2 * 2 * 4 * (4.0 * 33 + 17));
}

}  // namespace lra::sparse_transformer_test
