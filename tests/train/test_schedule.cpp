#include <gtest/gtest.h>

#include <cmath>

#include "train/schedule.h"

namespace {
lra::TrainConfig schedule(const std::string& name, int64_t steps, int64_t warmup, double lr) {
  lra::TrainConfig t;
  t.schedule = name;
  t.steps = steps;
  t.warmup = warmup;
  t.lr = lr;
  return t;
}
}  // namespace

TEST(Schedule, OneCycleMatchesPyTorchLinearOneCycle) {
  // OneCycleLR(max_lr=1e-4, total_steps=100, pct_start=0.1, anneal_strategy='linear').
  lra::Schedule s(schedule("onecycle", 100, 10, 1e-4));
  EXPECT_DOUBLE_EQ(s.lr(0), 1e-4 / 25);
  EXPECT_DOUBLE_EQ(s.lr(9), 1e-4);
  EXPECT_NEAR(s.lr(99), 1e-4 / 25 / 1e4, 1e-18);
  EXPECT_NEAR(s.lr(4), 4e-6 + (1e-4 - 4e-6) * 4.0 / 9.0, 1e-15);
  EXPECT_NEAR(s.lr(54), 1e-4 + (4e-10 - 1e-4) * 45.0 / 90.0, 1e-15);
}

TEST(Schedule, OneCycleCyclesBeta1OnlyWhenAsked) {
  auto t = schedule("onecycle", 100, 10, 1e-3);
  EXPECT_DOUBLE_EQ(lra::Schedule(t).beta1(50), 0.9);
  t.cycle_beta1 = true;
  lra::Schedule s(t);
  EXPECT_DOUBLE_EQ(s.beta1(0), 0.95);
  EXPECT_DOUBLE_EQ(s.beta1(9), 0.85);
  EXPECT_DOUBLE_EQ(s.beta1(99), 0.95);
}

TEST(Schedule, RsqrtPeaksAtWarmupThenDecays) {
  // Official LRA ListOps: base 0.05, warm-up 1000 -> the peak 0.05/sqrt(1000) is train.lr.
  lra::Schedule s(schedule("rsqrt", 5000, 1000, 0.05 / std::sqrt(1000.0)));
  EXPECT_NEAR(s.lr(999), 0.05 / std::sqrt(1000.0), 1e-12);
  EXPECT_NEAR(s.lr(499), 0.5 * 0.05 / std::sqrt(1000.0), 1e-12);
  EXPECT_NEAR(s.lr(3999), 0.05 / std::sqrt(4000.0), 1e-12);
}

TEST(Schedule, CosineWarmsUpAndDecaysToZero) {
  lra::Schedule s(schedule("cosine", 1000, 100, 1e-3));
  EXPECT_NEAR(s.lr(99), 1e-3, 1e-12);
  EXPECT_NEAR(s.lr(599), 1e-3 * 0.5 * (1 + std::cos(M_PI * 0.5)), 1e-12);
  EXPECT_LT(s.lr(999), 1e-3 * 0.05);
  EXPECT_DOUBLE_EQ(lra::Schedule(schedule("constant", 10, 0, 2e-3)).lr(7), 2e-3);
}
