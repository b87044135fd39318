// What data.max_length below the prepared length costs: the sequences it cuts are counted and
// reported, never dropped silently.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "data/dataset.h"
#include "data/prepared.h"
#include "data_test_util.h"

namespace lra {
namespace {

TEST(DatasetTest, CountCutFindsTheSequencesWhoseRealTokensPassTheLimit) {
  Split s;
  s.name = "train";
  // Real lengths 2, 5, 6 (a pad inside does not end it), 0 and 3.
  s.tokens = torch::tensor({1, 2, 0, 0, 0, 0,  //
                            1, 1, 1, 1, 1, 0,  //
                            3, 0, 0, 0, 0, 4,  //
                            0, 0, 0, 0, 0, 0,  //
                            5, 5, 5, 0, 0, 0},
                           torch::kInt16)
                 .view({5, 6});
  s.labels = torch::zeros({5}, torch::kInt64);
  CutCount c = count_cut(s, 3);
  EXPECT_EQ(c.cut, 2);  // lengths 5 and 6; the row of length 3 keeps all its tokens
  EXPECT_EQ(c.total, 5);
  EXPECT_EQ(c.longest, 6);
  c = count_cut(s, 6);
  EXPECT_EQ(c.cut, 0);
  EXPECT_EQ(c.longest, 0);
  c = count_cut(s, 1);
  EXPECT_EQ(c.cut, 4);
  // Retrieval: both documents of a pair are sequences.
  s.tokens2 = torch::zeros({5, 6}, torch::kUInt8);
  s.tokens2[4][4] = 7;
  c = count_cut(s, 3);
  EXPECT_EQ(c.cut, 3);
  EXPECT_EQ(c.total, 10);
}

// Rows with real lengths 2, 5, 6 and 1 (listops ids, vocab 16, 10 classes).
Split four_rows(const std::string& name) {
  Split s;
  s.name = name;
  s.tokens = torch::tensor({1, 2, 0, 0, 0, 0,  //
                            1, 1, 1, 1, 1, 0,  //
                            3, 0, 0, 0, 0, 4,  //
                            5, 0, 0, 0, 0, 0},
                           torch::kUInt8)
                 .view({4, 6});
  s.labels = torch::tensor({1, 2, 3, 4}, torch::kInt64);
  return s;
}

TEST(DatasetTest, ShorterMaxLengthWarnsHowManySequencesItCutsPerSplit) {
  test::TempDir dir;
  TaskData d;
  d.task = "listops";
  d.vocab_size = 16;
  d.num_classes = 10;
  d.max_length = 6;
  d.train = four_rows("train");
  d.val = four_rows("val");
  d.test = four_rows("test");
  d.test.tokens.slice(1, 3).zero_();  // test keeps every real token at length 3
  write_prepared(dir / "prepared", d, nlohmann::json::object());
  const Config config = load_config_text(
      "task: listops\ndata: {source: files, max_length: 3, dir: " + (dir / "prepared") + "}\n");

  ::testing::internal::CaptureStdout();  // lra::log writes to stdout
  const TaskData loaded = load_task_data(config);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(loaded.max_length, 3);
  EXPECT_EQ(loaded.train.tokens.size(1), 3);
  for (const char* split : {"train", "val"})
    EXPECT_NE(out.find(std::string("data.max_length 3 cuts 2 of 4 ") + split +
                       " sequences (their real tokens run to 6); raise data.max_length (up "
                       "to the prepared 6) to keep them"),
              std::string::npos)
        << out;
  EXPECT_EQ(out.find("test sequences"), std::string::npos) << out;  // nothing of test is cut
}

}  // namespace
}  // namespace lra
