// lra_report's aggregation from fixture report.json files: mean and std over seeds, missing
// runs shown as missing (never as zero), speed-ups, the feature-sweep pivot, published numbers.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "../data/data_test_util.h"
#include "report/published_results.h"
#include "report/results_table.h"
#include "report/run_summary.h"

namespace {

using lra::test::expect_error;
using lra::test::read_text;
using lra::test::TempDir;
using lra::test::write_text;

struct Fixture {
  std::string task = "listops";
  std::string type = "softmax";
  int features = 128;
  int seed = 0;
  std::string status = "completed";
  double accuracy = 0.5;
  double samples_per_s = 1000;
  double memory_mib = 100;
};

void write_report(const std::string& dir, const Fixture& f) {
  char text[2048];
  std::snprintf(text, sizeof(text), R"({
  "format": "lra_train.report", "version": 1, "name": "r", "status": "%s",
  "config": {"name": "r", "seed": %d, "task": "%s", "threads": 2,
             "data": {"source": "synthetic", "dir": "", "max_length": 64},
             "attention": {"type": "%s", "features": %d, "kernel": "exp"},
             "train": {"steps": 100, "lr": 0.001}, "output": {"dir": "%s"}},
  "environment": {"device": "cpu"},
  "parameters": 1234,
  %s
  "train_throughput": {"samples_per_s": %g, "ms_per_step_median": 5.0},
  "peak_memory": {"mib": %g, "kind": "process_rss"},
  "wall_time_s": 3.0
})",
                f.status.c_str(), f.seed, f.task.c_str(), f.type.c_str(), f.features, dir.c_str(),
                f.status == "completed"
                    ? ("\"test\": {\"accuracy\": " + std::to_string(f.accuracy) +
                       "}, \"best\": {\"val_accuracy\": 0.5},")
                          .c_str()
                    : "",
                f.samples_per_s, f.memory_mib);
  write_text(dir + "/report.json", text);
}

TEST(ResultsTable, MeanAndSampleStdOverSeeds) {
  const auto s = lra::mean_std({0.30, 0.34, 0.38});
  EXPECT_EQ(s.n, 3);
  EXPECT_NEAR(s.mean, 0.34, 1e-12);
  EXPECT_NEAR(s.std, 0.04, 1e-12);  // sample std: sqrt((0.0016 * 2) / 2)
  EXPECT_EQ(lra::mean_std({0.5}).std, 0.0);
  EXPECT_EQ(lra::mean_std({}).n, 0);
}

TEST(ResultsTable, TasksByBackendWithMissingRunsShownAsMissing) {
  TempDir dir;
  write_report(dir / "a", {"listops", "softmax", 128, 0, "completed", 0.30, 1000});
  write_report(dir / "b", {"listops", "softmax", 128, 1, "completed", 0.34, 1000});
  write_report(dir / "c", {"listops", "favor", 128, 0, "completed", 0.20, 4000});
  write_report(dir / "d", {"listops", "favor", 128, 1, "failed"});
  write_report(dir / "e", {"image", "softmax", 128, 0, "completed", 0.60, 500});
  write_report(dir / "f", {"image", "favor", 128, 0, "interrupted"});
  std::vector<std::string> warnings;
  const auto runs = lra::collect_runs({dir.str()}, &warnings);
  ASSERT_EQ(runs.size(), 6u);
  EXPECT_TRUE(warnings.empty());
  const auto table = lra::aggregate_runs(runs);
  EXPECT_EQ(table.row_keys, std::vector<std::string>{"attention.type"});
  ASSERT_EQ(table.columns,
            (std::vector<std::string>{"listops [synthetic, L=64]", "image [synthetic, L=64]"}));
  const auto md = lra::accuracy_markdown(table);
  EXPECT_NE(md.find("| softmax | 32.00 ± 2.83 | 60.00 | 46.00 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| favor | 20.00 (1/2) | missing (0/1) | — |"), std::string::npos) << md;
  const auto eff = lra::efficiency_markdown(table);
  EXPECT_NE(
      eff.find("| favor | listops [synthetic, L=64] | 4000.0 | 4.00× | 100 (process_rss) | 1234 |"),
      std::string::npos)
      << eff;
  const auto missing = lra::missing_runs_markdown(runs);
  EXPECT_NE(missing.find("failed"), std::string::npos);
  EXPECT_NE(missing.find("interrupted"), std::string::npos);
  const auto csv = lra::summary_csv(table);
  EXPECT_NE(csv.find("\"image [synthetic, L=64]\",favor,favor,0,1,,,,"), std::string::npos) << csv;
}

