#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "train/nonfinite_guard.h"

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

std::string stop_message(lra::NonfiniteGuard& guard, int64_t step, double loss, double norm) {
  try {
    guard.accept(step, loss, norm);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(NonfiniteGuard, StopNamesTheStepAndTheLastFiniteLoss) {
  lra::NonfiniteGuard guard("stop", 10);
  EXPECT_TRUE(guard.accept(1, 2.5, 1.0));
  EXPECT_TRUE(guard.accept(2, 2.25, 1.0));
  EXPECT_EQ(stop_message(guard, 3, kNaN, 1.0),
            "step 3: the training loss is nan (last finite loss 2.25 at step 2); lower train.lr, "
            "set train.clip, or set train.on_nonfinite: skip to skip such steps");
}

TEST(NonfiniteGuard, AnInfiniteGradientStopsToo) {
  lra::NonfiniteGuard guard("stop", 10);
  EXPECT_EQ(stop_message(guard, 1, 2.0, kInf)
                .rfind("step 1: the gradient norm is inf (no finite step yet)", 0),
            0u);
}

TEST(NonfiniteGuard, SkipSkipsUpToTheLimitThenStops) {
  lra::NonfiniteGuard guard("skip", 2);
  EXPECT_TRUE(guard.accept(1, 1.0, 1.0));
  EXPECT_FALSE(guard.accept(2, kNaN, 1.0));
  EXPECT_TRUE(guard.accept(3, 0.9, 1.0));
  EXPECT_FALSE(guard.accept(4, 1.0, kNaN));
  EXPECT_EQ(guard.skipped(), 2);
  EXPECT_NE(stop_message(guard, 5, kInf, 1.0).find("more than train.max_nonfinite = 2 steps"),
            std::string::npos);
}
