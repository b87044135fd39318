// lra_bench's block FLOP formula against a hand count, and its timing summaries.
#include <gtest/gtest.h>

#include "bench/bench_math.h"

namespace lra::bench {
namespace {

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
