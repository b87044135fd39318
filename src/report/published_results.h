// Published LRA results (experiments/published_results.csv), to print beside ours: accuracy,
// and where the source prints them, training time and peak memory.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "report/paper_protocols.h"
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
  // Empty where the source does not publish the number.
  std::optional<double> accuracy_std;    // percent, over the source's seeds
  std::optional<double> train_hours;     // the whole training run
  std::optional<double> peak_memory_gb;  // of training
  std::string source;                    // where the numbers were read
};

// Reads the CSV ('#' lines are comments). The header names the columns, in any order: paper,
// method, backend, task, accuracy, source are required; accuracy_std, train_hours,
// peak_memory_gb are optional and may be left empty. Throws std::runtime_error naming the file
// and line for a malformed row.
std::vector<PublishedResult> read_published_results(const std::string& path);

// How many of the spec's settings `attention` (a row's attention.* values; keys it lacks take
// their defaults) meets, or -1 when its type or one setting differs.
int backend_match(const std::string& backend_spec,
                  const std::map<std::string, std::string>& attention);

// Ours next to the paper's for each setup the paper reports: "ours / paper (Δ)" per task. A row
// is set beside the published setup that matches it with the most settings. A cell whose runs
// differ from the paper's protocol (data source, padded length, steps, batch) is marked †, and
// the differences are listed under the table.
// Throws std::runtime_error when the file has no rows for `paper` (listing the papers it has).
std::string paper_comparison_markdown(const ResultTable& table,
                                      const std::vector<PublishedResult>& published,
                                      const std::vector<PaperProtocol>& protocols,
                                      const std::string& paper);

// The same comparison as CSV, one line per (row, task) the paper reports: our accuracy, the
// paper's, the difference, how the protocols differ ("; "-separated), the source.
std::string paper_comparison_csv(const ResultTable& table,
                                 const std::vector<PublishedResult>& published,
                                 const std::vector<PaperProtocol>& protocols,
                                 const std::string& paper);

// Training time and peak memory of each setup relative to softmax on the same task, ours (our
// softmax row's throughput and memory) beside the paper's (its softmax row's hours and GB):
// ratios hold across hardware where absolute hours do not. "not published" where the paper
// has no such number or no softmax row. Throws like paper_comparison_markdown.
std::string paper_cost_markdown(const ResultTable& table,
                                const std::vector<PublishedResult>& published,
                                const std::string& paper);

}  // namespace lra
