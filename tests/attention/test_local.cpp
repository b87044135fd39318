// local: the fast path against a float64 dense reference whose mask is built from each
// convention's definition (paper: contiguous blocks; lra_code: the LRA code's reshape into
// strided groups); float32; padding; the limits where one block holds the sequence (exact
// softmax); refused settings; the FLOP count.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "pattern_test_util.h"

namespace lra::local_test {

using test::random_inputs;
using test::real_rows;

AttentionConfig local_config(int64_t block, const std::string& convention = "paper") {
  AttentionConfig c;
  c.type = "local";
  c.block_size = block;
  c.convention = convention;
  return c;
}

// The LRA paper's blocks: query i sees key j when both lie in the same block of b positions.
torch::Tensor paper_mask(int64_t length, int64_t block) {
  return test::dense_mask(length, [&](int64_t i, int64_t j) { return i / block == j / block; });
}

// local_attention.py: the sequence is padded by b - (L mod b) positions and reshaped to
// (b, L' / b), attention running along the first axis: positions in one column of that
// reshape attend to each other.
torch::Tensor code_mask(int64_t length, int64_t block) {
  const int64_t padded = length + block - length % block, columns = padded / block;
  auto column = torch::arange(padded, torch::kInt64).view({block, columns});  // position -> slot
  std::vector<int64_t> column_of(padded);
  for (int64_t r = 0; r < block; ++r)
    for (int64_t c = 0; c < columns; ++c) column_of[column[r][c].item<int64_t>()] = c;
  return test::dense_mask(length,
                          [&](int64_t i, int64_t j) { return column_of[i] == column_of[j]; });
}

torch::Tensor mask_of(const AttentionConfig& c, int64_t length) {
  return c.convention == "lra_code" ? code_mask(length, c.block_size)
                                    : paper_mask(length, c.block_size);
}

struct Case {
  int64_t batch, heads, length, block, pad;
  std::string convention;
};

// Lengths that are and are not block multiples (the LRA code then adds a whole block), batch 1
// and one head, heavy padding.
const std::vector<Case> kCases = {{2, 2, 203, 16, 70, "paper"},   {1, 1, 203, 16, 0, "paper"},
                                  {2, 3, 160, 32, 150, "paper"},  {2, 2, 203, 16, 70, "lra_code"},
                                  {1, 1, 192, 16, 0, "lra_code"}, {2, 2, 100, 7, 90, "lra_code"},
                                  {1, 2, 64, 8, 10, "lra_code"}};

TEST(Local, FastPathMatchesDenseReferenceInValuesAndGradients) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.convention + " L=" + std::to_string(c.length) + " b=" + std::to_string(c.block));
    auto config = local_config(c.block, c.convention);
    auto backend = test::make_backend(config, 8, 1, c.heads);
    auto in = random_inputs(c.batch, c.heads, c.length, 8, 3, c.pad);
    test::expect_matches_dense(*backend, in, mask_of(config, c.length));
    // Sparse, not exact softmax in disguise.
    auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
    EXPECT_GT(
        test::max_abs(real_rows(backend->forward(in.q, in.k, in.v, in.mask) - exact, in.mask)),
        1e-3);
  }
}

// The two conventions group different tokens.
TEST(Local, ConventionsDiffer) {
  auto in = random_inputs(1, 2, 96, 8, 4);
  auto paper = test::make_backend(local_config(16), 8)->forward(in.q, in.k, in.v, in.mask);
  auto code =
      test::make_backend(local_config(16, "lra_code"), 8)->forward(in.q, in.k, in.v, in.mask);
  EXPECT_GT(test::max_abs(paper - code), 1e-3);
}

TEST(Local, Float32AgreesWithFloat64) {
  for (const std::string convention : {"paper", "lra_code"})
    test::expect_float32_agrees(local_config(16, convention), random_inputs(2, 2, 150, 8, 5, 40),
                                2);
}

