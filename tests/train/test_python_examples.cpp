// The Python the README shows, run with the project's interpreter on a real run folder:
// examples/load_run.py (report, metrics and best.pt into pandas and PyTorch) and
// experiments/plot_results.py (figures from lra_report's CSVs).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "data/data_test_util.h"
#include "train/process_util.h"

namespace fs = std::filesystem;

namespace {

const std::string kPython = std::string(LRA_SOURCE_DIR) + "/.venv/bin/python";

// A 40-step quickstart run with two validations, in `dir`/run.
std::string train_tiny_run(const std::string& dir, const std::string& type) {
  const std::string log = dir + "/train.log";
  const int code = lra::test::run_lra_train(
      lra::test::quickstart_args(
          {"train.steps=40", "train.warmup=5", "eval.every=20", "data.synthetic.train_size=640",
           "threads=1", "attention.type=" + type, "name=run_" + type, "output.dir=" + dir}),
      log);
  EXPECT_EQ(code, 0) << lra::test::read_text(log);
  return dir + "/run_" + type;
}

}  // namespace

TEST(PythonExamplesCli, LoadRunReadsReportMetricsAndBestWeightsByName) {
  lra::test::TempDir dir;
  const std::string run = train_tiny_run(dir.str(), "softmax");
  std::ifstream in(run + "/report.json");
  const auto report = nlohmann::json::parse(in);
  char accuracy[32];
  std::snprintf(accuracy, sizeof accuracy, "%.4f", report["test"]["accuracy"].get<double>());

  std::string out;
  ASSERT_EQ(
      lra::test::run_shell(kPython + " " + LRA_SOURCE_DIR + "/examples/load_run.py " + run, out), 0)
      << out;
  EXPECT_NE(out.find("completed, attention softmax, test accuracy " + std::string(accuracy)),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("2 validation records"), std::string::npos) << out;
  EXPECT_NE(out.find("encoder.token_embedding.weight (16, 64)"), std::string::npos) << out;
}

TEST(PythonExamplesCli, PlotResultsDrawsCurvesFromTheReportCsv) {
  lra::test::TempDir dir;
  train_tiny_run(dir.str(), "softmax");
  train_tiny_run(dir.str(), "favor");
  std::string out;
  ASSERT_EQ(
      lra::test::run_shell(
          std::string(LRA_REPORT_BIN) + " " + dir.str() + " --csv-dir " + dir.str() + "/csv", out),
      0)
      << out;
  ASSERT_EQ(lra::test::run_shell(kPython + " " + LRA_SOURCE_DIR +
                                     "/experiments/plot_results.py --csv-dir " + dir.str() +
                                     "/csv --out " + dir.str() + "/plots",
                                 out),
            0)
      << out;
  EXPECT_GT(fs::file_size(dir.str() + "/plots/training_curves_listops.png"), 1000u) << out;
}
