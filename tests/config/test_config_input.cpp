// What a config file may be: one YAML document, each key once, read from a regular file of
// bounded size; anything else is an error naming the problem, never a silent default.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "../data/data_test_util.h"
#include "config/config.h"

namespace {

using lra::load_config;
using lra::load_config_text;
using lra::test::expect_error;
using lra::test::TempDir;
using lra::test::write_text;

TEST(ConfigInput, ARepeatedKeyIsAnErrorNamingBothLines) {
  expect_error([] { load_config_text("train:\n  lr: 0.1\n  steps: 5\n  lr: 0.2\n"); },
               {"train.lr: given twice (lines 2 and 4)"});
  // Two sections of one name would otherwise merge.
  expect_error([] { load_config_text("train:\n  lr: 0.1\nseed: 1\ntrain:\n  steps: 5\n"); },
               {"train: given twice (lines 1 and 4)"});
  expect_error([] { load_config_text("seed: 1\nseed: 1\n"); }, {"seed: given twice"});
  // An override of a key the file gives once is not a repetition.
  EXPECT_EQ(load_config_text("train:\n  lr: 0.1\n", {"train.lr=0.2"}).train.lr, 0.2);
}

// Aliases can make a small file a huge tree (each level doubles it): the config is read
// without expanding it, so 40 levels are refused at once instead of 2^40 visits.
TEST(ConfigInput, AnAliasBombIsRefusedWithoutExpandingIt) {
  std::string yaml = "l0: &l0 {a: 1, b: 1}\n";
  for (int i = 1; i < 40; ++i)
    yaml += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " {a: *l" +
            std::to_string(i - 1) + ", b: *l" + std::to_string(i - 1) + "}\n";
  yaml += "data:\n  synthetic: *l39\n";
  expect_error([&] { load_config_text(yaml); },
               {"l39: unknown key", "data.synthetic.a: unknown key"});
}

TEST(ConfigInput, MoreThanOneYamlDocumentIsAnError) {
  expect_error([] { load_config_text("seed: 1\n---\nseed: 2\n"); },
               {"holds more than one YAML document (a second begins at line 2", "'---'"});
  // yaml-cpp reads these as an empty config (and its parser never gets past them).
  for (const char* broken : {",[", ",{", "seed: 1\n,[\n"})
    expect_error([&] { load_config_text(broken); }, {"not valid YAML"});
  EXPECT_EQ(load_config_text("---\nseed: 3\n").seed, 3);  // one document with its marker
  EXPECT_EQ(load_config_text("# only a comment\n").seed, 42);
}

TEST(ConfigInput, ThreadsBeyondAnyMachineAreRefusedNotTruncated) {
  expect_error([] { load_config_text("threads: 4294967297\n"); },
               {"threads: expected auto | integer in [1, 4096], got '4294967297'"});
  expect_error([] { load_config_text("threads: 99999999999999999999\n"); }, {"threads:"});
  EXPECT_EQ(load_config_text("threads: 4096\n").threads, 4096);
}

TEST(ConfigInput, AConfigPathMustBeABoundedRegularFile) {
  TempDir dir;
  expect_error([&] { load_config(dir.str()); }, {"is a directory, not a config file", "--config"});
  expect_error([] { load_config("/dev/zero"); }, {"/dev/zero: not a regular file"});
  expect_error([&] { load_config(dir / "missing.yaml"); }, {"missing.yaml: cannot open"});
  const std::string big = dir / "big.yaml";
  write_text(big, "seed: 1\n" + std::string(17u << 20, '#'));
  expect_error([&] { load_config(big); }, {"big.yaml", "bytes; a config is at most"});
  write_text(dir / "ok.yaml", "seed: 7\n");
  EXPECT_EQ(load_config(dir / "ok.yaml").seed, 7);
}

}  // namespace
