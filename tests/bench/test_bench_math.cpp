// lra_bench's FLOP formulas against hand counts, and its timing summaries.
#include <stdexcept>

#include <gtest/gtest.h>

#include "bench/bench_math.h"

namespace lra::bench {
namespace {

TEST(BenchMath, QuadraticFlopsAreFourBHL2d) {
  AttentionShape s{4, 2, 4096, 32, 128, 0};
  const double expected = 4.0 * 4 * 2 * 4096.0 * 4096.0 * 32;
  EXPECT_DOUBLE_EQ(attention_forward_flops("softmax", s), expected);
  EXPECT_DOUBLE_EQ(attention_forward_flops("kernelized", s), expected);
  EXPECT_DOUBLE_EQ(attention_backward_flops("softmax", s), 2 * expected);
}

TEST(BenchMath, LinearFlopsCountProjectionsAndContraction) {
  AttentionShape s{1, 1, 10, 4, 6, 9};
  // q and k projections 2 * (2 * 10 * 4 * 6); S and phi(q) S: 2 * (2 * 10 * 6 * 5).
  EXPECT_DOUBLE_EQ(attention_forward_flops("favor", s), 960 + 1200);
  EXPECT_DOUBLE_EQ(attention_backward_flops("favor", s), 960 + 2400);
  // FAVOR# adds x^T x and y^T y: 2 * (2 * 10 * 4 * 4).
  EXPECT_DOUBLE_EQ(attention_forward_flops("favor_sharp", s), 960 + 1200 + 640);
  // SchoenbAt projects onto F = 9 factors instead of m features.
  EXPECT_DOUBLE_EQ(attention_forward_flops("schoenbat", s), 2 * 2 * 10 * 4 * 9 + 1200);
  // Linear in L.
  AttentionShape twice = s;
  twice.length = 20;
  EXPECT_DOUBLE_EQ(attention_forward_flops("favor", twice),
                   2 * attention_forward_flops("favor", s));
  EXPECT_THROW(attention_forward_flops("nope", s), std::invalid_argument);
}

TEST(BenchMath, BlockLinearFlops) {
  // 3 (q, k, v) 8x8 + output 8x8 + MLP 8x16 and 16x8, for 2 x 3 tokens.
  EXPECT_DOUBLE_EQ(block_linear_forward_flops(2, 3, 8, 8, 16), 2.0 * 6 * (4 * 64 + 2 * 128));
}

TEST(BenchMath, SummaryMedianAndSpread) {
  auto s = summarize({5.0, 1.0, 3.0});
  EXPECT_DOUBLE_EQ(s.median, 3.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 5.0);
  EXPECT_DOUBLE_EQ(s.spread, 4.0 / 3.0);
  EXPECT_DOUBLE_EQ(summarize({2.0, 4.0}).median, 3.0);
  EXPECT_DOUBLE_EQ(summarize({}).median, 0.0);
}

}  // namespace
}  // namespace lra::bench
