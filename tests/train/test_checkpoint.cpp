// Checkpoint pieces in-process: round trip by name, RNG continuation, the named errors for
// tensors that do not fit, the refusal of positional checkpoints, metrics log cut-back, the
// config comparison of --resume, and the messages for missing or damaged checkpoints.
#include <gtest/gtest.h>

#include <filesystem>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "../data/data_test_util.h"
#include "config/config.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/model_state.h"
#include "train/optimizer_state.h"
#include "train/resume.h"
#include "util/atomic_file.h"

using lra::test::expect_error;
using lra::test::read_text;
using lra::test::TempDir;
using lra::test::write_text;

namespace {

// Two same-shape projections (a swap between them would go unnoticed by shape), a buffer of
// random rows, and optionally one more parameter.
struct Projections : torch::nn::Module {
  Projections(int64_t in, int64_t out, bool with_gain = false) {
    wq = register_module("wq", torch::nn::Linear(in, out));
    wk = register_module("wk", torch::nn::Linear(in, out));
    features = register_buffer("features", torch::randn({3, in}));
    if (with_gain) gain = register_parameter("gain", torch::ones({1}));
  }
  torch::Tensor loss(const torch::Tensor& x) {
    auto y = wq(x) * 2.0 + wk(x);
    return (gain.defined() ? y * gain : y).pow(2).sum();
  }
  torch::nn::Linear wq{nullptr}, wk{nullptr};
  torch::Tensor features, gain;
};

void train_one_step(Projections& net, torch::optim::AdamW& opt) {
  opt.zero_grad();
  net.loss(torch::ones({4, net.wq->weight.size(1)})).backward();
  opt.step();
}

lra::Checkpoint checkpoint_of(Projections& net, torch::optim::AdamW& opt) {
  lra::Checkpoint c;
  c.config_yaml = "seed: 7\n";
  c.model = lra::snapshot(net);
  c.best = c.model;
  c.optimizer = lra::adamw_state(opt, net);
  c.rng = lra::capture_rng_state(torch::kCPU);
  return c;
}

// Saves a checkpoint of `saved` and applies it to `target`: the error, if any.
std::string apply_error(const std::string& path, Projections& saved, Projections& target) {
  torch::optim::AdamW opt(saved.parameters(), torch::optim::AdamWOptions(0.1));
  train_one_step(saved, opt);
  lra::save_checkpoint(path, checkpoint_of(saved, opt));
  torch::optim::AdamW target_opt(target.parameters(), torch::optim::AdamWOptions(0.1));
  try {
    lra::apply_checkpoint(lra::load_checkpoint(path, torch::kCPU), path, target, target_opt);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Checkpoint, RoundTripKeepsStateOptimizerAndRngStreams) {
  TempDir dir;
  torch::manual_seed(1);
  Projections net(3, 2);
  torch::optim::AdamW opt(net.parameters(), torch::optim::AdamWOptions(0.1));
  train_one_step(net, opt);
  lra::Checkpoint c = checkpoint_of(net, opt);
  c.state.step = 12;
  c.state.batches_consumed = 12;
  c.state.history = {{10, {0.25, 1.0 / 3.0, 200, 0.5}}};
  c.state.best_step = 10;
  c.state.best_val_accuracy = 0.25;
  c.state.window = {0.1 + 0.2, 7.0, 64.0, 512.0};
  c.state.metrics_offset = 321;
  c.state.nonfinite = {1, 2.5, 11};
  c.state.timing.step_ms = {1.5, 2.25};
  const auto expected_draw = torch::rand({5});
  const std::string path = dir / "checkpoint.pt";
  lra::save_checkpoint(path, c);

  torch::manual_seed(99);
  Projections other(3, 2);
  torch::optim::AdamW opt2(other.parameters(), torch::optim::AdamWOptions(0.1));
  const auto back = lra::load_checkpoint(path, torch::kCPU);
  EXPECT_EQ(back.config_yaml, "seed: 7\n");
  EXPECT_EQ(back.state.step, 12);
  EXPECT_EQ(back.state.history[0].result.loss, 1.0 / 3.0);  // doubles bit-exact
  EXPECT_EQ(back.state.window.loss_sum, 0.1 + 0.2);
  EXPECT_EQ(back.state.metrics_offset, 321);
  EXPECT_EQ(back.state.nonfinite.last_finite_step, 11);
  EXPECT_EQ(back.state.timing.step_ms, (std::vector<double>{1.5, 2.25}));
  EXPECT_EQ(back.model.keys(),
            (std::vector<std::string>{"wq.weight", "wq.bias", "wk.weight", "wk.bias", "features"}));
  EXPECT_TRUE(back.optimizer.contains("wk.weight.exp_avg_sq"));
  lra::apply_checkpoint(back, path, other, opt2);
  EXPECT_TRUE(torch::equal(other.wq->weight, net.wq->weight));
  EXPECT_TRUE(torch::equal(other.wk->weight, net.wk->weight));
  EXPECT_TRUE(torch::equal(other.features, net.features));
  // The AdamW moments came back: one more identical step gives identical weights.
  train_one_step(net, opt);
  train_one_step(other, opt2);
  EXPECT_TRUE(torch::equal(other.wq->weight, net.wq->weight));
  EXPECT_TRUE(torch::equal(other.wk->bias, net.wk->bias));
  lra::restore_rng_state(back.rng, torch::kCPU);
  EXPECT_TRUE(torch::equal(torch::rand({5}), expected_draw));
}

TEST(Checkpoint, ParametersWithoutAnUpdateYetComeBackWithoutState) {
  TempDir dir;
  Projections net(3, 2), other(3, 2);
  torch::optim::AdamW opt(net.parameters()), opt2(other.parameters());
  const std::string path = dir / "checkpoint.pt";
  lra::save_checkpoint(path, checkpoint_of(net, opt));
  lra::apply_checkpoint(lra::load_checkpoint(path, torch::kCPU), path, other, opt2);
  EXPECT_TRUE(opt2.state().empty());
}

TEST(Checkpoint, AMissingTensorIsNamed) {
  TempDir dir;
  Projections saved(3, 2), target(3, 2, /*with_gain=*/true);
  const auto before = target.wq->weight.clone();
  EXPECT_EQ(apply_error(dir / "checkpoint.pt", saved, target),
            dir / "checkpoint.pt" + ": gain is missing");
  EXPECT_TRUE(torch::equal(target.wq->weight, before)) << "a refused checkpoint changed the model";
}

TEST(Checkpoint, ATensorNotInTheModelIsNamed) {
  TempDir dir;
  Projections saved(3, 2, /*with_gain=*/true), target(3, 2);
  EXPECT_EQ(apply_error(dir / "checkpoint.pt", saved, target),
            dir / "checkpoint.pt" + ": gain is not in the model");
}

TEST(Checkpoint, AShapeMismatchIsNamedWithBothShapes) {
  TempDir dir;
  Projections saved(3, 4), target(3, 2);
  EXPECT_EQ(apply_error(dir / "checkpoint.pt", saved, target),
            dir / "checkpoint.pt" +
                ": wq.weight has shape [4, 3], the model expects [2, 3] (and 3 more tensors that "
                "do not fit)");
}

TEST(Checkpoint, BuffersMayChangeTheirRowCountOnly) {
  // A redraw can change how many random rows a buffer has, never their width.
  const std::vector<lra::TensorSpec> specs = {{"features", {3, 8}, true}};
  lra::NamedTensors saved;
  saved.insert("features", torch::zeros({5, 8}));
  EXPECT_NO_THROW(lra::check_tensors(saved, specs, "x.pt"));
  saved["features"] = torch::zeros({5, 4});
  expect_error([&] { lra::check_tensors(saved, specs, "x.pt"); },
               {"x.pt: features has shape [5, 4], the model expects [*, 8]"});
}

TEST(Checkpoint, APositionalVersion1CheckpointIsRefused) {
  // What version 1 wrote: tensors under their position "0", "1", ..., LibTorch's optimizer
  // archive, and the tensor count in the meta.
  TempDir dir;
  torch::nn::Linear net(3, 2);
  torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(0.1));
  net->forward(torch::randn({4, 3})).sum().backward();
  opt.step();
  const nlohmann::json state = {
      {"step", 1},
      {"batches_consumed", 1},
      {"history", nlohmann::json::array()},
      {"best_step", 0},
      {"best_val_accuracy", -1.0},
      {"nonfinite", {{"skipped", 0}, {"last_finite_loss", 0.5}, {"last_finite_step", 1}}},
      {"window", {{"loss_sum", 0.5}, {"correct", 1.0}, {"count", 4.0}, {"real_tokens", 8.0}}},
      {"metrics_offset", 0},
      {"timing",
       {{"samples", 4.0},
        {"real_tokens", 8.0},
        {"seconds", 0.1},
        {"eval_examples", 0.0},
        {"eval_seconds", 0.0}}}};
  const nlohmann::json meta = {{"format", "lra_train.checkpoint"},
                               {"version", 1},
                               {"config", "seed: 7\n"},
                               {"model_tensors", 2},
                               {"state", state}};
  torch::serialize::OutputArchive archive;
  archive.write("meta", c10::IValue(meta.dump()));
  for (const char* key : {"model", "best"}) {
    torch::serialize::OutputArchive tensors(archive.compilation_unit());
    for (size_t i = 0; i < net->parameters().size(); ++i)
      tensors.write(std::to_string(i), net->parameters()[i].detach().clone(), true);
    archive.write(key, tensors);
  }
  archive.write("step_ms", torch::tensor(std::vector<double>{1.0}, torch::kFloat64), true);
  archive.write("rng_cpu", lra::capture_rng_state(torch::kCPU).cpu, true);
  torch::serialize::OutputArchive optimizer(archive.compilation_unit());
  opt.save(optimizer);
  archive.write("optimizer", optimizer);
  const std::string run = dir / "run", path = run + "/checkpoint.pt";
  std::filesystem::create_directories(run);
  archive.save_to(path);

  const std::vector<std::string> parts = {
      path + ": checkpoint version 1 predates tensors stored by name (version 2)",
      "start the run again without --resume"};
  expect_error([&] { lra::load_checkpoint(path, torch::kCPU); }, {parts[0], parts[1]});
  try {
    lra::check_resume(run, lra::Config{}, /*force=*/true);
    ADD_FAILURE() << "an old checkpoint was accepted";
  } catch (const lra::ResumeError& e) {
    EXPECT_NE(std::string(e.what()).find(parts[0]), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, MissingOrDamagedFilesAreNamed) {
  TempDir dir;
  expect_error([&] { lra::load_checkpoint(dir / "none.pt", torch::kCPU); },
               {"none.pt: no checkpoint to resume from"});
  write_text(dir / "junk.pt", "not a zip archive at all");
  expect_error([&] { lra::load_checkpoint(dir / "junk.pt", torch::kCPU); },
               {"junk.pt: not a readable checkpoint ("});
  // A module archive (best.pt) is a zip too, but not a checkpoint.
  torch::nn::Linear net(2, 2);
  torch::save(net, dir / "best.pt");
  expect_error([&] { lra::load_checkpoint(dir / "best.pt", torch::kCPU); },
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
