// TensorBoard event files: the writer's records decode (CRCs, fields), a resume cuts them back,
// and TensorBoard's own reader (the .venv's tensorboard package) reads what lra_train writes.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../data/data_test_util.h"
#include "process_util.h"
#include "tensorboard_test_util.h"
#include "train/tensorboard_log.h"

using lra::test::read_events;
using lra::test::read_text;
using lra::test::run_shell;
using lra::test::TempDir;

TEST(TensorBoardLog, RecordsDecodeWithValidCrcsAndTheirFields) {
  TempDir dir;
  {
    lra::TensorBoardLog log(dir.str());
    log.scalar("train/loss", 7, 0.25);
    log.text("config", 0, "    seed: 1\n");
  }
  const auto events = read_events(lra::tensorboard_events_path(dir.str()));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_EQ(events[1].step, 7);
  EXPECT_EQ(events[1].tag, "train/loss");
  EXPECT_TRUE(events[1].has_value);
  EXPECT_EQ(events[1].value, 0.25);
  EXPECT_EQ(events[2].tag, "config");
  EXPECT_EQ(events[2].plugin, "text");
  EXPECT_EQ(events[2].text, "    seed: 1\n");
}

TEST(TensorBoardLog, ResumingCutsBackToTheCheckpointOffset) {
  TempDir dir;
  const std::string path = lra::tensorboard_events_path(dir.str());
  int64_t offset = 0;
  {
    lra::TensorBoardLog log(dir.str());
    log.scalar("train/loss", 1, 1.0);
    offset = log.offset();
    log.scalar("train/loss", 2, 2.0);  // after the checkpoint: redone by the resumed run
  }
  std::ofstream(path, std::ios::app | std::ios::binary) << std::string("\x20\0\0", 3);  // killed
  {
    lra::TensorBoardLog log(dir.str(), offset);
    log.scalar("train/loss", 2, 3.0);
  }
  const auto events = read_events(path);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].step, 1);
  EXPECT_EQ(events[2].step, 2);
  EXPECT_EQ(events[2].value, 3.0);
  // Offset 0 (the checkpointed run had TensorBoard off): a new file with its version event.
  { lra::TensorBoardLog log(dir.str(), 0); }
  ASSERT_EQ(read_events(path).size(), 1u);
  EXPECT_EQ(read_events(path)[0].file_version, "brain.Event:2");
}

namespace {

std::vector<std::string> tiny_run(const std::string& runs, const std::string& name) {
  std::vector<std::string> args = {
      "--config", std::string(LRA_SOURCE_DIR) + "/configs/quickstart.yaml", "--quiet"};
  for (std::string s :
       {"name=" + name, "output.dir=" + runs, std::string("threads=1"),
        std::string("data.max_length=16"), std::string("data.synthetic.max_length=16"),
        std::string("data.synthetic.min_length=4"), std::string("data.synthetic.train_size=256"),
        std::string("data.synthetic.val_size=64"), std::string("data.synthetic.test_size=64"),
        std::string("model.dim=16"), std::string("model.layers=1"), std::string("model.mlp_dim=16"),
        std::string("model.head_hidden=16"), std::string("train.batch_size=16"),
        std::string("train.steps=30"), std::string("train.warmup=5"),
        std::string("train.log_every=10"), std::string("eval.every=15")})
    args.insert(args.end(), {"--set", s});
  return args;
}

// TensorBoard's EventAccumulator, as `tensorboard --logdir` loads a run: every scalar tag's
// (step, value) list and the config text, as JSON.
constexpr const char* kReadWithTensorBoard = R"(import json, sys
from tensorboard.backend.event_processing import event_accumulator as ea
acc = ea.EventAccumulator(sys.argv[1], size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
acc.Reload()
out = {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}
out["config"] = acc.Tensors("config")[0].tensor_proto.string_val[0].decode()
print("JSON" + json.dumps(out))
)";

}  // namespace

TEST(TensorBoardCli, TensorBoardsOwnReaderSeesEveryCurveOfARun) {
  TempDir dir;
  const std::string py = std::string(LRA_SOURCE_DIR) + "/.venv/bin/python";
  std::string out;
  ASSERT_EQ(run_shell(py + " -c 'import tensorboard'", out), 0)
      << "the .venv has no tensorboard package: run scripts/install_deps.sh\n"
      << out;
  ASSERT_EQ(lra::test::run_lra_train(tiny_run(dir / "runs", "tb"), dir / "tb.log"), 0)
      << read_text(dir / "tb.log");
  lra::test::write_text(dir / "read.py", kReadWithTensorBoard);
  ASSERT_EQ(run_shell(py + " " + (dir / "read.py") + " " + (dir / "runs/tb"), out), 0) << out;
  const auto j = nlohmann::json::parse(out.substr(out.find("JSON") + 4));
  for (const char* tag : {"train/loss", "train/accuracy", "train/lr", "train/ms_per_step",
                          "train/samples_per_s", "train/utilisation"}) {
    ASSERT_TRUE(j.contains(tag)) << tag << " missing from " << j.dump();
    ASSERT_EQ(j[tag].size(), 3u) << tag;  // steps 10, 20, 30
    EXPECT_EQ(j[tag][2][0], 30) << tag;
  }
  EXPECT_EQ(j["val/accuracy"].size(), 2u);  // steps 15, 30
  ASSERT_EQ(j["test/accuracy"].size(), 1u);
  EXPECT_EQ(j["test/accuracy"][0][0], 30);
  // The same numbers as metrics.jsonl and report.json, to float precision.
  std::ifstream metrics(dir / "runs/tb/metrics.jsonl");
  std::string first;
  std::getline(metrics, first);
  const auto line = nlohmann::json::parse(first);
  EXPECT_NEAR(j["train/loss"][0][1].get<double>(), line["loss"].get<double>(), 1e-6);
  const auto report = nlohmann::json::parse(read_text(dir / "runs/tb/report.json"));
  EXPECT_NEAR(j["test/accuracy"][0][1].get<double>(), report["test"]["accuracy"].get<double>(),
              1e-6);
  EXPECT_NE(j["config"].get<std::string>().find("    attention:"), std::string::npos)
      << j["config"];

  auto args = tiny_run(dir / "runs", "off");
  args.insert(args.end(), {"--set", "output.tensorboard=false"});
  ASSERT_EQ(lra::test::run_lra_train(args, dir / "off.log"), 0) << read_text(dir / "off.log");
  EXPECT_TRUE(std::filesystem::exists(dir / "runs/off/metrics.jsonl"));
  EXPECT_FALSE(std::filesystem::exists(lra::tensorboard_events_path(dir / "runs/off")));
}
