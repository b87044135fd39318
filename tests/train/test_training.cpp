#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iterator>

#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "attention_spec/backend_spec.h"
#include "config/config.h"
#include "config/schema.h"
#include "data/data_test_util.h"
#include "train/metrics_test_util.h"
#include "train/run.h"

namespace fs = std::filesystem;

namespace {

// An easy ListOps variant: one operator over a few digits.
lra::Config easy_config(const std::string& name, int64_t steps) {
  std::string yaml = R"(
name: NAME
seed: 3
threads: 1
data:
  max_length: 12
  synthetic: {train_size: 3000, val_size: 300, test_size: 300, min_length: 3, max_length: 8,
              max_depth: 2, max_args: 5}
model: {dim: 32, heads: 2, layers: 1, mlp_dim: 64, head_hidden: 64, dropout: 0.0,
        attention_dropout: 0.0}
train: {batch_size: 32, steps: STEPS, warmup: 20, lr: 3.0e-3, log_every: 10}
eval: {every: 100}
)";
  yaml.replace(yaml.find("NAME"), 4, name);
  yaml.replace(yaml.find("STEPS"), 5, std::to_string(steps));
  auto c = lra::load_config_text(yaml);
  c.output.dir = (fs::temp_directory_path() / "lra_train_tests").string();
  return c;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

int64_t count_lines(const std::string& path) {
  std::ifstream in(path);
  return std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n');
}

}  // namespace

TEST(Training, TinyRunLearnsAndWritesAParseableReport) {
  auto config = easy_config("learns", 400);
  auto outcome = lra::run_training(config, {false});
  ASSERT_TRUE(outcome.ok) << outcome.error;
  auto report = read_json(outcome.report_path);
  EXPECT_EQ(report["format"], "lra_train.report");
  EXPECT_EQ(report["status"], "completed");
  const double acc = report["test"]["accuracy"], baseline = report["baseline_test_accuracy"];
  EXPECT_GT(acc, baseline + 0.2) << "test accuracy " << acc << " vs majority baseline " << baseline;
  for (const char* key : {"environment", "data", "validation_history", "best", "train_throughput",
                          "eval_throughput", "peak_memory", "parameters", "wall_time_s"})
    EXPECT_TRUE(report.contains(key)) << key;
  EXPECT_GT(report["train_throughput"]["samples_per_s"].get<double>(), 0.0);
  // Utilisation: measured, so only its consistency is checked, not its size.
  const auto& tp = report["train_throughput"];
  EXPECT_GT(tp["model_gflop_per_step"].get<double>(), 0.0);
  EXPECT_GT(tp["matmul_gflops"].get<double>(), 0.0);
  EXPECT_NEAR(
      tp["achieved_gflops"].get<double>(),
      tp["model_gflop_per_step"].get<double>() / (tp["ms_per_step_median"].get<double>() * 1e-3),
      1e-6 * tp["achieved_gflops"].get<double>());
  EXPECT_NEAR(tp["utilisation"].get<double>(),
              tp["achieved_gflops"].get<double>() / tp["matmul_gflops"].get<double>(), 1e-9);
  EXPECT_GT(report["peak_memory"]["mib"].get<double>(), 0.0);
  EXPECT_EQ(report["config"]["train"]["steps"], 400);
  EXPECT_TRUE(fs::exists(outcome.run_dir + "/best.pt"));
  // 400 steps logged every 10, plus 4 validation lines.
  std::ifstream metrics(outcome.run_dir + "/metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line); ++lines)
    EXPECT_NO_THROW(nlohmann::json::parse(line));
  EXPECT_EQ(lines, 44);
  // The resolved config reruns the same thing, from config.yaml or from report.json.
  auto again = lra::load_config(outcome.run_dir + "/config.yaml");
  EXPECT_EQ(lra::to_yaml(again), lra::to_yaml(config));
  EXPECT_EQ(lra::to_yaml(lra::load_config(outcome.report_path)), lra::to_yaml(config));
}

TEST(Training, SameSeedSameCurveOnCpu) {
  auto a = lra::run_training(easy_config("det_a", 60), {false});
  auto b = lra::run_training(easy_config("det_b", 60), {false});
  ASSERT_TRUE(a.ok && b.ok);
  EXPECT_NE(lra::test::read_text(a.run_dir + "/metrics.jsonl").find("ms_per_step"),
            std::string::npos);
  // Every logged loss and accuracy is identical (timings differ, so compare those fields only).
  std::ifstream fa(a.run_dir + "/metrics.jsonl"), fb(b.run_dir + "/metrics.jsonl");
  std::string la, lb;
  int compared = 0;
  while (std::getline(fa, la) && std::getline(fb, lb)) {
    auto ja = nlohmann::json::parse(la), jb = nlohmann::json::parse(lb);
    for (auto timing : lra::test::kMetricsTimingKeys) {
      ja.erase(std::string(timing));
      jb.erase(std::string(timing));
    }
    EXPECT_EQ(ja, jb);
    ++compared;
  }
  EXPECT_EQ(compared, 7);
  auto ra = read_json(a.report_path), rb = read_json(b.report_path);
  EXPECT_EQ(ra["test"]["accuracy"], rb["test"]["accuracy"]);
  EXPECT_EQ(ra["test"]["loss"], rb["test"]["loss"]);
}

TEST(TrainingCli, RejectsBadConfigWithExitCode2AndWritesNothing) {
  const auto out = fs::temp_directory_path() / "lra_train_tests_cli";
  lra::test::remove_tree(out);
  const std::string cmd = std::string(LRA_TRAIN_BIN) + " --config " + LRA_SOURCE_DIR +
                          "/configs/quickstart.yaml --set output.dir=" + out.string() +
                          " --set train.lr_rate=1 > " + out.string() + ".log 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_NE(lra::test::read_text(out.string() + ".log")
                .find("train.lr_rate: unknown key; did you mean train.lr?"),
            std::string::npos);
}