TEST(ResultsTable, FeatureSweepPivot) {
  TempDir dir;
  int i = 0;
  for (int m : {16, 8})
    for (const char* type : {"favor", "schoenbat"})
      write_report(dir / std::to_string(i++), {"listops", type, m, 0, "completed", m / 100.0, 100});
  const auto table = lra::aggregate_runs(lra::collect_runs({dir.str()}, nullptr));
  EXPECT_EQ(table.row_keys, (std::vector<std::string>{"attention.type", "attention.features"}));
  const auto pivot = lra::feature_sweep_markdown(table);
  EXPECT_NE(pivot.find("| attention | m=8 | m=16 |"), std::string::npos) << pivot;
  EXPECT_NE(pivot.find("| schoenbat | 8.00 | 16.00 |"), std::string::npos) << pivot;
  EXPECT_EQ(table.rows,
            (std::vector<std::string>{"favor features=8", "favor features=16",
                                      "schoenbat features=8", "schoenbat features=16"}));
}

// A grid over features that includes the default names the default too, beside the others.
TEST(ResultsTable, AKeyThatVariesAmongABackendsRunsIsNamedAtItsDefault) {
  TempDir dir;
  int i = 0;
  for (int m : {64, 128})
    write_report(dir / std::to_string(i++), {"listops", "schoenbat", m, 0, "completed", 0.3, 100});
  write_report(dir / std::to_string(i++), {"listops", "softmax", 128, 0, "completed", 0.3, 100});
  const auto table = lra::aggregate_runs(lra::collect_runs({dir.str()}, nullptr));
  EXPECT_EQ(table.rows, (std::vector<std::string>{"schoenbat features=64", "schoenbat features=128",
                                                  "softmax"}));
}

TEST(ResultsTable, SweepManifestNamesRunsWithoutReports) {
  TempDir dir;
  const std::string config = dir / "base.yaml";
  write_text(config,
             "name: base\ntask: listops\ndata:\n  max_length: 64\n  synthetic:\n    min_length: "
             "8\n    max_length: 64\ntrain:\n  lr: 0.001\n  steps: 100\n  warmup: 10\n");
  write_text(dir / "sweep/sweep.json", R"({"format": "lra_sweep.manifest", "config": ")" + config +
                                           R"(", "overrides": [], "runs": [
               {"name": "base__type=favor__seed=0", "overrides": ["attention.type=favor", "seed=0"]},
               {"name": "base__type=softmax__seed=0", "overrides": ["attention.type=softmax", "seed=0"]}]})");
  write_report(dir / "sweep/base__type=softmax__seed=0",
               {"listops", "softmax", 128, 0, "completed", 0.4, 10});
  std::vector<std::string> warnings;
  const auto runs = lra::collect_runs({dir / "sweep"}, &warnings);
  ASSERT_EQ(runs.size(), 2u) << (warnings.empty() ? "" : warnings[0]);
  const auto table = lra::aggregate_runs(runs);
  const auto md = lra::accuracy_markdown(table);
  EXPECT_NE(md.find("| favor | missing (0/1) | — |"), std::string::npos) << md;
  EXPECT_NE(md.find("| softmax | 40.00 | 40.00 |"), std::string::npos) << md;
}

