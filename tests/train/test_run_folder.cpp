// A run folder is never silently replaced or shared: a new run over an existing one is refused
// with nothing changed, two processes on one folder are refused naming the holder, a killed
// holder leaves no stale lock, and a resume that fails before it takes effect changes nothing.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>

#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "../data/data_test_util.h"
#include "process_util.h"
#include "train/run_folder.h"
#include "util/folder_lock.h"

namespace fs = std::filesystem;
using lra::test::read_text;
using lra::test::run_lra_train;
using lra::test::TempDir;
using lra::test::write_text;

namespace {

// A run of a second or two (a third of it the start-up).
std::vector<std::string> folder_run(const std::string& runs, std::vector<std::string> sets = {}) {
  std::vector<std::string> base = {"output.dir=" + runs,
                                   "name=ref",
                                   "threads=1",
                                   "data.synthetic.train_size=300",
                                   "data.synthetic.val_size=50",
                                   "data.synthetic.test_size=50",
                                   "model.layers=1",
                                   "train.batch_size=16",
                                   "train.steps=6",
                                   "train.warmup=1",
                                   "eval.every=3"};
  base.insert(base.end(), sets.begin(), sets.end());
  return lra::test::quickstart_args(base);
}

// Every file of a folder with its bytes.
std::map<std::string, std::string> folder_bytes(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    files[e.path().filename().string()] = read_text(e.path().string());
  return files;
}

}  // namespace

TEST(RunFolder, RunFilesAreTheFilesLraTrainWrites) {
  TempDir dir;
  EXPECT_TRUE(lra::run_files(dir / "missing").empty());
  write_text(dir / "notes.txt", "mine");
  EXPECT_TRUE(lra::run_files(dir.str()).empty());
  write_text(dir / "metrics.jsonl", "");
  write_text(dir / "checkpoint.pt.tmp.77", "");
  EXPECT_EQ(lra::run_files(dir.str()),
            (std::vector<std::string>{"checkpoint.pt.tmp.77", "metrics.jsonl"}));
  EXPECT_THROW(lra::prepare_new_run_folder(dir.str(), false), lra::RunFolderError);
  lra::prepare_new_run_folder(dir.str(), true);
  EXPECT_TRUE(lra::run_files(dir.str()).empty());
  EXPECT_EQ(read_text(dir / "notes.txt"), "mine");  // --overwrite deletes the run's files only
}

TEST(RunFolder, ASecondLockOnOneFolderNamesTheHolder) {
  TempDir dir;
  lra::FolderLock first(dir.str());
  try {
    lra::FolderLock second(dir.str());  // a second open file: flock refuses it as another owner
    FAIL() << "a second lock was granted";
  } catch (const lra::FolderBusyError& e) {
    EXPECT_EQ(e.holder_pid, static_cast<long>(getpid())) << e.what();
  }
}

TEST(RunFolderCli, ANewRunOverAnExistingOneIsRefusedAndChangesNothing) {
  TempDir dir;
  const std::string runs = dir / "runs", run = runs + "/ref";
  ASSERT_EQ(run_lra_train(folder_run(runs), dir / "first.log"), 0) << read_text(dir / "first.log");
  const auto before = folder_bytes(run);
  ASSERT_TRUE(before.count("report.json") && before.count("metrics.jsonl"));
  // The same name with another seed: a typo that used to replace the run.
  EXPECT_EQ(run_lra_train(folder_run(runs, {"seed=9"}), dir / "second.log"), 2);
  const std::string log = read_text(dir / "second.log");
  for (const char* part : {"runs/ref: already holds a run", "--resume continues it", "--overwrite"})
    EXPECT_NE(log.find(part), std::string::npos) << log;
  EXPECT_EQ(folder_bytes(run), before);
  // An interrupted run (checkpoint, no report) is refused too: its metrics.jsonl is not cut.
  fs::remove(run + "/report.json");
  const auto interrupted = folder_bytes(run);
  EXPECT_EQ(run_lra_train(folder_run(runs), dir / "third.log"), 2);
  EXPECT_EQ(folder_bytes(run), interrupted);
  // --overwrite replaces it deliberately; with --resume it is a contradiction.
  auto both = folder_run(runs);
  both.insert(both.end(), {"--overwrite", "--resume"});
  EXPECT_EQ(run_lra_train(both, dir / "both.log"), 2);
  EXPECT_NE(read_text(dir / "both.log").find("pass one of them"), std::string::npos);
  auto overwrite = folder_run(runs, {"seed=9"});
  overwrite.push_back("--overwrite");
  ASSERT_EQ(run_lra_train(overwrite, dir / "overwrite.log"), 0) << read_text(dir / "overwrite.log");
  EXPECT_NE(read_text(run + "/config.yaml").find("seed: 9"), std::string::npos);
}

