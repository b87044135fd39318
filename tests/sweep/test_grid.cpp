#include <gtest/gtest.h>

#include <set>

#include "../data/data_test_util.h"
#include "sweep/grid.h"

namespace {

using lra::test::expect_error;

TEST(SweepGrid, CrossProductTimesSeedsWithStableNames) {
  const auto type = lra::parse_grid_axis("attention.type=softmax,favor");
  const auto m = lra::parse_grid_axis("attention.features=32, 64 ,128");
  const auto points = lra::expand_grid("listops", {type, m}, {0, 1});
  ASSERT_EQ(points.size(), 2u * 3u * 2u);
  EXPECT_EQ(points.front().name, "listops__type=softmax__features=32__seed=0");
  EXPECT_EQ(points.back().name, "listops__type=favor__features=128__seed=1");
  EXPECT_EQ(points[1].overrides, (std::vector<std::string>{"attention.type=softmax",
                                                           "attention.features=32", "seed=1"}));
  std::set<std::string> names;
  for (const auto& p : points) names.insert(p.name);
  EXPECT_EQ(names.size(), points.size());
  // Expanding again gives the same names in the same order: reruns find their runs.
  const auto again = lra::expand_grid("listops", {type, m}, {0, 1});
  for (size_t i = 0; i < points.size(); ++i) EXPECT_EQ(again[i].name, points[i].name);
}

TEST(SweepGrid, NoAxesIsOneRunPerSeed) {
  const auto points = lra::expand_grid("quickstart", {}, {5, 6, 7});
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[2].name, "quickstart__seed=7");
  EXPECT_EQ(points[2].overrides, (std::vector<std::string>{"seed=7"}));
}

TEST(SweepGrid, SharedLastComponentsUseTheWholeKey) {
  const auto a = lra::parse_grid_axis("train.eps=1e-6,1e-8");
  const auto b = lra::parse_grid_axis("attention.eps=1e-6");
  const auto points = lra::expand_grid("x", {a, b}, {0});
  EXPECT_EQ(points[0].name, "x__train.eps=1e-6__attention.eps=1e-6__seed=0");
}

TEST(SweepGrid, UnsafeCharactersBecomeUnderscores) {
  EXPECT_EQ(lra::sanitize_name_part("data/prepared dir"), "data_prepared_dir");
  const auto points = lra::expand_grid("x", {lra::parse_grid_axis("data.dir=a/b")}, {0});
  EXPECT_EQ(points[0].name, "x__dir=a_b__seed=0");
  EXPECT_EQ(points[0].overrides[0], "data.dir=a/b");  // the value itself is untouched
}

TEST(SweepGrid, BadAxesAreClearErrors) {
  expect_error([] { lra::parse_grid_axis("attention.features"); }, {"expected key.path=v1,v2"});
  expect_error([] { lra::parse_grid_axis("=1,2"); }, {"expected key.path=v1,v2"});
  expect_error([] { lra::parse_grid_axis("attention.features="); }, {"no values"});
  expect_error([] { lra::parse_grid_axis("attention.features=1,,2"); }, {"empty value"});
  expect_error([] { lra::parse_grid_axis("attention.features=64,64"); }, {"'64' repeats"});
  const auto seed = lra::parse_grid_axis("seed=1,2");
  expect_error([&] { lra::expand_grid("x", {seed}, {0}); }, {"seed", "--seeds"});
  const auto dir = lra::parse_grid_axis("output.dir=a,b");
  expect_error([&] { lra::expand_grid("x", {dir}, {0}); }, {"output.dir", "set by the sweep"});
  const auto m = lra::parse_grid_axis("attention.features=1");
  expect_error([&] { lra::expand_grid("x", {m, m}, {0}); }, {"given twice"});
  expect_error([&] { lra::expand_grid("x", {m}, {}); }, {"at least one seed"});
  const auto clash = lra::parse_grid_axis("data.dir=a/b,a_b");
  expect_error([&] { lra::expand_grid("x", {clash}, {0}); }, {"same run name", "x__dir=a_b"});
}

}  // namespace
