// End to end: the lra_prepare binary and the Python pickle converter on fixtures.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "data/listops.h"
#include "data/prepared.h"
#include "data_test_util.h"

namespace lra {
namespace {

using test::TempDir;
using test::write_text;

// Runs `cmd` through the shell; returns its exit status and fills `output` (stdout + stderr).
int run(const std::string& cmd, std::string& output) {
  output.clear();
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) output.append(buf.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write_listops_fixture(const TempDir& dir) {
  const std::string rows = "Source\tTarget\n( ( ( [MAX 2 ) 9 ) ] )\t9\n( ( ( [MIN 4 ) 1 ) ] )\t1\n";
  for (const char* s : {"train", "val", "test"})
    write_text(dir / ("listops-1000/basic_" + std::string(s) + ".tsv"), rows);
}

TEST(PrepareToolCli, ListOpsEndToEnd) {
  TempDir dir;
  write_listops_fixture(dir);
  std::string out;
  const int rc = run(std::string(LRA_PREPARE_BIN) + " listops --input " + (dir / "listops-1000") +
                         " --out " + (dir / "prepared") + " --max-length 8",
                     out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("train"), std::string::npos) << out;
  EXPECT_NE(out.find("histogram"), std::string::npos) << out;
  EXPECT_NE(out.find("output:"), std::string::npos) << out;
  const TaskData d = load_prepared(dir / "prepared");
  EXPECT_EQ(d.task, "listops");
  EXPECT_EQ(d.max_length, 8);
  EXPECT_EQ(d.train.size(), 2);
  EXPECT_EQ(d.train.tokens[0][0].item<int>(), listops::kMax);
  EXPECT_EQ(d.train.labels[1].item<int64_t>(), 1);
  const auto meta = nlohmann::json::parse(test::read_text(dir / "prepared/meta.json"));
  EXPECT_EQ(meta["tool"], "lra_prepare");
  EXPECT_EQ(meta["variant"]["tokenization"], "fixed");
  // ... and lra_train trains on the prepared folder.
  const int train_rc =
      run(std::string(LRA_TRAIN_BIN) + " -q -c " + LRA_SOURCE_DIR + "/configs/quickstart.yaml" +
              " -s data.source=files -s data.dir=" + (dir / "prepared") + " -s data.max_length=8" +
              " -s train.batch_size=2 -s train.steps=3 -s train.warmup=1 -s threads=1" +
              " -s output.dir=" + (dir / "runs"),
          out);
  ASSERT_EQ(train_rc, 0) << out;
  const auto report = nlohmann::json::parse(test::read_text(dir / "runs/quickstart/report.json"));
  EXPECT_EQ(report["status"], "completed");
  EXPECT_EQ(report["data"]["task"], "listops");
}

// The generator through the tool: a prepared set and the release layout; reading that layout
// back with --input gives the same .npy files byte for byte; lra_train trains on the synthetic
// config; a bad parameter is named.
TEST(PrepareToolCli, PathfinderGenerateAndReadBack) {
  TempDir dir;
  std::string out;
  const std::string bin = LRA_PREPARE_BIN;
  ASSERT_EQ(
      run(bin + " pathfinder --generate --images 50 --difficulty curv_baseline --seed 3" +
              " --threads 2 --batch-size 20 --out " + (dir / "gen") + " --raw-out " + (dir / "raw"),
          out),
      0)
      << out;
  EXPECT_NE(out.find("images/s"), std::string::npos) << out;
  ASSERT_EQ(run(bin + " pathfinder -q --input " + (dir / "raw") +
                    " --difficulty curv_baseline --seed 3 --out " + (dir / "read"),
                out),
            0)
      << out;
  for (const char* split : {"train", "val", "test"})
    for (const char* what : {"tokens", "labels", "lengths"}) {
      const std::string f = std::string(split) + "." + what + ".npy";
      EXPECT_EQ(test::read_text(dir / ("gen/" + f)), test::read_text(dir / ("read/" + f))) << f;
    }
  EXPECT_NE(run(bin + " pathfinder --generate --images 50 --param contour_lenght=3 --out " +
                    (dir / "bad"),
                out),
            0);
  EXPECT_NE(out.find("contour_length"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir / "bad"));

  const int train_rc =
      run(std::string(LRA_TRAIN_BIN) + " -q -c " + LRA_SOURCE_DIR + "/configs/pathfinder.yaml" +
              " -s data.pathfinder.images=40 -s data.pathfinder.cache_dir=" + (dir / "cache") +
              " -s train.batch_size=4 -s train.steps=2 -s train.warmup=1 -s threads=1" +
              " -s eval.batches=1 -s output.dir=" + (dir / "runs"),
          out);
  ASSERT_EQ(train_rc, 0) << out;
  const auto report = nlohmann::json::parse(test::read_text(dir / "runs/pathfinder/report.json"));
  EXPECT_EQ(report["status"], "completed");
  EXPECT_EQ(report["data"]["task"], "pathfinder");
}

TEST(PrepareToolCli, BadInputExitsWithFileAndLine) {
  TempDir dir;
  write_listops_fixture(dir);
  write_text(dir / "listops-1000/basic_test.tsv", "Source\tTarget\n( [MAX 2 ] )\tnine\n");
  std::string out;
  const int rc = run(std::string(LRA_PREPARE_BIN) + " listops -q --input " +
                         (dir / "listops-1000") + " --out " + (dir / "prepared"),
                     out);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("basic_test.tsv:2: Target 'nine' is not a digit 0-9"), std::string::npos)
      << out;
  EXPECT_FALSE(std::filesystem::exists(dir / "prepared/meta.json"));
  EXPECT_NE(run(std::string(LRA_PREPARE_BIN) + " image --format png --input x --out y", out), 0);
}

// A Python with numpy: python3 on PATH, else the project's .venv.
std::string python_with_numpy() {
  std::string out;
  for (std::string py : {std::string("python3"), std::string(LRA_SOURCE_DIR) + "/.venv/bin/python"})
    if (run(py + " -c 'import numpy'", out) == 0) return py;
  return "";
}

TEST(PreparePickleCli, PeerPicklesConvertToTheSameFormat) {
  const std::string py = python_with_numpy();
  if (py.empty()) GTEST_SKIP() << "no Python with numpy";
  TempDir dir;
  write_text(dir / "make.py", R"(import numpy as np, pickle, sys
for split, n in (("train", 6), ("dev", 2), ("test", 3)):
    rows = []
    for i in range(n):
        a = np.zeros(12, np.int32); a[:i + 1] = 200 + i
        b = np.zeros(12, np.int32); b[:3] = 256
        rows.append({"input_ids_0": a, "input_ids_1": b, "label": np.int32(i % 2)})
    pickle.dump(rows, open(sys.argv[1] + "/lra-retrieval." + split + ".pickle", "wb"))
)");
  std::string out;
  ASSERT_EQ(run(py + " " + (dir / "make.py") + " " + dir.str(), out), 0) << out;
  const std::string script = std::string(LRA_SOURCE_DIR) + "/data_scripts/convert_peer_pickles.py";
  ASSERT_EQ(run(py + " " + script + " --task retrieval --input " + dir.str() + " --out " +
                    (dir / "prepared"),
                out),
            0)
      << out;
  const TaskData d = load_prepared(dir / "prepared");
  EXPECT_EQ(d.task, "retrieval");
  EXPECT_EQ(d.max_length, 12);
  EXPECT_EQ(d.vocab_size, 257);
  EXPECT_EQ(d.train.size(), 6);
  EXPECT_EQ(d.val.size(), 2);
  EXPECT_EQ(d.train.tokens[3][3].item<int>(), 203);
  EXPECT_EQ(d.train.tokens[3][4].item<int>(), 0);
  EXPECT_EQ(d.test.tokens2[2][2].item<int>(), 256);
  EXPECT_EQ(d.train.labels[3].item<int64_t>(), 1);

  // A label outside the classes is refused with the file named.
  write_text(dir / "bad.py", R"(import numpy as np, pickle, sys
rows = [{"input_ids_0": np.ones(4, np.int32), "label": 7}]
for split in ("train", "dev", "test"):
    pickle.dump(rows, open(sys.argv[1] + "/lra-text." + split + ".pickle", "wb"))
)");
  ASSERT_EQ(run(py + " " + (dir / "bad.py") + " " + dir.str(), out), 0) << out;
  EXPECT_NE(
      run(py + " " + script + " --task text --input " + dir.str() + " --out " + (dir / "bad"), out),
      0);
  EXPECT_NE(out.find("lra-text.train.pickle: labels outside [0, 2)"), std::string::npos) << out;
}

}  // namespace
}  // namespace lra
