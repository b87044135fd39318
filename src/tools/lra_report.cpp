// lra_report: reads run folders (report.json, sweep.json) and prints the papers' tables:
// accuracy per task and attention backend over seeds, throughput and memory, accuracy against
// the number of random features, and published numbers beside ours.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "report/published_results.h"
#include "report/results_table.h"
#include "report/run_summary.h"
#include "util/atomic_file.h"

namespace fs = std::filesystem;

namespace {

// The CSV in the source tree: next to the build folder that holds this executable.
std::string default_published_path() {
  if (fs::exists("experiments/published_results.csv")) return "experiments/published_results.csv";
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? "experiments/published_results.csv"
               : (self.parent_path().parent_path() / "experiments/published_results.csv").string();
}

// The papers' protocols sit beside their published numbers.
std::string protocols_path(const std::string& published_path) {
  return (fs::path(published_path).parent_path() / "paper_protocols.csv").string();
}

std::string report_markdown(const std::vector<lra::RunSummary>& runs, const lra::ResultTable& table,
                            const std::string& title, const std::vector<std::string>& papers,
                            const std::vector<lra::PublishedResult>& published,
                            const std::vector<lra::PaperProtocol>& protocols) {
  int completed = 0;
  for (const auto& r : runs) completed += r.completed() ? 1 : 0;
  std::string out = "# " + title + "\n\n" + std::to_string(completed) + " of " +
                    std::to_string(runs.size()) + " runs completed.\n\n" +
                    "## Test accuracy (%), mean ± std over seeds\n\n" +
                    lra::accuracy_markdown(table) + "\n## Training throughput and peak memory\n\n" +
                    lra::efficiency_markdown(table);
  const std::string sweep = lra::feature_sweep_markdown(table);
  if (!sweep.empty()) out += "\n## Accuracy against the number of random features\n" + sweep;
  for (const auto& paper : papers)
    out += "\n## Published numbers beside ours: " + paper + "\n\n" +
           lra::paper_comparison_markdown(table, published, protocols, paper) +
           "\n### Training time and peak memory relative to softmax: " + paper + "\n\n" +
           lra::paper_cost_markdown(table, published, paper);
  const std::string missing = lra::missing_runs_markdown(runs);
  if (!missing.empty()) out += "\n## Runs not completed\n\n" + missing;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lra_report: tables of accuracy, speed and memory from run folders"};
  std::vector<std::string> roots;
  std::vector<std::string> papers;
  std::string md_path, csv_dir, published_path, title = "LRA results";
  app.add_option("folders", roots, "Run or sweep folders (searched recursively)")->required();
  app.add_option("--md", md_path, "Also write the Markdown report here");
  app.add_option(
      "--csv-dir", csv_dir,
      "Write summary.csv and runs.csv here (for plots), and paper_<name>.csv per --paper");
  app.add_option(
      "--paper", papers,
      "Put a paper's published numbers beside ours: lra, skyformer, spectraformer (repeatable)");
  app.add_option("--published", published_path,
                 "Published-results CSV (default experiments/published_results.csv); the papers' "
                 "protocols are read from paper_protocols.csv beside it");
  app.add_option("--title", title, "Title of the Markdown report");
  CLI11_PARSE(app, argc, argv);
  try {
    std::vector<std::string> warnings;
    const auto runs = lra::collect_runs(roots, &warnings);
    for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
    if (runs.empty())
      throw std::runtime_error("no report.json or sweep.json found under the given folders");
    const auto table = lra::aggregate_runs(runs);
    if (published_path.empty()) published_path = default_published_path();
    std::vector<lra::PublishedResult> published;
    std::vector<lra::PaperProtocol> protocols;
    if (!papers.empty()) {
      published = lra::read_published_results(published_path);
      protocols = lra::read_paper_protocols(protocols_path(published_path));
    }
    const std::string markdown = report_markdown(runs, table, title, papers, published, protocols);
    std::cout << markdown;
    if (!md_path.empty()) lra::write_file_atomic(md_path, markdown);
    if (!csv_dir.empty()) {
      fs::create_directories(csv_dir);
      lra::write_file_atomic(csv_dir + "/summary.csv", lra::summary_csv(table));
      lra::write_file_atomic(csv_dir + "/runs.csv", lra::runs_csv(runs));
      for (const auto& paper : papers)
        lra::write_file_atomic(csv_dir + "/paper_" + paper + ".csv",
                               lra::paper_comparison_csv(table, published, protocols, paper));
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
