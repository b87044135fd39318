#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.h"

using lra::ConfigError;
using lra::load_config_text;

namespace {

std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    load_config_text(yaml, overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, DefaultsAreValidAndOverridesApply) {
  auto c = load_config_text("train:\n  lr: 3e-4\nmodel:\n  dim: 32\n",
                            {"train.steps=7", "train.warmup=2", "threads=auto"});
  EXPECT_DOUBLE_EQ(c.train.lr, 3e-4);
  EXPECT_EQ(c.model.dim, 32);
  EXPECT_EQ(c.train.steps, 7);
  EXPECT_EQ(c.threads, 0);
  EXPECT_EQ(c.attention.type, "softmax");
}

TEST(Config, UnknownKeyNamesPathAndSuggestion) {
  EXPECT_EQ(error_of("train:\n  lr_rate: 0.1\n"),
            "train.lr_rate: unknown key; did you mean train.lr?");
  EXPECT_EQ(error_of("modle:\n  dim: 3\n"), "modle: unknown key; did you mean model?");
  EXPECT_NE(error_of("lr: 0.1\n").find("did you mean train.lr?"), std::string::npos);
  // YAML allows lists and mappings as keys; a config key is a name (found by fuzz_config).
  EXPECT_EQ(error_of("[1, 2]:\n"), "top level: a key must be a plain name, not a list or mapping");
  EXPECT_EQ(error_of("train:\n  {a: 1}: 2\n"),
            "train: a key must be a plain name, not a list or mapping");
}

// A key that was replaced says by what, in the config file and as an override.
TEST(Config, ReplacedKeyNamesItsSuccessor) {
  const std::string expected =
      "attention.orthogonal: replaced by attention.weight_sampler; write weight_sampler: "
      "orthogonal for true, weight_sampler: gaussian for false";
  EXPECT_EQ(error_of("attention:\n  type: favor\n  orthogonal: false\n"), expected);
  EXPECT_EQ(error_of("attention:\n  type: favor\n", {"attention.orthogonal=false"}), expected);
}

TEST(Config, WrongTypeAndRangeNameTheExpectation) {
  EXPECT_EQ(error_of("train:\n  lr: fast\n"), "train.lr: expected a number in (0, 10], got 'fast'");
  EXPECT_EQ(error_of("model:\n  layers: 0\n"), "model.layers: expected an integer >= 1, got '0'");
  EXPECT_EQ(error_of("model:\n  layers: 2.5\n"),
            "model.layers: expected an integer >= 1, got '2.5'");
  EXPECT_EQ(error_of("model:\n  pooling: max\n"),
            "model.pooling: expected one of: mean | mean_padded | cls, got 'max'");
  EXPECT_EQ(error_of("attention:\n  type: nystrom\n")
                .rfind("attention.type: expected one of: softmax", 0),
            0u);
  EXPECT_EQ(error_of("train: 5\n"), "train: expected a section (a mapping of keys)");
  EXPECT_EQ(error_of("output:\n  save_checkpoint: maybe\n"),
            "output.save_checkpoint: expected true or false, got 'maybe'");
}

TEST(Config, AllErrorsReportedTogether) {
  std::string e = error_of("train:\n  lr: -1\n  batch: 3\n");
  EXPECT_NE(e.find("train.lr: expected"), std::string::npos);
  EXPECT_NE(e.find("train.batch: unknown key; did you mean train.batch_size?"), std::string::npos);
}

TEST(Config, CrossFieldRules) {
  EXPECT_NE(error_of("model:\n  dim: 10\n  heads: 3\n")
                .find("model.heads: 3 does not divide the qkv width 10"),
            std::string::npos);
  EXPECT_NE(error_of("data:\n  max_length: 100\n").find("data.max_length: 100 is shorter"),
            std::string::npos);
  EXPECT_NE(error_of("train:\n  steps: 10\n  warmup: 20\n").find("train.warmup"),
            std::string::npos);
  // Generated Pathfinder: the sequence cannot be longer than the image, and only 32/64/128.
  EXPECT_NE(error_of("task: pathfinder\ndata:\n  max_length: 2000\n")
                .find("data.max_length: 2000 is longer than the 32x32 images"),
            std::string::npos);
  EXPECT_NE(error_of("task: pathx\ndata:\n  max_length: 1024\n  pathfinder:\n    resolution: 48\n")
                .find("data.pathfinder.resolution: 48 has no preset"),
            std::string::npos);
  EXPECT_NE(
      error_of("task: text\ndata:\n  max_length: 100\n").find("listops, pathfinder and pathx"),
      std::string::npos);
  EXPECT_EQ(error_of("task: pathx\ndata:\n  max_length: 16384\n"), "");
}

TEST(Config, BadOverrides) {
  EXPECT_EQ(error_of("", {"train.lr"}),
            "--set 'train.lr': expected key.path=value, e.g. --set train.lr=3e-4");
  EXPECT_EQ(error_of("", {"train.lr_rate=1"}),
            "train.lr_rate: unknown key; did you mean train.lr?");
  EXPECT_EQ(error_of("", {"train.steps=many"}),
            "train.steps: expected an integer >= 1, got 'many'");
  EXPECT_NE(error_of("", {"train..lr=1"}).find("empty component"), std::string::npos);
}

TEST(Config, ResolvedYamlAndJsonRoundTrip) {
  auto c = load_config_text("name: x\ntrain:\n  lr: 0.00123\nmodel:\n  pooling: cls\n", {"seed=9"});
  auto again = load_config_text(lra::to_yaml(c));
  EXPECT_EQ(lra::to_yaml(again), lra::to_yaml(c));
  EXPECT_DOUBLE_EQ(again.train.lr, 0.00123);
  EXPECT_EQ(again.seed, 9);
  // A report.json (resolved config under "config") reads back as the same config.
  auto from_report = load_config_text(
      "{\"format\": \"lra_train.report\", \"config\": " + lra::to_json_text(c) + "}");
  EXPECT_EQ(lra::to_yaml(from_report), lra::to_yaml(c));
}

TEST(Config, MissingFileAndBadYaml) {
  try {
    lra::load_config("/nonexistent/cfg.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open config file"), std::string::npos);
  }
  EXPECT_NE(error_of("train: [1, 2\n").find("not valid YAML"), std::string::npos);
}

TEST(Config, ShippedConfigsAreValid) {
  int checked = 0;
  for (const char* folder : {"/configs", "/configs/official"})
    for (const auto& entry :
         std::filesystem::directory_iterator(std::string(LRA_SOURCE_DIR) + folder))
      if (entry.path().extension() == ".yaml") {
        EXPECT_NO_THROW(lra::load_config(entry.path().string())) << entry.path();
        ++checked;
      }
  EXPECT_GE(checked, 14);
}

TEST(Config, ReferenceCoversEveryKey) {
  auto md = lra::config_reference_markdown();
  for (const char* key :
       {"`train.lr`", "`attention.type`", "`data.synthetic.max_depth`", "`threads`"})
    EXPECT_NE(md.find(key), std::string::npos) << key;
}

TEST(Config, DocsConfigMdIsTheGeneratedReference) {
  std::ifstream in(std::string(LRA_SOURCE_DIR) + "/docs/config.md");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), lra::config_reference_markdown())
      << "docs/config.md is stale: regenerate it with `build/lra_train --config-reference > "
         "docs/config.md`";
}
