#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "data/npy.h"
#include "data/prepared.h"
#include "data_test_util.h"

namespace lra {
namespace {

using test::expect_error;
using test::TempDir;

Split make_split(const std::string& name, int64_t n, int64_t l, int64_t vocab, int64_t classes,
                 bool second, int64_t seed) {
  torch::manual_seed(static_cast<uint64_t>(seed));
  Split s;
  s.name = name;
  auto lengths = torch::randint(1, l + 1, {n, 1});                             // (N, 1)
  auto mask = torch::arange(l).unsqueeze(0).lt(lengths);                       // (N, L)
  s.tokens = torch::randint(1, vocab, {n, l}).mul(mask).to(torch::kInt32);     // (N, L)
  if (second) s.tokens2 = torch::randint(1, vocab, {n, l}).to(torch::kInt32);  // (N, L)
  s.labels = torch::randint(0, classes, {n}, torch::kInt64);                   // (N,)
  return s;
}

TaskData make_task(const std::string& task, int64_t vocab, int64_t l = 16) {
  TaskData d;
  d.task = task;
  d.vocab_size = vocab;
  d.num_classes = 3;
  d.max_length = l;
  const bool two = task == "retrieval";
  d.train = make_split("train", 12, l, vocab, 3, two, 1);
  d.val = make_split("val", 5, l, vocab, 3, two, 2);
  d.test = make_split("test", 6, l, vocab, 3, two, 3);
  return d;
}

void expect_same(const Split& a, const Split& b) {
  EXPECT_TRUE(torch::equal(a.tokens.to(torch::kInt64), b.tokens.to(torch::kInt64)));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_EQ(a.tokens2.defined(), b.tokens2.defined());
  if (a.tokens2.defined()) {
    EXPECT_TRUE(torch::equal(a.tokens2.to(torch::kInt64), b.tokens2.to(torch::kInt64)));
  }
}

nlohmann::json read_meta(const TempDir& dir) {
  return nlohmann::json::parse(test::read_text(dir / "meta.json"));
}
void write_meta(const TempDir& dir, const nlohmann::json& meta) {
  test::write_text(dir / "meta.json", meta.dump(2));
}

TEST(PreparedTest, RoundTripPicksTheSmallestDtype) {
  for (auto [vocab, dtype] : {std::pair<int64_t, torch::ScalarType>{16, torch::kUInt8},
                              {257, torch::kInt16},
                              {40000, torch::kInt32}}) {
    TempDir dir;
    const TaskData d = make_task("listops", vocab);
    write_prepared(dir.str(), d, {{"variant", {{"tokenization", "fixed"}}}, {"notes", {"hi"}}});
    const TaskData r = load_prepared(dir.str());
    EXPECT_EQ(r.task, "listops");
    EXPECT_EQ(r.vocab_size, vocab);
    EXPECT_EQ(r.num_classes, 3);
    EXPECT_EQ(r.max_length, 16);
    EXPECT_EQ(r.train.tokens.scalar_type(), dtype);
    expect_same(d.train, r.train);
    expect_same(d.val, r.val);
    expect_same(d.test, r.test);
    const auto meta = read_meta(dir);
    EXPECT_EQ(meta["format"], "lra_prepared");
    EXPECT_EQ(meta["format_version"], 1);
    EXPECT_EQ(meta["variant"]["tokenization"], "fixed");
    EXPECT_EQ(meta["splits"]["val"]["count"], 5);
    EXPECT_EQ(meta["pad_id"], 0);
  }
}

TEST(PreparedTest, RetrievalRoundTripKeepsTheSecondDocument) {
  TempDir dir;
  const TaskData d = make_task("retrieval", 257);
  write_prepared(dir.str(), d, {});
  const TaskData r = load_prepared(dir.str());
  ASSERT_TRUE(r.train.tokens2.defined());
  expect_same(d.train, r.train);
  expect_same(d.test, r.test);
  EXPECT_TRUE(std::filesystem::exists(dir / "val.lengths2.npy"));
}

TEST(PreparedTest, MissingFolderMetaAndArrays) {
  TempDir dir;
  expect_error([&] { load_prepared(dir / "nope"); }, {"nope", "not found", "lra_prepare"});
  expect_error([&] { load_prepared(dir.str()); }, {"meta.json", "not found", "lra_prepare"});
  write_prepared(dir.str(), make_task("text", 257), {});
  std::filesystem::remove(dir / "val.labels.npy");
  expect_error([&] { load_prepared(dir.str()); },
               {"val.labels.npy", "not found", "lra_prepare text"});
  test::write_text(dir / "meta.json", "{ not json");
  expect_error([&] { load_prepared(dir.str()); }, {"meta.json", "not valid JSON"});
}

TEST(PreparedTest, TruncatedTokens) {
  TempDir dir;
  write_prepared(dir.str(), make_task("image", 256), {});
  const std::string s = test::read_text(dir / "train.tokens.npy");
  test::write_text(dir / "train.tokens.npy", s.substr(0, s.size() - 100));
  expect_error(
      [&] { load_prepared(dir.str()); },
      {"train.tokens.npy", "truncated", "12x16 uint8 = 192 bytes", "file has 92", "regenerate"});
}

TEST(PreparedTest, GarbageBytesInsteadOfArray) {
  TempDir dir;
  write_prepared(dir.str(), make_task("image", 256), {});
  test::write_text(dir / "test.labels.npy", std::string(300, '\x42'));
  expect_error([&] { load_prepared(dir.str()); }, {"test.labels.npy", "bad magic"});
}

TEST(PreparedTest, WrongDtypes) {
  TempDir dir;
  write_prepared(dir.str(), make_task("listops", 16), {});
  npy::write(dir / "train.labels.npy", torch::zeros({12}, torch::kInt32));
  expect_error([&] { load_prepared(dir.str()); }, {"train.labels.npy", "1-D int64", "int32"});
  write_prepared(dir.str(), make_task("listops", 16), {});
  npy::write(dir / "val.tokens.npy", torch::ones({5, 16}, torch::kInt16));
  expect_error([&] { load_prepared(dir.str()); },
               {"val.tokens.npy", "int16", "disagrees with meta.json token_dtype uint8"});
  npy::write(dir / "val.tokens.npy", torch::ones({5, 16}, torch::kInt64));
  expect_error([&] { load_prepared(dir.str()); }, {"val.tokens.npy", "int64 not allowed"});
}

TEST(PreparedTest, WrongShapes) {
  TempDir dir;
  write_prepared(dir.str(), make_task("listops", 16), {});
  npy::write(dir / "val.tokens.npy", torch::ones({5, 15}, torch::kUInt8));
  expect_error([&] { load_prepared(dir.str()); }, {"val.tokens.npy", "length 15", "max_length 16"});
  npy::write(dir / "val.tokens.npy", torch::ones({80}, torch::kUInt8));
  expect_error([&] { load_prepared(dir.str()); }, {"val.tokens.npy", "2-D"});
  npy::write(dir / "val.tokens.npy", torch::ones({4, 16}, torch::kUInt8));
  expect_error([&] { load_prepared(dir.str()); }, {"val.tokens.npy", "4 rows", "count 5"});
  write_prepared(dir.str(), make_task("listops", 16), {});
  npy::write(dir / "val.labels.npy", torch::zeros({6}, torch::kInt64));
  expect_error([&] { load_prepared(dir.str()); }, {"val.labels.npy", "6 labels", "count 5"});
}

TEST(PreparedTest, TokenOutsideVocabulary) {
  TempDir dir;
  write_prepared(dir.str(), make_task("listops", 16), {});
  auto t = npy::read(dir / "test.tokens.npy");
  t[2][3] = 16;
  npy::write(dir / "test.tokens.npy", t);
  expect_error([&] { load_prepared(dir.str()); },
               {"test.tokens.npy", "token id 16 at row 2, position 3", "vocab_size 16"});
  // Writing refuses such data too.
  TaskData d = make_task("listops", 16);
  d.train.tokens[0][0] = 20;
  expect_error([&] { write_prepared(dir / "w", d, {}); }, {"token id 20"});
}

TEST(PreparedTest, LabelOutOfRange) {
  TempDir dir;
  write_prepared(dir.str(), make_task("listops", 16), {});
  auto l = npy::read(dir / "val.labels.npy");
  l[4] = 3;
  npy::write(dir / "val.labels.npy", l);
  expect_error([&] { load_prepared(dir.str()); },
               {"val.labels.npy", "label 3 at row 4", "num_classes 3"});
  l[4] = -1;
  npy::write(dir / "val.labels.npy", l);
  expect_error([&] { load_prepared(dir.str()); }, {"label -1 at row 4"});
}

TEST(PreparedTest, MetaDisagreeingWithArrays) {
  TempDir dir;
  write_prepared(dir.str(), make_task("listops", 16), {});
  auto meta = read_meta(dir);
  meta["splits"]["train"]["count"] = 11;
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"train.tokens.npy", "12 rows", "count 11"});
  meta = read_meta(dir);
  meta["splits"]["train"]["count"] = 12;
  meta["max_length"] = 32;
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"length 16", "max_length 32"});
  meta["max_length"] = 16;
  meta["token_dtype"] = "int32";
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"disagrees with meta.json token_dtype int32"});
  meta["token_dtype"] = "uint8";
  meta["vocab_size"] = 8;
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"outside [0, vocab_size 8)"});
  meta["vocab_size"] = "sixteen";
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"meta.json", "'vocab_size' has the wrong type"});
  meta.erase("vocab_size");
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"missing field 'vocab_size'"});
  meta["vocab_size"] = 16;
  meta["task"] = "translation";
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"unknown task 'translation'"});
  meta["task"] = "listops";
  meta["format_version"] = 7;
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"format_version 7", "newer"});
  meta["format_version"] = 1;
  meta["splits"]["val"]["tokens2"] = "val.tokens2.npy";
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"tokens2", "only the retrieval task"});
}

