#include "report/run_summary.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "config/schema.h"
#include "util/format.h"

namespace lra {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string scalar_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

void flatten(const json& node, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (!node.is_object()) {
    out[prefix] = scalar_text(node);
    return;
  }
  for (const auto& [key, value] : node.items())
    flatten(value, prefix.empty() ? key : prefix + "." + key, out);
}

std::optional<double> number_at(const json& report, const char* object, const char* field) {
  if (!report.contains(object) || !report[object].is_object()) return std::nullopt;
  const auto& o = report[object];
  if (!o.contains(field) || !o[field].is_number()) return std::nullopt;
  return o[field].get<double>();
}

// A fraction outside [0, 1] or a negative rate is a damaged or hand-edited report: averaging it
// would move a table cell without a word.
void check_range(const std::optional<double>& value, const std::string& path,
                 const std::string& field, double lo, double hi) {
  if (!value || (*value >= lo && *value <= hi)) return;
  const std::string range = hi == std::numeric_limits<double>::infinity()
                                ? ">= " + format_double(lo)
                                : "in [" + format_double(lo) + ", " + format_double(hi) + "]";
  throw std::runtime_error(path + ": " + field + " is " + format_double(*value) +
                           ", expected a number " + range +
                           "; the report is damaged or edited, so it is left out");
}

// A report or manifest is a few KiB: anything else under that name is not one.
constexpr std::uintmax_t kMaxJsonBytes = 64u << 20;

json read_json_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw std::runtime_error(path + ": not a regular file, so not a report or manifest");
  if (const auto size = fs::file_size(path, ec); !ec && size > kMaxJsonBytes)
    throw std::runtime_error(path + ": " + std::to_string(size) +
                             " bytes, more than any report or manifest; left out");
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  json parsed = json::parse(in, nullptr, false);
  if (parsed.is_discarded()) throw std::runtime_error(path + ": not valid JSON (torn write?)");
  return parsed;
}

// A manifest run without a report: its config comes from the sweep's base config + overrides.
RunSummary missing_run(const json& manifest, const json& run, const std::string& sweep_dir) {
  RunSummary summary;
  summary.name = run.value("name", "");
  summary.dir = sweep_dir + "/" + summary.name;
  summary.status = "missing";
  std::vector<std::string> overrides = manifest.value("overrides", std::vector<std::string>{});
  for (const auto& o : run.value("overrides", std::vector<std::string>{})) overrides.push_back(o);
  overrides.push_back("name=" + summary.name);
  const Config config = load_config(manifest.value("config", ""), overrides);
  flatten(json::parse(to_json_text(config)), "", summary.config);
  return summary;
}

void add_manifest_runs(const std::string& manifest_path, std::set<std::string>& seen_dirs,
                       std::vector<RunSummary>& runs, std::vector<std::string>* warnings) {
  const json manifest = read_json_file(manifest_path);
  const std::string sweep_dir = fs::path(manifest_path).parent_path().string();
  for (const auto& run : manifest.value("runs", json::array())) {
    const std::string dir = fs::weakly_canonical(sweep_dir + "/" + run.value("name", "")).string();
    if (seen_dirs.count(dir)) continue;
    try {
      runs.push_back(missing_run(manifest, run, sweep_dir));
      seen_dirs.insert(dir);
    } catch (const std::exception& e) {
      if (warnings)
        warnings->push_back(manifest_path + ": run " + run.value("name", "?") +
                            " has no report and its config cannot be rebuilt: " + e.what());
    }
  }
}

// What makes two reports one run: every config key but where it was written and with how many
// threads (those do not change what a CPU run computes, beyond the last bits), and its status.
std::string run_identity(const RunSummary& run) {
  std::string id = run.status;
  for (const auto& [key, value] : run.config)
    if (key != "name" && key != "threads" && key.rfind("output.", 0) != 0)
      id += "\n" + key + "=" + value;
  return id;
}

}  // namespace

std::string RunSummary::get(const std::string& key) const {
  const auto it = config.find(key);
  return it == config.end() ? "" : it->second;
}

