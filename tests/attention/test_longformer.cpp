// longformer: the fast path against a float64 dense reference whose mask is built from each
// convention's definition (paper: w / 2 keys on each side; lra_code: the LRA code's
// _build_sliding_window_mask), with global tokens; float32; padding; the limits where the window
// spans the sequence or every token is global (exact softmax); refused settings; FLOPs.
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "pattern_test_util.h"

namespace lra::longformer_test {

using test::random_inputs;
using test::real_rows;

AttentionConfig longformer_config(int64_t window, int64_t global,
                                  const std::string& convention = "paper") {
  AttentionConfig c;
  c.type = "longformer";
  c.window = window;
  c.global_tokens = global;
  c.convention = convention;
  return c;
}

// Global tokens attend to and are attended by everything; otherwise the window: Beltagy et al.'s
// w / 2 on each side, or the LRA code's diagonals 0 .. -(w - w // 2 - 1) and 1 .. w // 2.
torch::Tensor window_mask(const AttentionConfig& c, int64_t length) {
  const int64_t right = c.window / 2, left = c.window - right;  // the code's sizes
  return test::dense_mask(length, [&](int64_t i, int64_t j) {
    if (i < c.global_tokens || j < c.global_tokens) return true;
    if (c.convention == "lra_code")
      return (i - j >= 0 && i - j < left) || (j - i >= 1 && j - i <= right);
    return std::abs(i - j) <= c.window / 2;
  });
}

struct Case {
  int64_t batch, heads, length, window, global, pad;
  std::string convention;
};

// Windows narrower and wider than the engine's 64-row query blocks, no / one / several global
// tokens, lengths that are not block multiples, batch 1 and one head, heavy padding.
const std::vector<Case> kCases = {
    {2, 2, 203, 16, 1, 70, "paper"},     {1, 1, 150, 10, 0, 0, "paper"},
    {2, 1, 203, 150, 1, 50, "paper"},    {1, 2, 77, 8, 5, 20, "paper"},
    {2, 3, 203, 15, 3, 150, "lra_code"}, {2, 2, 130, 16, 2, 0, "lra_code"},
    {1, 1, 100, 1, 0, 30, "lra_code"}};

TEST(Longformer, FastPathMatchesDenseReferenceInValuesAndGradients) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.convention + " L=" + std::to_string(c.length) +
                 " w=" + std::to_string(c.window) + " g=" + std::to_string(c.global));
    auto config = longformer_config(c.window, c.global, c.convention);
    auto backend = test::make_backend(config, 8, 1, c.heads);
    auto in = random_inputs(c.batch, c.heads, c.length, 8, 3, c.pad);
    test::expect_matches_dense(*backend, in, window_mask(config, c.length));
    auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
    EXPECT_GT(
        test::max_abs(real_rows(backend->forward(in.q, in.k, in.v, in.mask) - exact, in.mask)),
        1e-3);
  }
}

// One module over several lengths (its layout is cached per length).
TEST(Longformer, OneModuleServesSeveralLengths) {
  auto config = longformer_config(16, 2);
  auto backend = test::make_backend(config, 8, 1, 2);
  for (int64_t L : {150, 90, 150, 203}) {
    auto in = random_inputs(1, 2, L, 8, 10 + L, 7);
    auto dense = test::dense_pattern_attention(in.q, in.k, in.v, in.mask, window_mask(config, L));
    EXPECT_LT(
        test::max_abs(real_rows(backend->forward(in.q, in.k, in.v, in.mask) - dense, in.mask)),
        1e-12)
        << L;
  }
}

TEST(Longformer, Float32AgreesWithFloat64) {
  for (const std::string convention : {"paper", "lra_code"})
    test::expect_float32_agrees(longformer_config(32, 2, convention),
                                random_inputs(2, 2, 203, 8, 5, 40), 2);
}

TEST(Longformer, PaddingInvarianceAndExactlyZeroWeightOnPaddedKeys) {
  for (const std::string convention : {"paper", "lra_code"}) {
    auto backend = test::make_backend(longformer_config(16, 2, convention), 8, 1, 2);
    test::expect_padding_invariant(*backend, random_inputs(2, 2, 203, 8, 6, /*pad=*/150));
  }
}

