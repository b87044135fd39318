// Kill-and-resume: a run SIGKILLed between checkpoints and resumed ends exactly like an
// uninterrupted one; resuming under a config that changes results is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "../data/data_test_util.h"
#include "metrics_test_util.h"
#include "process_util.h"
#include "tensorboard_test_util.h"
#include "train/checkpoint.h"

namespace fs = std::filesystem;
using lra::test::read_text;
using lra::test::run_lra_train;
using lra::test::TempDir;
using nlohmann::json;

namespace {

// A quickstart-like run that takes about a second: dropout and FAVOR+ feature redraws make
// the result depend on the RNG streams; log_every does not divide checkpoint_every, so a
// metrics line is half-summed at each checkpoint.
std::vector<std::string> run_args(const std::string& runs, const std::string& name, int64_t steps) {
  std::vector<std::string> sets = {"name=" + name,
                                   "output.dir=" + runs,
                                   "threads=1",
                                   "seed=5",
                                   "data.max_length=32",
                                   "data.synthetic.train_size=2000",
                                   "data.synthetic.val_size=200",
                                   "data.synthetic.test_size=200",
                                   "data.synthetic.min_length=4",
                                   "data.synthetic.max_length=32",
                                   "model.dim=32",
                                   "model.layers=1",
                                   "model.mlp_dim=64",
                                   "model.head_hidden=32",
                                   "model.dropout=0.1",
                                   "attention.type=favor",
                                   "attention.features=16",
                                   "attention.redraw_interval=7",
                                   "train.batch_size=32",
                                   "train.steps=" + std::to_string(steps),
                                   "train.warmup=20",
                                   "train.log_every=7",
                                   "train.checkpoint_every=20",
                                   "eval.every=50"};
  std::vector<std::string> args = {
      "--config", std::string(LRA_SOURCE_DIR) + "/configs/quickstart.yaml", "--quiet"};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  return args;
}

std::vector<json> metrics_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> out;
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line);
    for (auto timing : lra::test::kMetricsTimingKeys) j.erase(std::string(timing));
    out.push_back(j);
  }
  return out;
}

int64_t line_count(const std::string& path) {
  std::ifstream in(path);
  return std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n');
}

// (tag, step, value) of every scalar event but timings; "config" text at step 0.
std::vector<std::tuple<std::string, int64_t, double>> tensorboard_curves(const std::string& run) {
  std::vector<std::tuple<std::string, int64_t, double>> out;
  for (const auto& e : lra::test::read_events(run + "/events.out.tfevents.lra_train")) {
    const bool timing =
        e.tag.rfind("train/", 0) == 0 && lra::test::is_metrics_timing_key(e.tag.substr(6));
    if (!e.tag.empty() && !timing) out.emplace_back(e.tag, e.step, e.value);
  }
  return out;
}

json report_of(const std::string& run_dir) {
  std::ifstream in(run_dir + "/report.json");
  return json::parse(in);
}

void expect_same_tensors(const lra::NamedTensors& a, const lra::NamedTensors& b, const char* what) {
  ASSERT_EQ(a.keys(), b.keys()) << what;
  for (const auto& item : a)
    EXPECT_TRUE(torch::equal(item.value(), b[item.key()]))
        << what << " " << item.key() << " differs";
}

}  // namespace

// One uninterrupted run of run_args(..., kSteps), shared by the tests that stop and resume the
// same config.
class KillAndResumeCli : public ::testing::Test {
 protected:
  static constexpr int64_t kSteps = 300;
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ASSERT_EQ(run_lra_train(run_args(runs(), "whole", kSteps), *dir_ / "whole.log"), 0)
        << read_text(*dir_ / "whole.log");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string runs() { return *dir_ / "runs"; }