TEST(ResultsTable, BrokenReportsAreWarningsNamingTheFile) {
  TempDir dir;
  write_text(dir / "torn/report.json", "{\"format\": \"lra_train.re");
  write_report(dir / "ok", {});
  std::vector<std::string> warnings;
  EXPECT_EQ(lra::collect_runs({dir.str()}, &warnings).size(), 1u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("torn/report.json: not valid JSON"), std::string::npos);
  expect_error([&] { lra::collect_runs({dir / "nope"}, nullptr); }, {"nope: no such folder"});
}

// An accuracy outside [0, 1] (a hand-edited or damaged report) is left out with a warning
// instead of moving the mean.
TEST(ResultsTable, OutOfRangeNumbersAreLeftOutNamingTheField) {
  TempDir dir;
  write_report(dir / "a", {"listops", "softmax", 128, 0, "completed", 0.4});
  write_report(dir / "b", {"listops", "softmax", 128, 1, "completed", 40.0});  // a percentage
  write_report(dir / "c", {"listops", "softmax", 128, 2, "completed", 0.5, -3.0});
  std::vector<std::string> warnings;
  const auto runs = lra::collect_runs({dir.str()}, &warnings);
  ASSERT_EQ(runs.size(), 1u);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("b/report.json: test.accuracy is 40.0, expected a number in [0.0, "
                             "1.0]"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("c/report.json: train_throughput.samples_per_s is -3.0"),
            std::string::npos)
      << warnings[1];
  const auto md = lra::accuracy_markdown(lra::aggregate_runs(runs));
  EXPECT_NE(md.find("| softmax | 40.00 |"), std::string::npos) << md;
}

// A copied run folder is the same run, not a second seed: counted once, with a warning.
TEST(ResultsTable, ACopiedRunFolderIsCountedOnce) {
  TempDir dir;
  write_report(dir / "runs/a", {"listops", "softmax", 128, 0, "completed", 0.4});
  write_report(dir / "runs/b", {"listops", "softmax", 128, 1, "completed", 0.6});
  std::filesystem::copy(dir / "runs/a", dir / "runs/a_copy");
  std::filesystem::create_directories(dir / "runs/odd/report.json");  // a folder by that name
  std::vector<std::string> warnings;
  const auto runs = lra::collect_runs({dir / "runs"}, &warnings);
  ASSERT_EQ(runs.size(), 2u);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("a_copy/report.json: the same config and seed as"), std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("odd/report.json: not a regular file"), std::string::npos)
      << warnings[1];
  const auto table = lra::aggregate_runs(runs);
  const auto md = lra::accuracy_markdown(table);
  EXPECT_NE(md.find("| softmax | 50.00 ± 14.14 |"), std::string::npos) << md;
}

TEST(PublishedResults, ComparisonWithDifferences) {
  TempDir dir;
  write_text(dir / "pub.csv",
             "# comment\npaper,method,backend,task,accuracy,source\n"
             "p,Transformer,softmax,listops,36.37,\"Paper, Table 1\"\n");
  const auto published = lra::read_published_results(dir / "pub.csv");
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].source, "Paper, Table 1");
  write_report(dir / "runs/a", {"listops", "softmax", 128, 0, "completed", 0.40, 10});
  const auto table = lra::aggregate_runs(lra::collect_runs({dir / "runs"}, nullptr));
  const auto md = lra::paper_comparison_markdown(table, published, {}, "p");
  EXPECT_NE(md.find("| softmax (Transformer) | 40.00 / 36.37 (+3.63) † |"), std::string::npos)
      << md;
  EXPECT_NE(
      md.find("- listops [synthetic, L=64]: the paper's protocol for this task is not on file."),
      std::string::npos)
      << md;
  expect_error([&] { lra::paper_comparison_markdown(table, published, {}, "schoenbat"); },
               {"--paper schoenbat", "papers on file: p"});
  write_text(dir / "bad.csv",
             "paper,method,backend,task,accuracy,source\np,T,softmax,listops,high,s\n");
  expect_error([&] { lra::read_published_results(dir / "bad.csv"); },
               {"bad.csv:2", "'high' is not a number"});
}