TEST(Training, FailedRunStillWritesAReportNamingTheProblem) {
  auto config = easy_config("fails", 30);
  config.data.source = "files";
  config.data.dir = "/nonexistent";
  auto outcome = lra::run_training(config, {false});
  EXPECT_FALSE(outcome.ok);
  auto report = read_json(outcome.report_path);
  EXPECT_EQ(report["status"], "failed");
  EXPECT_NE(report["error"].get<std::string>().find("/nonexistent: prepared data folder not found"),
            std::string::npos);
}

// Every backend learns the easy task from lra_train's path by changing only attention.type.
class BackendTraining : public ::testing::TestWithParam<std::string> {};

TEST_P(BackendTraining, AboveMajorityBaseline) {
  auto config = easy_config("backend_" + GetParam(), 300);
  config.attention.features = 32;
  // bigbird's default block and reformer's default bucket (64) exceed the 12 tokens (refused).
  config.attention.block_size = 4;
  config.attention.bucket_size = 4;
  config.attention = lra::with_backend(config.attention, GetParam());
  auto outcome = lra::run_training(config, {false});
  ASSERT_TRUE(outcome.ok) << outcome.error;
  auto report = read_json(outcome.report_path);
  const double acc = report["test"]["accuracy"], baseline = report["baseline_test_accuracy"];
  EXPECT_GT(acc, baseline + 0.15) << GetParam() << ": test accuracy " << acc << " vs baseline "
                                  << baseline;
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendTraining,
                         ::testing::ValuesIn(lra::attention_backend_names()),
                         [](const auto& info) { return info.param; });

// favor's component functions and samplers that change how it trains (data-dependent
// parameters, non-positive features, learned factors) also learn it.
class FavorMatrixTraining : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(FavorMatrixTraining, AboveMajorityBaseline) {
  const auto& [component, sampler] = GetParam();
  auto config = easy_config("favor_" + component + "_" + sampler, 300);
  config.attention.type = "favor";
  config.attention.features = 32;
  config.attention.component = component;
  config.attention.weight_sampler = sampler;
  auto outcome = lra::run_training(config, {false});
  ASSERT_TRUE(outcome.ok) << outcome.error;
  auto report = read_json(outcome.report_path);
  const double acc = report["test"]["accuracy"], baseline = report["baseline_test_accuracy"];
  EXPECT_GT(acc, baseline + 0.15) << component << "/" << sampler << ": test accuracy " << acc
                                  << " vs baseline " << baseline;
}

INSTANTIATE_TEST_SUITE_P(Settings, FavorMatrixTraining,
                         ::testing::Values(std::pair{"oprf", "qmc"}, std::pair{"saderf", "sorf"},
                                           std::pair{"trigonometric", "gaussian"},
                                           std::pair{"positive", "fastfood_learned"}),
                         [](const auto& info) {
                           return info.param.first + "_" + info.param.second;
                         });

TEST(TrainingCli, SigtermStopsAfterTheStepWithACheckpointAndAnInterruptedReport) {
  lra::test::TempDir dir;
  const std::string metrics = dir / "runs/quickstart/metrics.jsonl";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string out = "output.dir=" + (dir / "runs");
    const std::string config = std::string(LRA_SOURCE_DIR) + "/configs/quickstart.yaml";
    if (!freopen((dir / "log.txt").c_str(), "w", stderr)) _exit(126);
    execl(LRA_TRAIN_BIN, LRA_TRAIN_BIN, "-c", config.c_str(), "-s", out.c_str(), "-s",
          "train.steps=1000000", "-s", "train.log_every=1", "-s", "threads=1", (char*)nullptr);
    _exit(127);
  }
  // Wait until training is under way (a few metrics lines), then ask it to stop.
  for (int i = 0; i < 600 && count_lines(metrics) < 3; ++i) usleep(100 * 1000);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << lra::test::read_text(dir / "log.txt");
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM) << lra::test::read_text(dir / "log.txt");
  auto report = read_json(dir / "runs/quickstart/report.json");
  EXPECT_EQ(report["status"], "interrupted");
  EXPECT_GE(report["steps_done"].get<int64_t>(), 3);
  EXPECT_LT(report["steps_done"].get<int64_t>(), 1000000);
  EXPECT_TRUE(report["test"].is_null());
  EXPECT_TRUE(fs::exists(dir / "runs/quickstart/last.pt"));
}

// Restoring the best model after random features were redrawn: SchoenbAt's feature buffers
// change shape between draws, so the best checkpoint cannot be copied into them in place.
TEST(Training, BestModelRestoresAcrossFeatureRedraws) {
  lra::test::TempDir dir;
  auto config = lra::load_config(
      std::string(LRA_SOURCE_DIR) + "/configs/quickstart.yaml",
      {"attention.type=schoenbat", "attention.features=16", "attention.redraw_interval=7",
       "train.steps=60", "train.warmup=5", "train.schedule=constant", "train.lr=0.05",
       "eval.every=10", "data.synthetic.train_size=2000", "threads=1",
       "output.dir=" + (dir / "runs")});
  auto outcome = lra::run_training(config, {false});
  ASSERT_TRUE(outcome.ok) << outcome.error;
  auto report = read_json(outcome.report_path);
  EXPECT_LT(report["best"]["step"].get<int64_t>(), 60);  // the restore path was taken
  EXPECT_EQ(report["test"]["examples"], 1000);
}
