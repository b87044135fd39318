// Checkpoint pieces in-process: round trip, RNG continuation, metrics log cut-back, the
// config comparison of --resume, and the messages for missing or damaged checkpoints.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "../data/data_test_util.h"
#include "config/config.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/resume.h"
#include "util/atomic_file.h"

using lra::test::expect_error;
using lra::test::read_text;
using lra::test::TempDir;
using lra::test::write_text;

TEST(Checkpoint, RoundTripKeepsStateOptimizerAndRngStreams) {
  TempDir dir;
  torch::manual_seed(1);
  torch::nn::Linear net(3, 2);
  torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(0.1));
  net->forward(torch::randn({4, 3})).sum().backward();
  opt.step();
  lra::Checkpoint c;
  c.config_yaml = "seed: 7\n";
  c.state.step = 12;
  c.state.batches_consumed = 12;
  c.state.history = {{10, {0.25, 1.0 / 3.0, 200, 0.5}}};
  c.state.best_step = 10;
  c.state.best_val_accuracy = 0.25;
  c.state.window = {0.1 + 0.2, 7.0, 64.0, 512.0};
  c.state.metrics_offset = 321;
  c.state.nonfinite = {1, 2.5, 11};
  c.state.timing.step_ms = {1.5, 2.25};
  for (auto& p : net->parameters()) c.model.push_back(p.detach().clone());
  c.best = c.model;
  c.rng = lra::capture_rng_state(torch::kCPU);
  const auto expected_draw = torch::rand({5});
  const std::string path = dir / "checkpoint.pt";
  lra::save_checkpoint(path, c, opt);

  torch::manual_seed(99);
  torch::nn::Linear other(3, 2);
  torch::optim::AdamW opt2(other->parameters(), torch::optim::AdamWOptions(0.1));
  const auto back = lra::load_checkpoint(path, torch::kCPU, &opt2);
  EXPECT_EQ(back.config_yaml, "seed: 7\n");
  EXPECT_EQ(back.state.step, 12);
  EXPECT_EQ(back.state.history[0].result.loss, 1.0 / 3.0);  // doubles bit-exact
  EXPECT_EQ(back.state.window.loss_sum, 0.1 + 0.2);
  EXPECT_EQ(back.state.metrics_offset, 321);
  EXPECT_EQ(back.state.nonfinite.last_finite_step, 11);
  EXPECT_EQ(back.state.timing.step_ms, (std::vector<double>{1.5, 2.25}));
  ASSERT_EQ(back.model.size(), 2u);
  EXPECT_TRUE(torch::equal(back.model[0], c.model[0]));
  // The AdamW moments came back: one more identical step gives identical weights.
  lra::restore_rng_state(back.rng, torch::kCPU);
  EXPECT_TRUE(torch::equal(torch::rand({5}), expected_draw));
  const auto &s1 = opt.state(), &s2 = opt2.state();
  EXPECT_EQ(s1.size(), s2.size());
}

TEST(Checkpoint, MissingOrDamagedFilesAreNamed) {
  TempDir dir;
  expect_error([&] { lra::load_checkpoint(dir / "none.pt", torch::kCPU, nullptr); },
               {"none.pt: no checkpoint to resume from"});
  write_text(dir / "junk.pt", "not a zip archive at all");
  expect_error([&] { lra::load_checkpoint(dir / "junk.pt", torch::kCPU, nullptr); },
               {"junk.pt: not a readable checkpoint ("});
  // A module archive (best.pt) is a zip too, but not a checkpoint.
  torch::nn::Linear net(2, 2);
  torch::save(net, dir / "best.pt");
  expect_error([&] { lra::load_checkpoint(dir / "best.pt", torch::kCPU, nullptr); },
               {"best.pt: not a readable checkpoint ("});
}

TEST(MetricsLog, ResumingCutsBackToTheCheckpointOffset) {
  TempDir dir;
  const std::string path = dir / "metrics.jsonl";
  int64_t offset = 0;
  {
    lra::MetricsLog log(path);
    log.append({{"step", 1}});
    offset = log.offset();
    log.append({{"step", 2}});
  }
  std::ofstream(path, std::ios::app) << "{\"step\": 3, \"lo";  // killed mid-line
  {
    lra::MetricsLog log(path, offset);
    log.append({{"step", 2}});
  }
  EXPECT_EQ(read_text(path), "{\"step\":1}\n{\"step\":2}\n");
}

TEST(MetricsLog, AFullDiskIsReportedWithTheFileAndTheReason) {
  lra::MetricsLog log("/dev/full");
  expect_error(
      [&] {
        log.append({{"step", 1}});
      },
      {"/dev/full: cannot write: No space left on device"});
}

TEST(ResumeCheck, ListsResultChangingKeysOnly) {
  lra::Config a, b;
  b.train.lr = 0.5;
  b.attention.type = "favor";
  b.threads = 3;
  b.name = "other";
  b.output.dir = "elsewhere";
  b.train.log_every = 1;
  b.train.checkpoint_every = 9;
  b.output.save_checkpoint = false;
  const auto d = lra::result_changing_differences(a, b);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "attention.type: softmax in the checkpoint, favor now");
  EXPECT_EQ(d[1], "train.lr: 0.0001 in the checkpoint, 0.5 now");
  EXPECT_TRUE(lra::result_changing_differences(a, a).empty());
}

TEST(ResumeCheck, RunFolderSetsOutputDirAndName) {
  lra::Config c;
  lra::set_run_dir(c, "some/runs/a/");
  EXPECT_EQ(c.output.dir, "some/runs");
  EXPECT_EQ(c.name, "a");
  lra::set_run_dir(c, "b");
  EXPECT_EQ(c.output.dir, ".");
  EXPECT_EQ(c.name, "b");
}

TEST(AtomicFile, TemporaryNamesAreRecognised) {
  EXPECT_TRUE(lra::is_atomic_temp_name("checkpoint.pt.tmp.123"));
  EXPECT_TRUE(lra::is_atomic_temp_name(
      std::filesystem::path(lra::atomic_temp_name("x/report.json")).filename().string()));
  EXPECT_FALSE(lra::is_atomic_temp_name("checkpoint.pt"));
  EXPECT_FALSE(lra::is_atomic_temp_name("a.tmp."));
  EXPECT_FALSE(lra::is_atomic_temp_name("a.tmp.12x"));
}