// Time and memory relative to softmax: ours from throughput and peak memory, the paper's from
// its hours and GB, "not published" where it has none; columns found by their header names.
TEST(PublishedResults, TimeAndMemoryRelativeToSoftmax) {
  TempDir dir;
  write_text(dir / "pub.csv",
             "paper,task,method,backend,accuracy,train_hours,peak_memory_gb,accuracy_std,source\n"
             "p,listops,Transformer,softmax,36.00,2.0,4.0,0.5,T2\n"
             "p,listops,Performer,favor,35.00,0.5,,,T2\n"
             "q,listops,Performer,favor,35.00,0.5,1.0,,T3\n");
  const auto published = lra::read_published_results(dir / "pub.csv");
  ASSERT_EQ(published.size(), 3u);
  EXPECT_EQ(published[0].accuracy_std.value_or(-1), 0.5);
  EXPECT_FALSE(published[1].peak_memory_gb.has_value());
  Fixture softmax, favor;
  softmax.memory_mib = 200;
  favor.type = "favor";
  favor.samples_per_s = 4000;
  write_report(dir / "runs/s", softmax);
  write_report(dir / "runs/f", favor);
  const auto table = lra::aggregate_runs(lra::collect_runs({dir / "runs"}, nullptr));
  const auto md = lra::paper_cost_markdown(table, published, "p");
  EXPECT_NE(md.find("| favor (Performer) | 0.25× / 0.25× | 0.50× / not published |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| softmax (Transformer) | 1.00× / 1.00× | 1.00× / 1.00× |"), std::string::npos)
      << md;
  const auto no_softmax = lra::paper_cost_markdown(table, published, "q");
  EXPECT_NE(
      no_softmax.find("| favor (Performer) | 0.25× / not published | 0.50× / not published |"),
      std::string::npos)
      << no_softmax;
  EXPECT_NE(lra::paper_comparison_markdown(table, published, {}, "p").find("36.00 ± 0.50"),
            std::string::npos);
  write_text(
      dir / "bad.csv",
      "paper,method,backend,task,accuracy,train_hours,source\np,T,softmax,listops,1,long,s\n");
  expect_error([&] { lra::read_published_results(dir / "bad.csv"); },
               {"bad.csv:2", "train_hours 'long' is not a number"});
  write_text(dir / "nohead.csv", "paper,method,task,accuracy,source\n");
  expect_error([&] { lra::read_published_results(dir / "nohead.csv"); },
               {"nohead.csv:1", "lacks the column 'backend'"});
  write_text(dir / "twice.csv", "paper,method,backend,task,accuracy,task,source\n");
  expect_error([&] { lra::read_published_results(dir / "twice.csv"); },
               {"twice.csv:1", "names the column 'task' twice"});
}

// A published setup names a type and the settings it needs; a row missing a key has its default.
TEST(PublishedResults, SetupsMatchByTypeAndSettings) {
  const std::map<std::string, std::string> oprf{{"attention.type", "favor"},
                                                {"attention.component", "oprf"},
                                                {"attention.weight_sampler", "sorf"}};
  const std::map<std::string, std::string> plain{{"attention.type", "favor"}};
  EXPECT_EQ(lra::backend_match("favor", oprf), 0);
  EXPECT_EQ(lra::backend_match("favor component=oprf weight_sampler=sorf", oprf), 2);
  EXPECT_EQ(lra::backend_match("favor component=oprf weight_sampler=sorf", plain), -1);
  EXPECT_EQ(lra::backend_match("favor component=positive weight_sampler=orthogonal", plain), 2);
  EXPECT_EQ(lra::backend_match("softmax", oprf), -1);
}