  // Everything but timings equals the uninterrupted run: report, metrics lines, weights.
  static void expect_same_as_uninterrupted(const std::string& run) {
    const std::string whole = runs() + "/whole";
    const json a = report_of(run), b = report_of(whole);
    EXPECT_EQ(a["status"], "completed");
    for (const char* key : {"validation_history", "best", "steps_done", "nonfinite_steps_skipped",
                            "parameters", "data"})
      EXPECT_EQ(a[key], b[key]) << key;
    for (const char* key : {"accuracy", "loss", "examples"})  // "seconds" is a timing
      EXPECT_EQ(a["test"][key], b["test"][key]) << "test " << key;
    EXPECT_EQ(metrics_lines(run + "/metrics.jsonl"), metrics_lines(whole + "/metrics.jsonl"));
    // No step twice in the TensorBoard curves: events after the checkpoint were dropped.
    const auto curves = tensorboard_curves(run);
    EXPECT_EQ(curves, tensorboard_curves(whole));
    EXPECT_GT(curves.size(), 100u);
    const auto ca = lra::load_checkpoint(run + "/" + lra::kCheckpointFile, torch::kCPU);
    const auto cb = lra::load_checkpoint(whole + "/" + lra::kCheckpointFile, torch::kCPU);
    EXPECT_EQ(ca.state.step, kSteps);
    expect_same_tensors(ca.model, cb.model, "final model");
    expect_same_tensors(ca.best, cb.best, "best model");
    expect_same_tensors(ca.optimizer, cb.optimizer, "AdamW state");
    EXPECT_EQ(read_text(run + "/best.pt"), read_text(whole + "/best.pt"));
    std::cout << "[ resumed run: test accuracy " << a["test"]["accuracy"] << " loss "
              << a["test"]["loss"] << "; uninterrupted: " << b["test"]["accuracy"] << " loss "
              << b["test"]["loss"] << " ]\n";
  }
  static TempDir* dir_;
};
TempDir* KillAndResumeCli::dir_ = nullptr;

TEST_F(KillAndResumeCli, SigkillBetweenCheckpointsThenResumeEndsExactlyAsUninterrupted) {
  const std::string run = runs() + "/killed", metrics = run + "/metrics.jsonl";
  // SIGKILL once a checkpoint exists and training has logged a line past it.
  auto child = lra::test::start_lra_train(run_args(runs(), "killed", kSteps), *dir_ / "k.log");
  const std::string checkpoint = run + "/" + lra::kCheckpointFile;
  for (int i = 0; i < 20000 && !fs::exists(checkpoint); ++i) usleep(1000);
  const int64_t lines_at_checkpoint = line_count(metrics);
  for (int i = 0; i < 20000 && line_count(metrics) <= lines_at_checkpoint; ++i) usleep(1000);
  ASSERT_EQ(kill(child.pid, SIGKILL), 0);
  ASSERT_EQ(lra::test::wait_child(child), 128 + SIGKILL) << read_text(*dir_ / "k.log");
  ASSERT_FALSE(fs::exists(run + "/report.json")) << "the run finished before it was killed";
  const auto at = lra::load_checkpoint(checkpoint, torch::kCPU).state;
  const int64_t lines_at_kill = line_count(metrics);
  ASSERT_GT(at.step, 0);
  std::cout << "[ SIGKILL after " << lines_at_kill << " metrics lines; checkpoint at step "
            << at.step << " of " << kSteps << " with " << at.metrics_offset << " log bytes ]\n";

  // Resume from the run folder alone (its config.yaml).
  ASSERT_EQ(run_lra_train({"--resume", run}, *dir_ / "resumed.log"), 0)
      << read_text(*dir_ / "resumed.log");
  EXPECT_NE(read_text(*dir_ / "resumed.log")
                .find("resumed from " + checkpoint + " at step " + std::to_string(at.step)),
            std::string::npos)
      << read_text(*dir_ / "resumed.log");
  expect_same_as_uninterrupted(run);
}

TEST_F(KillAndResumeCli, SigtermCheckpointsTheCurrentStepAndResumesExactly) {
  const std::string run = runs() + "/stopped";
  auto child = lra::test::start_lra_train(run_args(runs(), "stopped", kSteps), *dir_ / "t.log");
  for (int i = 0; i < 20000 && line_count(run + "/metrics.jsonl") < 5; ++i) usleep(1000);
  ASSERT_EQ(kill(child.pid, SIGTERM), 0);
  ASSERT_EQ(lra::test::wait_child(child), 128 + SIGTERM) << read_text(*dir_ / "t.log");
  const json report = report_of(run);
  ASSERT_EQ(report["status"], "interrupted");
  const auto at = lra::load_checkpoint(run + "/" + lra::kCheckpointFile, torch::kCPU);
  EXPECT_EQ(at.state.step, report["steps_done"].get<int64_t>());
  EXPECT_LT(at.state.step, kSteps);
  // Resume by the config and --resume (the run folder from output.dir/name).
  auto args = run_args(runs(), "stopped", kSteps);
  args.push_back("--resume");
  ASSERT_EQ(run_lra_train(args, *dir_ / "t2.log"), 0) << read_text(*dir_ / "t2.log");
  expect_same_as_uninterrupted(run);
}

