// A model's initial state travels by name in a safetensors file that plain Python reads and
// writes, and the batches of a run can be logged for another implementation to replay: the
// two halves of running lra_train in lockstep with a reference implementation.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "../data/data_test_util.h"
#include "attention/registry.h"
#include "model/transformer.h"
#include "process_util.h"
#include "train/model_state.h"
#include "train/safetensors_file.h"

namespace fs = std::filesystem;
using lra::test::expect_error;
using lra::test::read_text;
using lra::test::run_lra_train;
using lra::test::run_shell;
using lra::test::TempDir;
using lra::test::write_text;

namespace {

lra::Classifier favor_model(uint64_t seed) {
  lra::ModelConfig m;
  m.dim = 16;
  m.heads = 2;
  m.layers = 2;
  m.mlp_dim = 32;
  m.head_hidden = 8;
  m.dropout = m.attention_dropout = 0.0;
  lra::AttentionConfig a;
  a.type = "favor";
  a.features = 8;
  torch::manual_seed(seed);
  lra::Classifier model(m, lra::attention_factory(a), 20, 12, 5, false, seed);
  model->eval();
  return model;
}

std::vector<std::string> state_run(const std::string& runs, const std::string& name,
                                   std::vector<std::string> sets = {}) {
  std::vector<std::string> base = {"output.dir=" + runs,
                                   "name=" + name,
                                   "threads=1",
                                   "data.synthetic.train_size=300",
                                   "data.synthetic.val_size=50",
                                   "data.synthetic.test_size=50",
                                   "model.layers=1",
                                   "attention.type=favor",
                                   "attention.features=8",
                                   "train.batch_size=16",
                                   "train.steps=9",
                                   "train.warmup=1",
                                   "train.checkpoint_every=3",
                                   "eval.every=9"};
  base.insert(base.end(), sets.begin(), sets.end());
  return lra::test::quickstart_args(base);
}

TEST(Safetensors, EveryDtypeAndShapeRoundTrips) {
  TempDir dir;
  lra::NamedTensors t;
  t.insert("a.weight", torch::randn({3, 5}));
  t.insert("b", torch::randn({2, 2}, torch::kFloat64).t());  // not contiguous
  t.insert("scalar", torch::tensor(7, torch::kInt64).reshape({}));
  t.insert("empty", torch::zeros({0, 4}));
  t.insert("bf16", torch::randn({4}).to(torch::kBFloat16));
  t.insert("half", torch::randn({3}).to(torch::kHalf));
  t.insert("i32", torch::arange(6, torch::kInt32));
  t.insert("i16", torch::arange(3, torch::kInt16));
  t.insert("u8", torch::arange(5, torch::kUInt8));
  t.insert("flags", torch::tensor({true, false}));
  lra::save_safetensors(dir / "s.safetensors", t);
  const auto back = lra::load_safetensors(dir / "s.safetensors");
  ASSERT_EQ(back.size(), t.size());
  for (const auto& item : t) {
    const torch::Tensor* u = back.find(item.key());
    ASSERT_NE(u, nullptr) << item.key();
    EXPECT_EQ(u->scalar_type(), item.value().scalar_type()) << item.key();
    EXPECT_TRUE(torch::equal(*u, item.value())) << item.key();
  }
}

// The file is the format's own: numpy alone (no lra_train, no safetensors package) reads the
// tensors back from the header's dtypes, shapes and byte ranges.
TEST(Safetensors, PlainPythonReadsWhatLraTrainWrites) {
  TempDir dir;
  lra::NamedTensors t;
  t.insert("w", torch::arange(12, torch::kFloat).reshape({3, 4}) / 8);
  t.insert("n", torch::tensor({5, -6}, torch::kInt64));
  lra::save_safetensors(dir / "s.safetensors", t);
  write_text(dir / "read.py", R"(import json, struct, sys
import numpy as np
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
assert (8 + n) % 8 == 0, 'data not 8-byte aligned'
h = json.loads(b[8:8 + n])
kinds = {'F32': '<f4', 'I64': '<i8'}
for name in sorted(k for k in h if k != '__metadata__'):
    e = h[name]
    a = np.frombuffer(b[8 + n + e['data_offsets'][0]:8 + n + e['data_offsets'][1]],
                      dtype=kinds[e['dtype']]).reshape(e['shape'])
    print(name, a.shape, a.ravel().tolist())
)");
  std::string out;
  ASSERT_EQ(run_shell(std::string(LRA_SOURCE_DIR) + "/.venv/bin/python " + (dir / "read.py") + " " +
                          (dir / "s.safetensors"),
                      out),
            0)
      << out;
  EXPECT_NE(out.find("n (2,) [5, -6]"), std::string::npos) << out;
  EXPECT_NE(out.find("w (3, 4) [0.0, 0.125, 0.25"), std::string::npos) << out;
}

TEST(Safetensors, DamagedFilesAreRefusedNamingTheProblem) {
  TempDir dir;
  const std::string p = dir / "s.safetensors";
  expect_error([&] { lra::load_safetensors(dir / "missing"); }, {"missing: not found"});
  write_text(p, "abc");
  expect_error([&] { lra::load_safetensors(p); }, {"s.safetensors: not a safetensors file"});
  write_text(p, std::string("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10));
  expect_error([&] { lra::load_safetensors(p); }, {"header length 4294967295 exceeds the file"});
  auto with_header = [&](const std::string& json, const std::string& data) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
    write_text(p, bytes + json + data);
  };
  with_header("[1]", "");
  expect_error([&] { lra::load_safetensors(p); }, {"header is not a JSON object"});
  with_header(R"({"w": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}})", "x");
  expect_error([&] { lra::load_safetensors(p); }, {"tensor 'w': unsupported dtype \"F8\""});
  with_header(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", "abcd");
  expect_error([&] { lra::load_safetensors(p); }, {"tensor 'w': data_offsets [0, 4] do not hold"});
  with_header(R"({"w": {"dtype": "F32", "shape": [1000000000, 1000000000], )"
              R"("data_offsets": [0, 4]}})",
              "abcd");  // sizes are checked against the file before anything is allocated
  expect_error([&] { lra::load_safetensors(p); },
               {"tensor 'w': bad shape [1000000000,1000000000]"});
  with_header(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
              R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
              std::string(8, '\0'));
  expect_error([&] { lra::load_safetensors(p); }, {"tensor 'b' overlaps"});
}

// Saved from one model and loaded by name into another built from another seed: the same
// outputs, random-feature draws included.
TEST(InitState, AFreshModelLoadedFromAStateFileGivesTheSameOutputs) {
  TempDir dir;
  auto a = favor_model(1), b = favor_model(2);
  const auto tokens = torch::randint(1, 20, {3, 12}, torch::kInt64);
  torch::NoGradGuard no_grad;
  ASSERT_FALSE(torch::equal(a->forward(tokens, {}), b->forward(tokens, {})));
  lra::save_safetensors(dir / "init.safetensors", lra::snapshot(*a));
  lra::restore(*b, lra::load_safetensors(dir / "init.safetensors"), "init.safetensors");
  EXPECT_TRUE(torch::equal(a->forward(tokens, {}), b->forward(tokens, {})));
}

// lra_train writes its initial state; a run started from that file computes what the run that
// wrote it computed; a file with a renamed or mis-shaped tensor stops the run before step 1
// naming it, with no weights, checkpoint or metrics written.
TEST(InitStateCli, StartsFromAWrittenStateAndRefusesOneThatDoesNotFit) {
  TempDir dir;
  const std::string runs = dir / "runs";
  ASSERT_EQ(run_lra_train(state_run(runs, "a", {"output.save_init_state=true"}), dir / "a.log"), 0)
      << read_text(dir / "a.log");
  const std::string init = runs + "/a/init.safetensors";
  ASSERT_TRUE(fs::exists(init));
  ASSERT_EQ(run_lra_train(state_run(runs, "b", {"model.init_state=" + init}), dir / "b.log"), 0)
      << read_text(dir / "b.log");
  const auto ra = nlohmann::json::parse(read_text(runs + "/a/report.json"));
  const auto rb = nlohmann::json::parse(read_text(runs + "/b/report.json"));
  EXPECT_EQ(ra["test"]["loss"], rb["test"]["loss"]);

  auto state = lra::load_safetensors(init);
  lra::NamedTensors renamed, reshaped;
  for (const auto& item : state) {
    renamed.insert(item.key() == "encoder.final_norm.weight" ? "encoder.final_norm.w" : item.key(),
                   item.value());
    reshaped.insert(item.key(), item.key() == "head_fc2.bias" ? torch::zeros({3}) : item.value());
  }
  lra::save_safetensors(dir / "renamed.safetensors", renamed);
  lra::save_safetensors(dir / "reshaped.safetensors", reshaped);
  for (const auto& [file, message] : std::vector<std::pair<std::string, std::string>>{
           {"renamed", "encoder.final_norm.weight is missing"},
           {"reshaped", "head_fc2.bias has shape [3], the model expects [10]"}}) {
    const std::string path = dir / (file + ".safetensors");
    EXPECT_EQ(run_lra_train(state_run(runs, file, {"model.init_state=" + path}), dir / "x.log"), 1);
    const std::string log = read_text(dir / "x.log");
    EXPECT_NE(log.find(path + ": " + message), std::string::npos) << log;
    for (const char* f : {"checkpoint.pt", "best.pt", "metrics.jsonl", "init.safetensors"})
      EXPECT_FALSE(fs::exists(runs + "/" + file + "/" + f)) << file << " " << f;
  }
}

// batches.jsonl holds each step's example indices once, in step order; a run stopped and
// resumed writes the same file as an uninterrupted one.
TEST(BatchIndicesCli, EachStepsIndicesOnceAndTheSameAfterAResume) {
  TempDir dir;
  const std::string runs = dir / "runs";
  ASSERT_EQ(run_lra_train(state_run(runs, "whole", {"output.batch_indices=true"}), dir / "w.log"),
            0)
      << read_text(dir / "w.log");
  const std::string whole = read_text(runs + "/whole/batches.jsonl");
  std::istringstream lines(whole);
  int64_t step = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["step"], ++step);
    ASSERT_EQ(j["indices"].size(), 16u);
    for (const auto& i : j["indices"]) EXPECT_TRUE(i >= 0 && i < 300) << line;
  }
  EXPECT_EQ(step, 9);
  // 5 steps, then resumed (--force: a longer run) to 9: the indices do not depend on the model.
  ASSERT_EQ(run_lra_train(state_run(runs, "split", {"output.batch_indices=true", "train.steps=5"}),
                          dir / "s1.log"),
            0);
  auto resume = state_run(runs, "split", {"output.batch_indices=true"});
  resume.insert(resume.end(), {"--resume", "--force"});
  ASSERT_EQ(run_lra_train(resume, dir / "s2.log"), 0) << read_text(dir / "s2.log");
  EXPECT_EQ(read_text(runs + "/split/batches.jsonl"), whole);
}

// The pieces another implementation needs to follow a run step by step: the set lra_train
// generates, written as a prepared folder numpy reads; each step's gradient norm in
// metrics.jsonl; the state after the last step.
TEST(LockstepInputsCli, GeneratedListOpsFolderGradNormsAndFinalState) {
  TempDir dir;
  const std::string runs = dir / "runs", config = dir / "gen.yaml";
  write_text(config,
             "seed: 4\ntask: listops\ndata:\n  max_length: 40\n  synthetic:\n    train_size: "
             "300\n    val_size: 50\n    test_size: 50\n    min_length: 4\n    max_length: 40\n    "
             "max_depth: 3\n    max_args: 5\n");  // the quickstart's generator settings
  std::string out;
  ASSERT_EQ(run_shell(std::string(LRA_PREPARE_BIN) + " listops -q --from-config " + config +
                          " --out " + (dir / "listops"),
                      out),
            0)
      << out;
  // Trained on the folder and on the generator: the same data, so the same run.
  const std::vector<std::string> common = {"seed=4",
                                           "data.max_length=40",
                                           "data.synthetic.min_length=4",
                                           "data.synthetic.max_length=40",
                                           "output.save_final_state=true",
                                           "output.save_init_state=true",
                                           "train.log_every=1"};
  auto from_files = common, generated = common;
  from_files.insert(from_files.end(), {"data.source=files", "data.dir=" + (dir / "listops")});
  ASSERT_EQ(run_lra_train(state_run(runs, "files", from_files), dir / "f.log"), 0)
      << read_text(dir / "f.log");
  ASSERT_EQ(run_lra_train(state_run(runs, "generated", generated), dir / "g.log"), 0)
      << read_text(dir / "g.log");
  const auto a = lra::load_safetensors(runs + "/files/final.safetensors");
  const auto b = lra::load_safetensors(runs + "/generated/final.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  // The final state is what training made of the initial one.
  const auto init = lra::load_safetensors(runs + "/files/init.safetensors");
  EXPECT_FALSE(torch::equal(init["head_fc2.bias"], a["head_fc2.bias"]));
  std::istringstream lines(read_text(runs + "/files/metrics.jsonl"));
  int steps = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("loss")) continue;
    ++steps;
    ASSERT_TRUE(j.contains("grad_norm")) << line;
    EXPECT_GT(j["grad_norm"].get<double>(), 0.0) << line;
  }
  EXPECT_EQ(steps, 9);
  write_text(dir / "bad.yaml", "task: pathfinder\ndata:\n  max_length: 1024\n");
  EXPECT_NE(run_shell(std::string(LRA_PREPARE_BIN) + " listops -q --from-config " +
                          (dir / "bad.yaml") + " --out " + (dir / "bad"),
                      out),
            0);
  EXPECT_NE(out.find("--from-config needs task: listops"), std::string::npos) << out;
}

}  // namespace
