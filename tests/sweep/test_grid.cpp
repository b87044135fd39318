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

std::vector<std::string> names_of(const std::vector<lra::SweepPoint>& points) {
  std::vector<std::string> names;
  for (const auto& p : points) names.push_back(p.name);
  return names;
}

// The sweep behind the papers' tables: each backend at several feature counts, with exact
// softmax (which reads no feature count) run once as the baseline.
TEST(SweepGrid, EachBackendRunsOncePerSettingOfTheKeysItReads) {
  const auto type = lra::parse_grid_axis("attention.type=softmax,schoenbat");
  const auto features = lra::parse_grid_axis("attention.features=32,64,128");
  const auto points = lra::expand_backend_grid("quickstart", {type, features}, {42}, "softmax");
  EXPECT_EQ(names_of(points),
            (std::vector<std::string>{"quickstart__type=softmax__seed=42",
                                      "quickstart__type=schoenbat__features=32__seed=42",
                                      "quickstart__type=schoenbat__features=64__seed=42",
                                      "quickstart__type=schoenbat__features=128__seed=42"}));
  EXPECT_EQ(points[0].overrides, (std::vector<std::string>{"attention.type=softmax", "seed=42"}));
  EXPECT_EQ(points[3].overrides, (std::vector<std::string>{"attention.type=schoenbat",
                                                           "attention.features=128", "seed=42"}));
  const auto two_seeds =
      lra::expand_backend_grid("quickstart", {type, features}, {0, 1}, "softmax");
  ASSERT_EQ(two_seeds.size(), 2u * 4u);
  EXPECT_EQ(two_seeds[1].name, "quickstart__type=softmax__seed=1");
}

TEST(SweepGrid, AxesOutsideTheBackendsKeysApplyToEveryBackend) {
  const auto points =
      lra::expand_backend_grid("x",
                               {lra::parse_grid_axis("train.lr=1e-3,1e-4"),
                                lra::parse_grid_axis("attention.type=softmax,favor"),
                                lra::parse_grid_axis("attention.redraw_interval=0,100")},
                               {0}, "softmax");
  EXPECT_EQ(
      names_of(points),
      (std::vector<std::string>{
          "x__lr=1e-3__type=softmax__seed=0", "x__lr=1e-3__type=favor__redraw_interval=0__seed=0",
          "x__lr=1e-3__type=favor__redraw_interval=100__seed=0", "x__lr=1e-4__type=softmax__seed=0",
          "x__lr=1e-4__type=favor__redraw_interval=0__seed=0",
          "x__lr=1e-4__type=favor__redraw_interval=100__seed=0"}));
}

// Runs of sweeps whose backends read every axis keep their names, so such sweeps resume.
TEST(SweepGrid, BackendsReadingEveryAxisGiveThePlainCrossProduct) {
  const std::vector<lra::GridAxis> axes = {lra::parse_grid_axis("attention.type=favor,schoenbat"),
                                           lra::parse_grid_axis("attention.features=32,64"),
                                           lra::parse_grid_axis("data.dir=a/b")};
  const auto plain = lra::expand_grid("listops", axes, {0, 1});
  const auto aware = lra::expand_backend_grid("listops", axes, {0, 1}, "softmax");
  ASSERT_EQ(aware.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(aware[i].name, plain[i].name);
    EXPECT_EQ(aware[i].overrides, plain[i].overrides);
  }
  const auto one_backend = lra::expand_backend_grid("x", {axes[1]}, {0}, "favor");
  EXPECT_EQ(one_backend[0].name, "x__features=32__seed=0");
}

TEST(SweepGrid, AnAttentionAxisNoBackendOfTheSweepReadsIsRefused) {
  const auto type = lra::parse_grid_axis("attention.type=softmax,linformer");
  const auto features = lra::parse_grid_axis("attention.features=32,64");
  auto sweep_both = [&] { lra::expand_backend_grid("x", {type, features}, {0}, "favor"); };
  expect_error(sweep_both, {"attention.features", "softmax, linformer", "Read by: favor"});
  // Without an attention.type axis every run uses the config's backend.
  expect_error([&] { lra::expand_backend_grid("x", {features}, {0}, "softmax"); },
               {"attention.features", "(softmax)"});
}

// The config check, run on every point before anything runs, names these with their run.
TEST(SweepGrid, UnregisteredBackendsAndKeysAreSetAtEveryPoint) {
  const auto points = lra::expand_backend_grid(
      "x",
      {lra::parse_grid_axis("attention.type=softmax,favr"),
       lra::parse_grid_axis("attention.features=32"), lra::parse_grid_axis("attention.featurs=8")},
      {0}, "softmax");
  EXPECT_EQ(names_of(points),
            (std::vector<std::string>{"x__type=softmax__featurs=8__seed=0",
                                      "x__type=favr__features=32__featurs=8__seed=0"}));
}

// --set attention.features=64 with softmax and favor: favor's runs get it, softmax's do not, and
// neither name carries it; a --set key no backend of the sweep reads is refused.
TEST(SweepGrid, BackendSpecificSetOverridesGoToTheBackendsThatReadThem) {
  const auto set = lra::split_base_overrides({"attention.features=64", "train.steps=10"});
  EXPECT_EQ(set.common, (std::vector<std::string>{"train.steps=10"}));
  EXPECT_EQ(set.specific, (std::vector<std::string>{"attention.features=64"}));
  const std::vector<lra::GridAxis> axes = {lra::parse_grid_axis("attention.type=softmax,favor")};
  auto points = lra::expand_backend_grid("x", axes, {0}, "softmax");
  lra::add_backend_overrides(set.specific, axes, "softmax", points);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].name, "x__type=softmax__seed=0");
  EXPECT_EQ(points[0].overrides, (std::vector<std::string>{"attention.type=softmax", "seed=0"}));
  EXPECT_EQ(points[1].name, "x__type=favor__seed=0");
  EXPECT_EQ(points[1].overrides,
            (std::vector<std::string>{"attention.features=64", "attention.type=favor", "seed=0"}));
  expect_error(
      [&] { lra::add_backend_overrides({"attention.kernel=sqrt"}, axes, "softmax", points); },
      {"--set attention.kernel", "softmax, favor", "Read by: kernelized, schoenbat"});
}

}  // namespace
