// Output faults: a folder that cannot be created or written, and a file system that refuses to
// grow a file (a full disk, or a file size limit) while a checkpoint is written. Tests run as
// root, for whom permissions block nothing, so the faults are real ones: a path through a
// regular file, /dev/full, and RLIMIT_FSIZE.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../data/data_test_util.h"
#include "process_util.h"
#include "train/checkpoint.h"
#include "util/atomic_file.h"

namespace fs = std::filesystem;
using lra::test::expect_error;
using lra::test::read_text;
using lra::test::run_lra_train;
using lra::test::TempDir;
using lra::test::write_text;

namespace {

// The message of write_file_atomic(path, content) run in a child whose files may not grow
// past `limit` bytes; "" when it succeeded.
std::string write_with_file_size_limit(const std::string& path, const std::string& content,
                                       rlim_t limit, const std::string& message_file) {
  const pid_t pid = fork();
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    const rlimit r{limit, limit};
    setrlimit(RLIMIT_FSIZE, &r);
    std::string message;
    try {
      lra::write_file_atomic(path, content);
    } catch (const std::exception& e) {
      message = e.what();
    }
    const rlimit none{RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_FSIZE, &none);
    std::ofstream(message_file) << message;
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return read_text(message_file);
}

std::vector<std::string> small_run(const std::string& runs, int64_t steps) {
  return {"--config",
          std::string(LRA_SOURCE_DIR) + "/configs/quickstart.yaml",
          "--quiet",
          "--set",
          "output.dir=" + runs,
          "--set",
          "name=run",
          "--set",
          "threads=1",
          "--set",
          "data.synthetic.train_size=1000",
          "--set",
          "data.synthetic.val_size=100",
          "--set",
          "data.synthetic.test_size=100",
          "--set",
          "model.layers=1",
          "--set",
          "train.steps=" + std::to_string(steps),
          "--set",
          "train.warmup=5",
          "--set",
          "eval.every=20"};
}

}  // namespace

TEST(OutputFaults, AFolderThroughARegularFileNamesThePathAndTheReason) {
  TempDir dir;
  write_text(dir / "file", "x");
  expect_error([&] { lra::write_file_atomic(dir / "file/report.json", "{}"); },
               {"file/report.json: cannot create", "Not a directory"});
}

TEST(OutputFaults, AFailedWriteKeepsThePreviousFileAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir / "checkpoint.pt";
  write_text(path, "previous checkpoint");
  const std::string message =
      write_with_file_size_limit(path, std::string(100000, 'x'), 4096, dir / "message");
  EXPECT_NE(message.find("checkpoint.pt: cannot write: File too large (the previous "),
            std::string::npos)
      << message;
  EXPECT_EQ(read_text(path), "previous checkpoint");
  for (const auto& e : fs::directory_iterator(dir.str()))
    EXPECT_FALSE(lra::is_atomic_temp_name(e.path().filename().string())) << e.path();
}

TEST(OutputFaultsCli, AnUnwritableOutputFolderFailsTheRunNamingIt) {
  TempDir dir;
  write_text(dir / "blocked", "a file where the output folder should be");
  const std::string runs = dir / "blocked/runs";
  EXPECT_EQ(run_lra_train(small_run(runs, 10), dir / "log"), 2);  // refused before it starts
  const std::string log = read_text(dir / "log");
  EXPECT_NE(log.find("blocked/runs"), std::string::npos) << log;
  EXPECT_NE(log.find("Not a directory"), std::string::npos) << log;
}

// A checkpoint that cannot be written stops the run with the file and the reason; the
// previous checkpoint stays whole and a later resume continues from it.
TEST(OutputFaultsCli, ACheckpointThatDoesNotFitKeepsThePreviousOne) {
  TempDir dir;
  const std::string runs = dir / "runs", checkpoint = runs + "/run/" + lra::kCheckpointFile;
  ASSERT_EQ(run_lra_train(small_run(runs, 20), dir / "first.log"), 0)
      << read_text(dir / "first.log");
  const std::string before = read_text(checkpoint);
  ASSERT_GT(before.size(), 1000u);

  // Extend the run to 40 steps with files limited to half a checkpoint: best.pt (the model
  // alone) still fits, the checkpoint at step 40 does not.
  auto extend = small_run(runs, 40);
  extend.insert(extend.end(), {"--resume", "--force"});
  EXPECT_EQ(run_lra_train(extend, dir / "full.log", before.size() / 2), 1);
  const std::string log = read_text(dir / "full.log");
  EXPECT_NE(log.find("run/checkpoint.pt: cannot write: File too large (the previous"),
            std::string::npos)
      << log;
  EXPECT_EQ(read_text(checkpoint), before);
  std::ifstream report(runs + "/run/report.json");
  EXPECT_EQ(nlohmann::json::parse(report)["status"], "failed");

  ASSERT_EQ(run_lra_train(extend, dir / "again.log"), 0) << read_text(dir / "again.log");
  EXPECT_EQ(lra::load_checkpoint(checkpoint, torch::kCPU).state.step, 40);
}