TEST(PreparedTest, LengthsDisagreeingWithTokens) {
  TempDir dir;
  write_prepared(dir.str(), make_task("text", 257), {});
  auto len = npy::read(dir / "train.lengths.npy");
  len[1] = len[1].item<int>() + 1;
  npy::write(dir / "train.lengths.npy", len);
  expect_error([&] { load_prepared(dir.str()); }, {"train.lengths.npy", "at row 1", "disagrees"});
}

TEST(PreparedTest, EmptySplit) {
  TempDir dir;
  write_prepared(dir.str(), make_task("listops", 16), {});
  auto meta = read_meta(dir);
  meta["splits"]["test"]["count"] = 0;
  write_meta(dir, meta);
  npy::write(dir / "test.tokens.npy", torch::zeros({0, 16}, torch::kUInt8));
  npy::write(dir / "test.labels.npy", torch::zeros({0}, torch::kInt64));
  expect_error([&] { load_prepared(dir.str()); }, {"split 'test' is empty", "lra_prepare listops"});
  TaskData d = make_task("listops", 16);
  d.val = make_split("val", 0, 16, 16, 3, false, 4);
  expect_error([&] { write_prepared(dir / "w", d, {}); }, {"empty split"});
}

TEST(PreparedTest, MissingTokens2ForRetrieval) {
  TempDir dir;
  write_prepared(dir.str(), make_task("retrieval", 257), {});
  std::filesystem::remove(dir / "test.tokens2.npy");
  expect_error([&] { load_prepared(dir.str()); },
               {"test.tokens2.npy", "not found", "second document", "lra_prepare retrieval"});
  TaskData d = make_task("retrieval", 257);
  d.val.tokens2 = torch::Tensor();
  expect_error([&] { write_prepared(dir / "w", d, {}); }, {"tokens2"});
}

