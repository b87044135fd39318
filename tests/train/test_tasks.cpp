// Every LRA task trains from a prepared folder: random data of each task's shape and vocabulary
// is written with write_prepared, then a short run goes through lra_train's whole path.
#include <gtest/gtest.h>

#include <fstream>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "data/data_test_util.h"
#include "data/prepared.h"
#include "train/run.h"

namespace {

struct TaskShape {
  const char* task;
  int64_t vocab_size, num_classes;
  bool two_documents;
};

void PrintTo(const TaskShape& s, std::ostream* os) {
  *os << s.task;
}

lra::Split random_split(const char* name, int64_t n, int64_t length, const TaskShape& s) {
  lra::Split split;
  split.name = name;
  // (n, length) ids in 1..vocab-1 with a padded tail, as prepared data has.
  split.tokens = torch::randint(1, s.vocab_size, {n, length}).to(torch::kInt32);
  split.tokens.narrow(1, length - 4, 4).zero_();
  if (s.two_documents)
    split.tokens2 = torch::randint(1, s.vocab_size, {n, length}).to(torch::kInt32);
  split.labels = torch::randint(0, s.num_classes, {n}, torch::kInt64);
  return split;
}

lra::TaskData random_task(const TaskShape& s, int64_t train_size, int64_t length) {
  lra::TaskData data;
  data.task = s.task;
  data.vocab_size = s.vocab_size;
  data.num_classes = s.num_classes;
  data.max_length = length;
  data.train = random_split("train", train_size, length, s);
  data.val = random_split("val", train_size / 4, length, s);
  data.test = random_split("test", train_size / 4, length, s);
  return data;
}

class TaskTraining : public ::testing::TestWithParam<TaskShape> {};

TEST_P(TaskTraining, TrainsAFewStepsAndReports) {
  const TaskShape& s = GetParam();
  lra::test::TempDir dir;
  torch::manual_seed(0);
  lra::TaskData data = random_task(s, 64, 24);
  lra::write_prepared(dir / "prepared", data, nlohmann::json::object());

  auto config = lra::load_config_text(
      std::string("task: ") + s.task +
      "\nname: run\nthreads: 1\ndata: {source: files, max_length: 20, dir: " + (dir / "prepared") +
      "}\n" + "model: {dim: 16, heads: 2, layers: 1, mlp_dim: 16, head_hidden: 16}\n" +
      "train: {batch_size: 8, steps: 6, warmup: 2, log_every: 2}\neval: {every: 3}\n");
  config.output.dir = dir / "runs";
  auto outcome = lra::run_training(config, {false});
  ASSERT_TRUE(outcome.ok) << outcome.error;
  std::ifstream in(outcome.report_path);
  auto report = nlohmann::json::parse(in);
  EXPECT_EQ(report["data"]["task"], s.task);
  EXPECT_EQ(report["data"]["max_length"], 20);  // truncated from the prepared 24
  EXPECT_EQ(report["data"]["vocab_size"], s.vocab_size);
  EXPECT_EQ(report["test"]["examples"], 16);
}

INSTANTIATE_TEST_SUITE_P(
    AllTasks, TaskTraining,
    ::testing::Values(TaskShape{"listops", 16, 10, false}, TaskShape{"text", 257, 2, false},
                      TaskShape{"retrieval", 257, 2, true}, TaskShape{"image", 256, 10, false},
                      TaskShape{"pathfinder", 256, 2, false}, TaskShape{"pathx", 257, 2, false}),
    [](const auto& info) { return std::string(info.param.task); });

TEST(TaskFromFilesErrors, TaskMismatchAndTooLongAreNamed) {
  lra::test::TempDir dir;
  TaskShape s{"text", 257, 2, false};
  lra::TaskData data = random_task(s, 16, 24);
  lra::write_prepared(dir / "prepared", data, nlohmann::json::object());
  auto config = lra::load_config_text(
      "task: image\ndata: {source: files, max_length: 24, dir: " + (dir / "prepared") + "}\n");
  lra::test::expect_error([&] { lra::load_task_data(config); },
                          {"task: the config says image", "holds text"});
  config.task = "text";
  config.data.max_length = 30;
  lra::test::expect_error([&] { lra::load_task_data(config); },
                          {"data.max_length: 30 is longer than the prepared 24"});
}

}  // namespace