// A finished short run to resume: its checkpoint is at the last step, so a resume only tests.
class ResumeConfigCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(run_lra_train(run_args(runs_, "done", 40), dir_ / "first.log"), 0)
        << read_text(dir_ / "first.log");
    report_ = read_text(run_ + "/report.json");
  }
  int resume(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--resume", run_, "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_lra_train(args, log_);
  }
  TempDir dir_;
  std::string runs_ = dir_ / "runs", run_ = runs_ + "/done", log_ = dir_ / "resume.log";
  std::string report_;
};

TEST_F(ResumeConfigCli, ResultChangingKeysAreRefusedWithTheirListAndNothingIsWritten) {
  EXPECT_EQ(resume({"--set", "train.lr=0.5", "--set", "model.dim=16", "--set", "seed=6"}), 2);
  const std::string log = read_text(log_);
  for (const char* part :
       {"cannot resume", "done/checkpoint.pt: the config differs",
        "train.lr: 0.001 in the checkpoint, 0.5 now", "model.dim: 32 in the checkpoint, 16 now",
        "seed: 5 in the checkpoint, 6 now", "--force"})
    EXPECT_NE(log.find(part), std::string::npos) << "missing: " << part << "\nlog: " << log;
  EXPECT_EQ(log.find("threads"), std::string::npos) << log;
  EXPECT_EQ(read_text(run_ + "/report.json"), report_);
}

TEST_F(ResumeConfigCli, ResultNeutralKeysMayDiffer) {
  EXPECT_EQ(resume({"--set", "threads=2", "--set", "train.log_every=3", "--set",
                    "train.checkpoint_every=5", "--set", "output.save_checkpoint=false"}),
            0)
      << read_text(log_);
  std::ifstream in(run_ + "/report.json");
  const json report = json::parse(in);
  EXPECT_EQ(report["status"], "completed");
  EXPECT_EQ(report["config"]["train"]["log_every"], 3);
}

TEST_F(ResumeConfigCli, ForceResumesUnderTheNewConfig) {
  ASSERT_EQ(resume({"--set", "train.lr=0.5", "--force"}), 0) << read_text(log_);
  EXPECT_NE(read_text(log_).find("--force: resuming under a config that differs"),
            std::string::npos);
  std::ifstream in(run_ + "/report.json");
  EXPECT_EQ(json::parse(in)["config"]["train"]["lr"], 0.5);
}

TEST_F(ResumeConfigCli, AModelThatNoLongerFitsFailsNamingTheCheckpoint) {
  EXPECT_EQ(resume({"--set", "model.dim=16", "--force"}), 1);
  EXPECT_NE(read_text(log_).find("done/checkpoint.pt: encoder.token_embedding.weight has shape "
                                 "[16, 32], the model expects [16, 16]"),
            std::string::npos)
      << read_text(log_);
}

TEST(ResumeCli, WithoutACheckpointIsRefused) {
  TempDir dir;
  const int code =
      run_lra_train({"--config", std::string(LRA_SOURCE_DIR) + "/configs/quickstart.yaml", "--set",
                     "output.dir=" + (dir / "runs"), "--resume"},
                    dir / "log");
  EXPECT_EQ(code, 2);
  EXPECT_NE(
      read_text(dir / "log").find("runs/quickstart/checkpoint.pt: no checkpoint to resume from"),
      std::string::npos)
      << read_text(dir / "log");
  EXPECT_FALSE(fs::exists(dir / "runs"));
  EXPECT_EQ(run_lra_train({"--resume"}, dir / "log2"), 2);
  EXPECT_NE(read_text(dir / "log2").find("--resume: give the run folder"), std::string::npos);
  EXPECT_EQ(run_lra_train(
                {"--config", std::string(LRA_SOURCE_DIR) + "/configs/quickstart.yaml", "--force"},
                dir / "log4"),
            2);
  EXPECT_NE(read_text(dir / "log4").find("--force: only meaningful with --resume"),
            std::string::npos);
  EXPECT_EQ(run_lra_train({"--resume", dir / "nothing"}, dir / "log3"), 2);
  EXPECT_NE(read_text(dir / "log3").find("nothing/config.yaml: cannot open config file"),
            std::string::npos)
      << read_text(dir / "log3");
}
