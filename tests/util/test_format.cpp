#include <gtest/gtest.h>

#include "util/format.h"

TEST(Format, FixedHasExactlyTheDecimalsAsked) {
  EXPECT_EQ(lra::fixed(3.14159, 2), "3.14");
  EXPECT_EQ(lra::fixed(2.5, 0), "2");  // round half to even, as printf
  EXPECT_EQ(lra::fixed(-0.125, 1), "-0.1");
  EXPECT_EQ(lra::fixed(12.0, 3), "12.000");
  EXPECT_EQ(lra::fixed(1e300, 1).size(), 303u);  // 301 digits, the point, one decimal
}