TEST(PreparedTest, SizesInMetaAreBoundedBeforeAnythingIsSizedByThem) {
  // num_classes sizes class-count vectors and the model's head, vocab_size its embedding: a
  // meta.json claiming billions is refused, naming the field, the value and the limit.
  TempDir dir;
  write_prepared(dir.str(), make_task("listops", 16), {});
  const auto good = read_meta(dir);
  auto meta = good;
  meta["num_classes"] = 3000000000LL;
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); },
               {"meta.json", "num_classes 3000000000", "65536", "regenerate"});
  for (auto& [name, split] : meta["splits"].items()) split.erase("class_counts");
  write_meta(dir, meta);  // without class_counts to size it by, the cap alone refuses it
  expect_error([&] { load_prepared(dir.str()); }, {"meta.json", "num_classes 3000000000"});
  meta["num_classes"] = kMaxClasses;  // the cap itself is accepted
  write_meta(dir, meta);
  EXPECT_EQ(load_prepared(dir.str()).num_classes, kMaxClasses);

  meta = good;
  meta["vocab_size"] = 257;  // uint8 tokens hold 256 ids
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); },
               {"meta.json", "vocab_size 257", "token_dtype uint8", "at most 256 ids"});
  meta["vocab_size"] = 4000000000LL;
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"vocab_size 4000000000", "token_dtype uint8"});
  meta["vocab_size"] = 16;
  meta["token_dtype"] = "float64";
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); },
               {"meta.json", "token_dtype 'float64'", "uint8, int16, uint16, int32"});

  write_prepared(dir.str(), make_task("listops", 40000), {});  // int32 tokens
  meta = read_meta(dir);
  meta["vocab_size"] = (int64_t{1} << 31) + 1;
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); },
               {"vocab_size 2147483649", "token_dtype int32", "at most 2147483648 ids"});

  // Lengths and counts are checked against the arrays' shapes, which the .npy reader checks
  // against the file size before it reserves anything.
  write_prepared(dir.str(), make_task("listops", 16), {});
  meta = read_meta(dir);
  meta["max_length"] = int64_t{1} << 62;
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"train.tokens.npy", "length 16"});
  meta["max_length"] = 16;
  meta["splits"]["train"]["count"] = std::numeric_limits<int64_t>::max();
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"train.tokens.npy", "12 rows"});
}

