// Published LRA accuracies (experiments/published_results.csv), to print beside ours.
#pragma once
#include <string>
#include <vector>

#include "report/results_table.h"

namespace lra {

struct PublishedResult {
  std::string paper;    // key used with --paper, e.g. "lra", "skyformer"
  std::string method;   // as printed in the source
  std::string backend;  // our attention.type it corresponds to
  std::string task;     // listops | text | retrieval | image | pathfinder | pathx
  double accuracy = 0;  // percent, as printed
  std::string source;   // where the number was read
};

// Reads the CSV (header paper,method,backend,task,accuracy,source; '#' lines are comments).
// Throws std::runtime_error naming the file and line for a malformed row.
std::vector<PublishedResult> read_published_results(const std::string& path);

// Ours next to the paper's for each backend the paper reports: "ours / paper (Δ)" per task.
// Throws std::runtime_error when the file has no rows for `paper` (listing the papers it has).
std::string paper_comparison_markdown(const ResultTable& table,
                                      const std::vector<PublishedResult>& published,
                                      const std::string& paper);

}  // namespace lra