std::string RunSummary::task_label() const {
  std::string data = get("data.source") == "synthetic"
                         ? "synthetic"
                         : fs::path(get("data.dir")).filename().string();
  return get("task") + " [" + data + ", L=" + get("data.max_length") + "]";
}

RunSummary read_run_summary(const std::string& report_path) {
  const json report = read_json_file(report_path);
  if (report.value("format", "") != "lra_train.report" || !report.contains("config"))
    throw std::runtime_error(report_path + ": not an lra_train report (no format/config)");
  RunSummary s;
  s.dir = fs::path(report_path).parent_path().string();
  s.name = report.value("name", "");
  s.status = report.value("status", "failed");
  flatten(report["config"], "", s.config);
  s.test_accuracy = number_at(report, "test", "accuracy");
  s.best_val_accuracy = number_at(report, "best", "val_accuracy");
  s.samples_per_s = number_at(report, "train_throughput", "samples_per_s");
  s.ms_per_step = number_at(report, "train_throughput", "ms_per_step_median");
  s.peak_memory_mib = number_at(report, "peak_memory", "mib");
  if (report.contains("peak_memory") && report["peak_memory"].is_object())
    s.memory_kind = report["peak_memory"].value("kind", "");
  if (report.contains("parameters") && report["parameters"].is_number_integer())
    s.parameters = report["parameters"].get<int64_t>();
  if (report.contains("attention_exact") && report["attention_exact"].is_object())
    s.exact_computes = report["attention_exact"].value("computes", "");
  if (report.contains("wall_time_s") && report["wall_time_s"].is_number())
    s.wall_time_s = report["wall_time_s"].get<double>();
  if (report.contains("environment") && report["environment"].is_object())
    s.device = report["environment"].value("device", "");
  const double inf = std::numeric_limits<double>::infinity();
  check_range(s.test_accuracy, report_path, "test.accuracy", 0.0, 1.0);
  check_range(s.best_val_accuracy, report_path, "best.val_accuracy", -1.0, 1.0);  // -1: none
  check_range(s.samples_per_s, report_path, "train_throughput.samples_per_s", 0.0, inf);
  check_range(s.ms_per_step, report_path, "train_throughput.ms_per_step_median", 0.0, inf);
  check_range(s.peak_memory_mib, report_path, "peak_memory.mib", 0.0, inf);
  check_range(s.wall_time_s, report_path, "wall_time_s", 0.0, inf);
  return s;
}

std::vector<RunSummary> collect_runs(const std::vector<std::string>& roots,
                                     std::vector<std::string>* warnings) {
  std::vector<std::string> reports, manifests;
  for (const auto& root : roots) {
    if (!fs::exists(root)) throw std::runtime_error(root + ": no such folder");
    if (fs::is_regular_file(root)) {
      reports.push_back(root);
      continue;
    }
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      const std::string file = entry.path().filename().string();
      if (file == "report.json") reports.push_back(entry.path().string());
      if (file == "sweep.json") manifests.push_back(entry.path().string());
    }
  }
  std::sort(reports.begin(), reports.end());
  std::sort(manifests.begin(), manifests.end());
  std::vector<RunSummary> runs;
  std::set<std::string> seen_dirs;
  std::map<std::string, std::string> first_with;  // run identity -> folder of its first report
  for (const auto& path : reports) {
    try {
      RunSummary run = read_run_summary(path);
      const std::string dir = fs::weakly_canonical(run.dir).string();
      seen_dirs.insert(dir);
      const auto [it, fresh] = first_with.emplace(run_identity(run), run.dir);
      if (!fresh) {
        if (warnings)
          warnings->push_back(path + ": the same config and seed as " + it->second +
                              " (a copied folder or a rerun): counted once; a further seed "
                              "needs another seed value");
        continue;
      }
      runs.push_back(std::move(run));
    } catch (const std::exception& e) {
      if (warnings) warnings->push_back(e.what());
    }
  }
  for (const auto& path : manifests) add_manifest_runs(path, seen_dirs, runs, warnings);
  return runs;
}

}  // namespace lra