TEST(RunFolderCli, ASecondProcessOnOneRunFolderIsRefusedNamingTheHolder) {
  TempDir dir;
  const std::string runs = dir / "runs";
  fs::create_directories(runs + "/ref");
  {
    lra::FolderLock held(runs + "/ref");  // this test process plays the running lra_train
    EXPECT_EQ(run_lra_train(folder_run(runs), dir / "busy.log"), 2);
    const std::string log = read_text(dir / "busy.log");
    EXPECT_NE(log.find("(PID " + std::to_string(getpid()) + ") is using this run folder"),
              std::string::npos)
        << log;
    EXPECT_TRUE(fs::is_empty(runs + "/ref"));
  }
  EXPECT_EQ(run_lra_train(folder_run(runs), dir / "free.log"), 0) << read_text(dir / "free.log");
}

// The lock belongs to the process: kill -9 of its holder frees it at once, with no file left.
TEST(RunFolderCli, AKilledHolderLeavesNoStaleLock) {
  TempDir dir;
  const std::string folder = dir / "run";
  fs::create_directories(folder);
  // flock(1) holds the lock itself (-o: its sleep child does not inherit it).
  const std::string cmd = "flock -o --nonblock " + folder +
                          " sleep 30 >/dev/null 2>&1 & echo $! > " + (dir / "pid") + "; sleep 0.3";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const pid_t holder = std::stoi(read_text(dir / "pid"));
  try {
    lra::FolderLock taken(folder);
    ADD_FAILURE() << "the lock was not held";
  } catch (const lra::FolderBusyError& e) {
    EXPECT_EQ(e.holder_pid, static_cast<long>(holder)) << e.what();
  }
  ASSERT_EQ(kill(holder, SIGKILL), 0);
  bool granted = false;
  for (int i = 0; i < 200 && !granted; ++i) {  // the kernel releases it when the process is gone
    try {
      lra::FolderLock again(folder);
      granted = true;
    } catch (const lra::FolderBusyError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  EXPECT_TRUE(granted);
  EXPECT_TRUE(fs::is_empty(folder));
}

// A --force resume under a model that no longer fits the checkpoint fails before it takes
// effect: config.yaml, report.json and every other file stay as they were.
TEST(RunFolderCli, AResumeThatFailsBeforeItStartsChangesNothing) {
  TempDir dir;
  const std::string runs = dir / "runs", run = runs + "/ref";
  ASSERT_EQ(run_lra_train(folder_run(runs), dir / "first.log"), 0) << read_text(dir / "first.log");
  const auto before = folder_bytes(run);
  auto resume = folder_run(runs, {"model.dim=32", "train.steps=9"});
  resume.insert(resume.end(), {"--resume", "--force"});
  EXPECT_EQ(run_lra_train(resume, dir / "resume.log"), 1);
  const std::string log = read_text(dir / "resume.log");
  EXPECT_NE(log.find("the model expects"), std::string::npos) << log;
  EXPECT_NE(log.find("nothing in " + run + " was changed"), std::string::npos) << log;
  EXPECT_EQ(folder_bytes(run), before);
}

// More threads than (batch x heads) slices and than this machine has cores, with gradient
// accumulation chunks of 2 examples: the blocked softmax backward once failed here at step 1.
TEST(RunFolderCli, TrainsWithMoreThreadsThanSlicesAndCores) {
  TempDir dir;
  const int64_t threads = 2 * static_cast<int64_t>(std::thread::hardware_concurrency()) + 3;
  for (const char* type : {"softmax", "kernelized"}) {
    const std::string name = std::string("threads_") + type;
    auto args =
        folder_run(dir / "runs", {"name=" + name, "threads=" + std::to_string(threads),
                                  "model.heads=1", "train.batch_size=4", "train.grad_accum=2",
                                  "attention.type=" + std::string(type)});
    EXPECT_EQ(run_lra_train(args, dir / (name + ".log")), 0) << read_text(dir / (name + ".log"));
  }
}
