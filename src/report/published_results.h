// Published LRA accuracies (experiments/published_results.csv), to print beside ours.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "report/results_table.h"

namespace lra {

struct PublishedResult {
  std::string paper;   // key used with --paper, e.g. "lra", "skyformer"
  std::string method;  // as printed in the source
  // Our setup it corresponds to: attention.type, then any attention.* keys it needs, e.g.
  // "favor component=oprf weight_sampler=sorf".
  std::string backend;
  std::string task;     // listops | text | retrieval | image | pathfinder | pathx
  double accuracy = 0;  // percent, as printed
  std::string source;   // where the number was read
};

// Reads the CSV (header paper,method,backend,task,accuracy,source; '#' lines are comments).
// Throws std::runtime_error naming the file and line for a malformed row.
std::vector<PublishedResult> read_published_results(const std::string& path);

// How many of the spec's settings `attention` (a row's attention.* values; keys it lacks take
// their defaults) meets, or -1 when its type or one setting differs.
int backend_match(const std::string& backend_spec,
                  const std::map<std::string, std::string>& attention);

// Ours next to the paper's for each setup the paper reports: "ours / paper (Δ)" per task. A row
// is set beside the published setup that matches it with the most settings.
// Throws std::runtime_error when the file has no rows for `paper` (listing the papers it has).
std::string paper_comparison_markdown(const ResultTable& table,
                                      const std::vector<PublishedResult>& published,
                                      const std::string& paper);

}  // namespace lra
