#include <gtest/gtest.h>

#include <vector>

#include "util/stats.h"

TEST(Stats, MedianIsTheMiddleValueOrTheMeanOfTheTwoMiddleOnes) {
  EXPECT_EQ(lra::median({5.0, 1.0, 3.0}), 3.0);
  EXPECT_EQ(lra::median({4.0, 1.0, 2.0, 3.0}), 2.5);
  EXPECT_EQ(lra::median({7.0}), 7.0);
  EXPECT_EQ(lra::median({}), 0.0);
}

TEST(Stats, PercentileInterpolatesBetweenTheClosestRanks) {
  const std::vector<double> v = {10.0, 0.0, 30.0, 20.0, 40.0};  // sorted: 0 10 20 30 40
  EXPECT_EQ(lra::percentile(v, 0.0), 0.0);
  EXPECT_EQ(lra::percentile(v, 1.0), 40.0);
  EXPECT_EQ(lra::percentile(v, 0.5), 20.0);
  EXPECT_DOUBLE_EQ(lra::percentile(v, 0.9), 36.0);  // rank 3.6
  EXPECT_DOUBLE_EQ(lra::percentile(v, 0.3), 12.0);  // rank 1.2
  EXPECT_EQ(lra::percentile(v, 0.5), lra::median(v));
  EXPECT_EQ(lra::percentile({2.5, 2.5}, 0.7), 2.5);
  EXPECT_EQ(lra::percentile({}, 0.9), 0.0);
}