TEST(Local, PaddingInvarianceAndExactlyZeroWeightOnPaddedKeys) {
  for (const std::string convention : {"paper", "lra_code"}) {
    auto backend = test::make_backend(local_config(16, convention), 8, 1, 2);
    test::expect_padding_invariant(*backend, random_inputs(2, 2, 203, 8, 6, /*pad=*/150));
  }
}

// One block holding the sequence is exact softmax attention; the LRA code's grouping needs a
// block longer than the sequence (a block of exactly L makes two strided groups).
TEST(Local, OneBlockIsExactSoftmax) {
  const auto& spec = attention_backend("local");
  for (const auto& [L, block, convention] :
       std::vector<std::tuple<int64_t, int64_t, std::string>>{{64, 64, "paper"},
                                                              {50, 64, "paper"},
                                                              {1, 8, "paper"},
                                                              {50, 64, "lra_code"},
                                                              {7, 8, "lra_code"}}) {
    SCOPED_TRACE(convention + " L=" + std::to_string(L));
    auto config = local_config(block, convention);
    EXPECT_NE(spec.exact_reason(config, L), "");
    auto in = random_inputs(2, 2, L, 4, 8, L / 4);
    auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
    auto out = test::make_backend(config, 4)->forward(in.q, in.k, in.v, in.mask);
    EXPECT_LT(test::max_abs(real_rows(out - exact, in.mask)), 1e-12);
  }
  EXPECT_EQ(spec.exact_reason(local_config(64), 64), "block_size 64 >= length 64");
  EXPECT_EQ(spec.exact_reason(local_config(64), 65), "");
  EXPECT_EQ(spec.exact_reason(local_config(64, "lra_code"), 64), "");
  auto in = random_inputs(1, 2, 64, 4, 9);
  auto exact = softmax_attention_reference(in.q, in.k, in.v, in.mask, 0.0, false);
  auto two_groups =
      test::make_backend(local_config(64, "lra_code"), 4)->forward(in.q, in.k, in.v, in.mask);
  EXPECT_GT(test::max_abs(two_groups - exact), 1e-3);
}

TEST(Local, BadSettingsAreRefusedNamingTheKey) {
  auto config = local_config(65);
  EXPECT_EQ(test::first_error(config, 64)
                .rfind("attention.block_size: 65 is longer than the padded length 64", 0),
            0u)
      << test::first_error(config, 64);
  EXPECT_EQ(test::first_error(local_config(64), 64), "");
  config = local_config(0);
  EXPECT_EQ(test::first_error(config, 64).rfind("attention.block_size: 0 is outside", 0), 0u);
  config = local_config(16, "skyformer_code");
  EXPECT_EQ(test::first_error(config, 64).rfind("attention.convention: skyformer_code", 0), 0u);
  EXPECT_THROW(make_attention(local_config(128), test::test_context(2, 4, 0.0, 1)),
               std::invalid_argument);
}

// Every block (padded ones included) against itself: b^2 products per block, scores and
// weights times values, 2 FLOPs each; the LRA code always pads at least one position.
TEST(Local, FlopCountIsTheBlocksProducts) {
  AttentionShape s{1, 1, 203, 4, 1};
  auto count = [&](const AttentionConfig& c, int64_t L) {
    s.length = L;
    return attention_implementation("local").flops(s, *test::make_backend(c, 4, 1, 1));
  };
  EXPECT_DOUBLE_EQ(count(local_config(16), 203).forward, 2 * 2 * 4 * 13.0 * 256);
  EXPECT_DOUBLE_EQ(count(local_config(16), 192).forward, 2 * 2 * 4 * 12.0 * 256);
  EXPECT_DOUBLE_EQ(count(local_config(16, "lra_code"), 192).forward, 2 * 2 * 4 * 13.0 * 256);
  EXPECT_DOUBLE_EQ(count(local_config(16), 192).backward, 2 * 2 * 2 * 4 * 12.0 * 256);
  EXPECT_DOUBLE_EQ(count(local_config(64), 50).forward, 2 * 2 * 4 * 50.0 * 50);  // exact
}

}  // namespace lra::local_test