TEST(PreparedTest, MetaJsonSizeAndNestingAreBoundedBeforeParsing) {
  // Parsed JSON costs tens of bytes per byte of nested input: 50 MB of '[' took 3.9 GiB.
  TempDir dir;
  write_prepared(dir.str(), make_task("listops", 16), {});
  test::write_text(dir / "meta.json", std::string(100000, '['));
  expect_error([&] { load_prepared(dir.str()); },
               {"meta.json", "nested deeper than 32 levels", "regenerate"});
  test::write_text(dir / "meta.json", std::string(17 << 20, ' ') + "{}");
  expect_error([&] { load_prepared(dir.str()); },
               {"meta.json", "17825794 bytes, more than the 16777216"});
  std::filesystem::remove(dir / "meta.json");
  std::filesystem::create_symlink("/dev/zero", dir / "meta.json");
  expect_error([&] { load_prepared(dir.str()); }, {"meta.json", "not a regular file"});
  std::filesystem::remove(dir / "meta.json");
  write_prepared(dir.str(), make_task("listops", 16), {});
  EXPECT_EQ(load_prepared(dir.str()).train.size(), 12);  // what lra_prepare writes passes
}

TEST(PreparedTest, ClassCountsMustBeTheLabelsOwnCounts) {
  TempDir dir;
  write_prepared(dir.str(), make_task("listops", 16), {});
  const auto good = read_meta(dir);
  // Move one example of val from its largest class to another: the total still agrees.
  auto meta = good;
  auto& counts = meta["splits"]["val"]["class_counts"];
  int from = 0;
  for (int c = 1; c < 3; ++c) from = counts[c] > counts[from] ? c : from;
  const int to = (from + 1) % 3, first = std::min(from, to);
  counts[from] = counts[from].get<int>() - 1;
  counts[to] = counts[to].get<int>() + 1;
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); },
               {"meta.json", "splits.val.class_counts[" + std::to_string(first) + "]",
                "val.labels.npy", "labels of class " + std::to_string(first), "split 'val'"});

  meta = good;
  meta["splits"]["test"]["class_counts"] = {1, 2};
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); },
               {"splits.test.class_counts", "num_classes 3", "got 2 entries"});
  meta["splits"]["test"]["class_counts"] = "many";
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"splits.test.class_counts", "string"});
  meta["splits"]["test"]["class_counts"] = {1.5, 2, 3};
  write_meta(dir, meta);
  expect_error([&] { load_prepared(dir.str()); }, {"splits.test.class_counts[0] is 1.5"});

  // The labels of another split with the same count: the arrays alone could not tell.
  meta = good;
  write_meta(dir, meta);
  TaskData d = make_task("listops", 16);
  d.test.labels = torch::full({6}, 2, torch::kInt64);
  npy::write(dir / "test.labels.npy", d.test.labels);
  expect_error([&] { load_prepared(dir.str()); },
               {"splits.test.class_counts[", "test.labels.npy", "split 'test'"});

  meta = good;  // older folders without class_counts still load
  for (auto& [name, split] : meta["splits"].items()) split.erase("class_counts");
  write_meta(dir, meta);
  npy::write(dir / "test.labels.npy", make_task("listops", 16).test.labels);
  EXPECT_EQ(load_prepared(dir.str()).test.size(), 6);
}

}  // namespace
}  // namespace lra
