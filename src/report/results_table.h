// Runs grouped into the papers' table: one row per attention setup, one column per task, mean
// and standard deviation over seeds, with runs that did not complete shown as missing.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "report/run_summary.h"
#include "util/stats.h"

namespace lra {

using Stats = MeanStd;

struct ResultCell {
  int expected = 0;  // runs in this group, completed or not
  Stats accuracy;    // test accuracy of the completed ones
  Stats samples_per_s;
  Stats peak_memory_mib;
  std::string memory_kind;
  std::optional<int64_t> parameters;
  // The values its runs had for each key of protocol_keys() (paper_protocols.h), for the
  // comparison with a paper's protocol.
  std::map<std::string, std::set<std::string>> settings;
};

struct ResultTable {
  std::vector<std::string> row_keys;  // config keys that tell rows apart; attention.type first
  std::vector<std::string> rows;      // row labels, e.g. "favor features=64"
  std::vector<std::string> columns;   // task labels, LRA order
  std::map<std::string, std::map<std::string, ResultCell>> cells;  // [row][column]
  std::map<std::string, std::string> row_backend;                  // row label -> attention.type
  std::map<std::string, std::map<std::string, std::string>> row_values;  // row -> key -> value
  // row -> every attention.* setting of its first run ("attention.component" -> "oprf").
  std::map<std::string, std::map<std::string, std::string>> row_attention;

  const ResultCell* cell(const std::string& row, const std::string& column) const;
  // Mean over columns of the per-task means; empty when a column has no completed run.
  std::optional<double> row_average(const std::string& row) const;
};

// Row keys are the config keys (other than seed, name, paths, threads, device and the data
// source) whose values differ between runs of the same task.
ResultTable aggregate_runs(const std::vector<RunSummary>& runs);

// The cell that speed-ups of (row, column) are quoted against: the softmax row with the same
// non-attention settings, else any softmax row with a throughput in that column; null if none.
const ResultCell* softmax_baseline(const ResultTable& table, const std::string& row,
                                   const std::string& column);

std::string accuracy_markdown(const ResultTable& table);
std::string efficiency_markdown(const ResultTable& table);
// Accuracy against attention.features, one table per task; empty when features do not vary.
std::string feature_sweep_markdown(const ResultTable& table);
std::string missing_runs_markdown(const std::vector<RunSummary>& runs);

std::string summary_csv(const ResultTable& table);
std::string runs_csv(const std::vector<RunSummary>& runs);

}  // namespace lra
