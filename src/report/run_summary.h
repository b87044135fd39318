// What lra_report needs from one run: its config (flattened to "key.path" -> text) and what it
// measured, read from report.json; or, for a sweep run that never wrote a report, just its
// config, so that the run can be shown as missing in its place.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lra {

struct RunSummary {
  std::string dir;
  std::string name;
  std::string status;  // completed | interrupted | failed | missing (no report at all)
  std::map<std::string, std::string> config;  // flattened: "attention.type" -> "favor"
  std::optional<double> test_accuracy;
  std::optional<double> best_val_accuracy;
  std::optional<double> samples_per_s;
  std::optional<double> ms_per_step;
  std::optional<double> peak_memory_mib;
  std::string memory_kind;  // process_rss | cuda_allocator ...
  std::optional<int64_t> parameters;
  std::optional<double> wall_time_s;
  std::string device;
  // The exact attention the run computed instead of its approximation ("" when it approximated):
  // report.json's attention_exact.computes.
  std::string exact_computes;

  bool completed() const { return status == "completed" && test_accuracy.has_value(); }
  std::string get(const std::string& key) const;  // "" when absent
  std::string task_label() const;                 // "listops [synthetic, L=128]"
};

// Reads one report.json. Throws std::runtime_error naming the file when it is not a report.
RunSummary read_run_summary(const std::string& report_path);

// Every report.json under the given folders (recursively), plus the runs that sweep manifests
// (sweep.json) list but that have no report yet, as status "missing". Sorted by folder.
std::vector<RunSummary> collect_runs(const std::vector<std::string>& roots,
                                     std::vector<std::string>* warnings);

}  // namespace lra