// A window reaching every key from every query, or every token global, is exact softmax; one
// token less and the pattern is sparse.
TEST(Longformer, WindowSpanningTheSequenceIsExactSoftmax) {
  const auto& spec = attention_backend("longformer");
  const int64_t L = 70;
  for (const auto& config :
       {longformer_config(2 * (L - 1), 1), longformer_config(2 * L, 0, "lra_code"),
        longformer_config(2, L), longformer_config(512, 1)}) {
    SCOPED_TRACE(config.convention + " w=" + std::to_string(config.window) +
                 " g=" + std::to_string(config.global_tokens));
    EXPECT_NE(spec.exact_reason(config, L), "");
    auto in = random_inputs(2, 2, L, 4, 8, 20);
    auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
    auto out = test::backend_for(config, L)->forward(in.q, in.k, in.v, in.mask);
    EXPECT_LT(test::max_abs(real_rows(out - exact, in.mask)), 1e-12);
  }
  EXPECT_EQ(spec.exact_reason(longformer_config(2 * (L - 1), 1), L),
            "window 138 (69 before, 69 after) spans length 70");
  EXPECT_EQ(spec.exact_reason(longformer_config(2, L), L), "global_tokens 70 >= length 70");
  for (const auto& config :
       {longformer_config(2 * (L - 2), 0), longformer_config(2 * L - 2, 0, "lra_code"),
        longformer_config(2, L / 2)}) {
    EXPECT_EQ(spec.exact_reason(config, L), "") << config.window;
    auto in = random_inputs(1, 2, L, 4, 9);
    auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
    EXPECT_GT(
        test::max_abs(test::backend_for(config, L)->forward(in.q, in.k, in.v, in.mask) - exact),
        1e-6)
        << config.window;
  }
}

TEST(Longformer, BadSettingsAreRefusedNamingTheKey) {
  EXPECT_EQ(test::first_error(longformer_config(5, 1), 64).rfind("attention.window: 5 is odd", 0),
            0u);
  EXPECT_EQ(test::first_error(longformer_config(5, 1, "lra_code"), 64), "");
  EXPECT_EQ(
      test::first_error(longformer_config(0, 1), 64).rfind("attention.window: 0 is outside", 0),
      0u);
  EXPECT_EQ(test::first_error(longformer_config(8, 65), 64)
                .rfind("attention.global_tokens: 65 is more than the padded length 64", 0),
            0u);
  EXPECT_EQ(test::first_error(longformer_config(8, 64), 64), "");
  EXPECT_EQ(test::first_error(longformer_config(8, 1, "skyformer_code"), 64)
                .rfind("attention.convention: skyformer_code", 0),
            0u);
}

// The engine's listed keys per 64-row query block times its rows, plus the global rows against
// every key: L = 128, w = 16 (8 on each side): block 0 lists 0 .. 71, block 1 56 .. 127; with two
// global tokens these are listed once, ahead of the band (2 + 2 .. 71 and 2 + 56 .. 127).
TEST(Longformer, FlopCountIsTheListedProducts) {
  AttentionShape s{1, 1, 128, 4, 1};
  auto count = [&](const AttentionConfig& c) {
    return attention_implementation("longformer").flops(s, *test::make_backend(c, 4, 1, 1));
  };
  EXPECT_DOUBLE_EQ(count(longformer_config(16, 0)).forward, 2 * 2 * 4 * 64.0 * (72 + 72));
  EXPECT_DOUBLE_EQ(count(longformer_config(16, 2)).forward,
                   2 * 2 * 4 * (64.0 * (72 + 74) + 2 * 128));
  EXPECT_DOUBLE_EQ(count(longformer_config(16, 2)).backward,
                   2 * 2 * 2 * 4 * (64.0 * (72 + 74) + 2 * 128));
  EXPECT_DOUBLE_EQ(count(longformer_config(512, 1)).forward, 2 * 2 * 4 * 128.0 * 128);  // exact
}

}  // namespace lra::longformer_test