// A cell is marked when its runs differ from the paper's protocol, with each difference listed
// under the table and carried into the CSV; a cell that matches is not marked.
TEST(PublishedResults, CellsOffThePapersProtocolAreMarkedWithTheDifferences) {
  TempDir dir;
  write_text(dir / "pub.csv",
             "paper,method,backend,task,accuracy,source\n"
             "p,Transformer,softmax,listops,36.37,T1\np,Transformer,softmax,text,60.00,T1\n");
  write_text(dir / "protocols.csv",
             "paper,task,data_source,padded_length,steps,batch_size,source\n"
             "p,listops,files,2048,50000,32,S\np,text,synthetic,64,100,32,S\n");
  const auto published = lra::read_published_results(dir / "pub.csv");
  const auto protocols = lra::read_paper_protocols(dir / "protocols.csv");
  ASSERT_EQ(protocols.size(), 2u);
  write_report(dir / "runs/a", {"listops", "softmax", 128, 0, "completed", 0.40, 10});
  write_report(dir / "runs/b", {"text", "softmax", 128, 0, "completed", 0.70, 10});
  const auto table = lra::aggregate_runs(lra::collect_runs({dir / "runs"}, nullptr));
  const auto md = lra::paper_comparison_markdown(table, published, protocols, "p");
  EXPECT_NE(md.find("| softmax (Transformer) | 40.00 / 36.37 (+3.63) † | 70.00 / 60.00 (+10.00) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("- listops [synthetic, L=64]: data synthetic (paper: files); padded length 64 "
                    "(paper: 2048); steps 100 (paper: 50000)."),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("- text"), std::string::npos) << md;
  const auto csv = lra::paper_comparison_csv(table, published, protocols, "p");
  EXPECT_NE(csv.find("p,\"softmax\",\"Transformer\",\"listops [synthetic, L=64]\",40.00,36.37,,"
                     "+3.63,\"data synthetic (paper: files); padded length 64 (paper: 2048); steps "
                     "100 (paper: 50000)\",\"T1\""),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("70.00,60.00,,+10.00,\"\",\"T1\""), std::string::npos) << csv;
  write_text(
      dir / "bad.csv",
      "paper,task,data_source,padded_length,steps,batch_size,source\np,listops,files,long,1,1,s\n");
  expect_error([&] { lra::read_paper_protocols(dir / "bad.csv"); },
               {"bad.csv:2", "padded_length 'long' is not a number"});
  write_text(dir / "twice.csv",
             "paper,task,data_source,padded_length,steps,batch_size,source\n"
             "p,listops,files,1,1,1,s\np,listops,files,2,1,1,s\n");
  expect_error([&] { lra::read_paper_protocols(dir / "twice.csv"); },
               {"twice.csv:3", "a second protocol for p on listops"});
}

TEST(PublishedResults, ShippedProtocolsCoverEveryPublishedTask) {
  const std::string dir = std::string(LRA_SOURCE_DIR) + "/experiments/";
  const auto protocols = lra::read_paper_protocols(dir + "paper_protocols.csv");
  for (const auto& r : lra::read_published_results(dir + "published_results.csv"))
    EXPECT_NE(lra::find_protocol(protocols, r.paper, r.task), nullptr)
        << r.paper << " " << r.task << ": no protocol in paper_protocols.csv";
}

TEST(PublishedResults, ShippedFileParses) {
  const auto published = lra::read_published_results(std::string(LRA_SOURCE_DIR) +
                                                     "/experiments/published_results.csv");
  EXPECT_GE(published.size(), 10u);
  int with_cost = 0;
  for (const auto& r : published) {
    EXPECT_GT(r.accuracy, 0.0);
    EXPECT_LE(r.accuracy, 100.0);
    EXPECT_FALSE(r.source.empty());
    with_cost += r.train_hours && r.peak_memory_gb ? 1 : 0;
  }
  // Skyformer's Table 2 and Spectraformer's leaderboard print time and memory for every row.
  EXPECT_EQ(with_cost, 170);
}

}  // namespace
