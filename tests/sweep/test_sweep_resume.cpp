// lra_sweep end to end with the real trainer: killed mid-way and rerun, it runs only what is
// missing; config typos in the grid stop it before anything runs.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../data/data_test_util.h"

namespace {

using lra::test::read_text;
using lra::test::TempDir;

const std::vector<std::string> kTinyRun = {
    "--config", std::string(LRA_SOURCE_DIR) + "/configs/quickstart.yaml",
    "--set",    "train.steps=40",
    "--set",    "train.warmup=5",
    "--set",    "eval.every=20",
    "--set",    "data.synthetic.train_size=400",
    "--set",    "data.synthetic.val_size=100",
    "--set",    "data.synthetic.test_size=100",
    "--set",    "model.layers=1"};

pid_t start_sweep(const std::vector<std::string>& extra, const std::string& log) {
  std::vector<std::string> args = {LRA_SWEEP_BIN};
  args.insert(args.end(), kTinyRun.begin(), kTinyRun.end());
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(126);
    execv(LRA_SWEEP_BIN, argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

bool completed(const std::string& run_dir) {
  return read_text(run_dir + "/report.json").find("\"status\": \"completed\"") != std::string::npos;
}

TEST(SweepCli, KilledSweepRerunsOnlyMissingRuns) {
  TempDir dir;
  const std::string out = dir / "sweep";
  const std::vector<std::string> grid = {
      "--grid", "attention.type=softmax,favor,schoenbat", "--out", out, "--jobs", "1", "--threads",
      "1"};
  const std::string first = out + "/quickstart__type=softmax__seed=0";
  const std::string second = out + "/quickstart__type=favor__seed=0";
  const pid_t sweep = start_sweep(grid, dir / "first.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!completed(first) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(completed(first)) << read_text(dir / "first.log");
  kill(sweep, SIGKILL);  // a crash or pre-emption of the sweep itself
  EXPECT_EQ(wait_exit(sweep), 128 + SIGKILL);
  const std::string first_report = read_text(first + "/report.json");

  // The killed sweep's running trainer gets SIGTERM and saves; the rerun waits for it via the
  // run's lock, then finishes what is missing, leaving the completed run untouched.
  EXPECT_EQ(wait_exit(start_sweep(grid, dir / "second.log")), 0) << read_text(dir / "second.log");
  const std::string log = read_text(dir / "second.log");
  EXPECT_NE(log.find("3 runs, 1 already completed, 2 to run"), std::string::npos) << log;
  EXPECT_EQ(log.find("start quickstart__type=softmax"), std::string::npos) << log;
  EXPECT_EQ(read_text(first + "/report.json"), first_report);
  EXPECT_TRUE(completed(second));
  EXPECT_TRUE(completed(out + "/quickstart__type=schoenbat__seed=0"));

  // Everything done: a third call runs nothing.
  EXPECT_EQ(wait_exit(start_sweep(grid, dir / "third.log")), 0);
  EXPECT_NE(read_text(dir / "third.log").find("3 already completed, 0 to run"), std::string::npos);
}

// A run that failed before its first checkpoint leaves a report and a config in its folder:
// the sweep starts it over there (a plain new run into that folder would be refused).
TEST(SweepCli, AFailedRunWithoutACheckpointStartsOver) {
  TempDir dir;
  const std::string out = dir / "sweep", run = out + "/quickstart__type=softmax__seed=0";
  lra::test::write_text(run + "/report.json", "{\n  \"status\": \"failed\"\n}\n");
  lra::test::write_text(run + "/config.yaml", "name: quickstart\n");
  const std::vector<std::string> grid = {
      "--grid", "attention.type=softmax", "--out", out, "--jobs", "1", "--threads", "1"};
  EXPECT_EQ(wait_exit(start_sweep(grid, dir / "log")), 0) << read_text(dir / "log");
  EXPECT_TRUE(completed(run)) << read_text(out + "/logs/quickstart__type=softmax__seed=0.log");
}

TEST(SweepCli, GridTypoStopsBeforeAnythingRuns) {
  TempDir dir;
  const std::string out = dir / "sweep";
  const pid_t sweep =
      start_sweep({"--grid", "attention.type=softmax,favr", "--out", out}, dir / "log");
  EXPECT_EQ(wait_exit(sweep), 2);
  const std::string log = read_text(dir / "log");
  EXPECT_NE(log.find("run quickstart__type=favr__seed=0"), std::string::npos) << log;
  EXPECT_NE(log.find("attention.type: expected one of"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(SweepCli, DryRunListsWithoutRunning) {
  TempDir dir;
  const std::string out = dir / "sweep";
  const pid_t sweep =
      start_sweep({"--set", "attention.type=favor", "--grid", "attention.features=16,32", "--seeds",
                   "2", "--out", out, "--dry-run"},
                  dir / "log");
  EXPECT_EQ(wait_exit(sweep), 0);
  const std::string log = read_text(dir / "log");
  EXPECT_NE(log.find("run   quickstart__features=32__seed=1  (missing)"), std::string::npos) << log;
  EXPECT_NE(log.find("4 of 4 runs would run"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(out));
}

// Softmax reads no feature count: it runs once beside schoenbat's three, in the listing and in
// the SLURM array alike.
TEST(SweepCli, DryRunAcrossBackendsListsEachBackendsOwnSettings) {
  TempDir dir;
  const std::string out = dir / "sweep";
  const std::vector<std::string> grid = {"--grid", "attention.type=softmax,schoenbat",
                                         "--grid", "attention.features=32,64,128",
                                         "--out",  out};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), grid.begin(), grid.end());
    return extra;
  };
  EXPECT_EQ(wait_exit(start_sweep(with({"--dry-run"}), dir / "log")), 0) << read_text(dir / "log");
  const std::string log = read_text(dir / "log");
  EXPECT_NE(log.find("run   quickstart__type=softmax__seed=0  (missing)"), std::string::npos)
      << log;
  EXPECT_NE(log.find("run   quickstart__type=schoenbat__features=128__seed=0  (missing)"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("type=softmax__features"), std::string::npos) << log;
  EXPECT_NE(log.find("4 of 4 runs would run"), std::string::npos) << log;

  const std::string script = dir / "sweep.sbatch";
  EXPECT_EQ(wait_exit(start_sweep(with({"--slurm", script}), dir / "slurm.log")), 0)
      << read_text(dir / "slurm.log");
  const std::string text = read_text(script);
  EXPECT_NE(text.find("#SBATCH --array=0-3\n"), std::string::npos) << text;
  const auto softmax_task = text.find("NAME='quickstart__type=softmax__seed=0'");
  ASSERT_NE(softmax_task, std::string::npos) << text;
  const std::string softmax_line =
      text.substr(softmax_task, text.find('\n', softmax_task) - softmax_task);
  EXPECT_EQ(softmax_line.find("attention.features"), std::string::npos) << softmax_line;
}

}  // namespace
