// The built-in Pathfinder / Path-X generator: labels right by construction and by trace,
// distractors off the markers, determinism over threads, the raw layout round trip through
// lra_prepare's reader, the lra_train cache, and clear errors for impossible settings.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>

#include <torch/torch.h>

#include "config/config.h"
#include "data/pathfinder_set.h"
#include "data/prepared.h"
#include "data/raw/pathfinder.h"
#include "data/raw/sha256.h"
#include "data_test_util.h"

namespace lra {
namespace {

using pathfinder::Contour;
using pathfinder::Stimulus;
using pathfinder::StimulusParams;

std::vector<Stimulus> generate_range(const StimulusParams& p, int64_t n, int threads,
                                     uint64_t seed = 0) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  std::vector<Stimulus> out(idx.size());
  pathfinder::generate_indices(p, seed, idx, threads, [&](int64_t r, Stimulus&& s) {
    out[static_cast<size_t>(r)] = std::move(s);
  });
  return out;
}

bool same_point(pathfinder::Point a, pathfinder::Point b) {
  return std::abs(a.y - b.y) < 1e-9 && std::abs(a.x - b.x) < 1e-9;
}

TEST(PathfinderGenerator, MarkersSitOnOneContourExactlyWhenTheLabelIsOne) {
  for (const auto& difficulty : pathfinder::difficulty_names()) {
    const auto p = pathfinder::preset(32, difficulty);
    for (const Stimulus& s : generate_range(p, 300, 2)) {
      ASSERT_GE(s.contours.size(), 2u);
      const Contour& a = s.contours[static_cast<size_t>(s.origin_contour)];
      const Contour& b = s.contours[static_cast<size_t>(s.terminal_contour)];
      EXPECT_EQ(a.kind, Contour::kTarget);
      EXPECT_EQ(b.kind, Contour::kTarget);
      // Traced from the record: the first marker is the free end of a's first paddle, the
      // second the free end of b's last paddle; one contour exactly when the label says so.
      EXPECT_TRUE(same_point(s.markers[0], a.paddles.front().a));
      EXPECT_TRUE(same_point(s.markers[1], b.paddles.back().b) ||
                  std::hypot(s.markers[1].y - b.paddles.back().b.y,
                             s.markers[1].x - b.paddles.back().b.x) <= 1.0);
      EXPECT_EQ(s.label == 1, &a == &b) << difficulty;
      EXPECT_EQ(static_cast<int>(s.contours[0].paddles.size()), p.contour_length);
      EXPECT_EQ(static_cast<int>(s.contours[1].paddles.size()), p.contour_length);
      int distractors = 0;
      for (const Contour& c : s.contours)
        if (c.kind == Contour::kDistractor) {
          ++distractors;
          EXPECT_EQ(static_cast<int>(c.paddles.size()), p.distractor_length);
        }
      EXPECT_LE(distractors, p.distractors);
    }
  }
}

TEST(PathfinderGenerator, NoDistractorInkTouchesAMarker) {
  for (int res : {32, 128}) {
    const auto p = pathfinder::preset(res, "curv_contour_length_14");
    for (const Stimulus& s : generate_range(p, res == 32 ? 200 : 12, 2)) {
      std::vector<pathfinder::Paddle> distractor_paddles;
      for (const Contour& c : s.contours)
        if (c.kind != Contour::kTarget)
          distractor_paddles.insert(distractor_paddles.end(), c.paddles.begin(), c.paddles.end());
      const auto ink = pathfinder::render_paddles(p, distractor_paddles);
      for (const auto& m : s.markers) {
        const auto marker = pathfinder::render_marker(p, m);
        for (size_t i = 0; i < ink.size(); ++i)
          ASSERT_FALSE(marker[i] > 0 && ink[i] > 0)
              << "resolution " << res << ": distractor ink on a marker at pixel " << i;
      }
    }
  }
}

TEST(PathfinderGenerator, LabelsAreBalancedAndPixelsAreDrawn) {
  const auto p = pathfinder::preset(32, "curv_contour_length_14");
  const auto all = generate_range(p, 2000, 2);
  int64_t ones = 0;
  for (const auto& s : all) {
    ones += s.label;
    ASSERT_EQ(s.pixels.size(), 32u * 32u);
    EXPECT_EQ(*std::max_element(s.pixels.begin(), s.pixels.end()), 255);
  }
  EXPECT_NEAR(static_cast<double>(ones) / 2000.0, 0.5, 0.02);
}

TEST(PathfinderGenerator, SameBytesOnEveryThreadCountAndAPinnedHash) {
  const auto p = pathfinder::preset(32, "curv_contour_length_14");
  const auto one = generate_range(p, 40, 1), three = generate_range(p, 40, 3);
  raw::Sha256 digest;
  for (size_t i = 0; i < one.size(); ++i) {
    ASSERT_EQ(one[i].pixels, three[i].pixels) << "image " << i;
    ASSERT_EQ(one[i].label, three[i].label);
    if (i < 8) {
      digest.update(one[i].pixels.data(), one[i].pixels.size());
      digest.update(std::to_string(one[i].label));
    }
  }
  // Pinned: a change here changes every generated set (bump kGeneratorVersion with it).
  EXPECT_EQ(digest.hex(), "0235d45cc984b36f60bb6ce08078ef2fb89c8837e05bc9543be0f85a0adc46df");
  EXPECT_NE(pathfinder::generate(p, 0, 0).pixels, pathfinder::generate(p, 1, 0).pixels);
}

TEST(PathfinderGenerator, ImpossibleSettingsNameTheParameter) {
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto p = pathfinder::preset(32, "curv_baseline");
  EXPECT_NE(message([&] { pathfinder::set_param(p, "contour_lenght=3"); }).find("contour_length"),
            std::string::npos);
  EXPECT_NE(message([&] { pathfinder::set_param(p, "continuity=abc"); }).find("continuity"),
            std::string::npos);
  auto q = p;
  pathfinder::set_param(q, "seed_distance=9");
  EXPECT_NE(message([&] { pathfinder::validate(q); }).find("seed_distance"), std::string::npos);
  q = p;
  pathfinder::set_param(q, "paddle_thickness=0.3");
  EXPECT_NE(message([&] { pathfinder::validate(q); }).find("paddle_thickness"), std::string::npos);
  q = p;
  pathfinder::set_param(q, "contour_length=200");
  pathfinder::set_param(q, "max_image_retrial=3");
  EXPECT_NE(message([&] { pathfinder::generate(q, 0, 0); }).find("contour_length"),
            std::string::npos);
  EXPECT_NE(message([] { pathfinder::preset(32, "curv_hard"); }).find("curv_baseline"),
            std::string::npos);

  test::TempDir dir;
  pathfinder::SetOptions o;
  o.params = p;
  o.images = 0;
  EXPECT_NE(message([&] { pathfinder::write_set(o, dir / "out", {}); }).find("images"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(PathfinderGenerator, RawLayoutReadsBackToTheSameArrays) {
  test::TempDir dir;
  pathfinder::SetOptions o;
  o.params = pathfinder::preset(32, "curv_baseline");
  o.difficulty = "curv_baseline";
  o.images = 60;
  o.seed = 7;
  o.batch_size = 25;  // three batches, the last one partial
  o.raw_dir = dir / "raw";
  o.threads = 2;
  pathfinder::write_set(o, dir / "prepared", {});
  const TaskData direct = load_prepared(dir / "prepared");
  EXPECT_TRUE(std::filesystem::exists(dir / "raw/curv_baseline/imgs/2/sample_9.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "raw/curv_baseline/metadata/2.npy"));

  raw::PathfinderOptions read;
  read.difficulty = "curv_baseline";
  read.seed = 7;
  const raw::Prepared from_png = raw::prepare_pathfinder(dir / "raw", "pathfinder", read);
  const Split* a[] = {&direct.train, &direct.val, &direct.test};
  const Split* b[] = {&from_png.data.train, &from_png.data.val, &from_png.data.test};
  for (int s = 0; s < 3; ++s) {
    ASSERT_EQ(a[s]->tokens.scalar_type(), b[s]->tokens.scalar_type());
    EXPECT_TRUE(torch::equal(a[s]->tokens, b[s]->tokens)) << a[s]->name;
    EXPECT_TRUE(torch::equal(a[s]->labels, b[s]->labels)) << a[s]->name;
  }
  EXPECT_EQ(direct.train.size(), 48);
  EXPECT_EQ(direct.max_length, 1024);
  const auto meta = read_prepared_meta(dir / "prepared");
  EXPECT_EQ(meta.at("generator").at("params").at("contour_length"), 6);
  EXPECT_EQ(meta.at("generator").at("seed"), 7);
}

TEST(PathfinderGenerator, AnInterruptedSetLeavesNothingBehind) {
  test::TempDir dir;
  pathfinder::SetOptions o;
  o.params = pathfinder::preset(32, "curv_baseline");
  o.images = 40;
  std::atomic<bool> stop{true};
  EXPECT_THROW(pathfinder::write_set(o, dir / "out", {}, &stop), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
  for (const auto& e : std::filesystem::directory_iterator(dir.str()))
    ADD_FAILURE() << "left behind: " << e.path();
}

TEST(PathfinderGenerator, TrainerCacheIsReusedUntilASettingChanges) {
  test::TempDir dir;
  Config c;
  c.task = "pathfinder";
  c.data.source = "synthetic";
  c.data.max_length = 1024;
  c.data.pathfinder.images = 30;
  c.data.pathfinder.difficulty = "curv_baseline";
  c.data.pathfinder.cache_dir = dir / "cache";
  c.threads = 2;
  const std::string first = pathfinder::cached_set(c);
  const auto stamp = std::filesystem::last_write_time(first + "/meta.json");
  EXPECT_EQ(pathfinder::cached_set(c), first);
  EXPECT_EQ(std::filesystem::last_write_time(first + "/meta.json"), stamp);
  const TaskData data = load_task_data(c);
  EXPECT_EQ(data.task, "pathfinder");
  EXPECT_EQ(data.train.size() + data.val.size() + data.test.size(), 30);

  c.data.pathfinder.params = "continuity=1.5";
  const std::string second = pathfinder::cached_set(c);
  EXPECT_NE(second, first);
  EXPECT_EQ(read_prepared_meta(second).at("generator").at("params").at("continuity"), 1.5);
  c.data.pathfinder.params = "continuty=1.5";
  EXPECT_THROW(pathfinder::cached_set(c), std::invalid_argument);
}

}  // namespace
}  // namespace lra
