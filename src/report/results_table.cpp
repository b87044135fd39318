#include "report/results_table.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include "attention_spec/backend_spec.h"
#include "config/schema.h"
#include "config/tasks.h"
#include "report/paper_protocols.h"
#include "util/format.h"

namespace lra {
namespace {

bool is_row_key_candidate(const std::string& key) {
  static const std::set<std::string> kIgnored = {
      "name", "seed", "threads", "device", "task", "data.dir", "data.source", "data.max_length"};
  return !kIgnored.count(key) && key.rfind("output.", 0) != 0 &&
         key.rfind("data.synthetic.", 0) != 0;
}

// Columns in the papers' task order; a label is "<task> [<data>, L=<length>]".
int task_rank(const std::string& label) {
  const auto& tasks = task_names();
  for (size_t i = 0; i < tasks.size(); ++i)
    if (label.rfind(tasks[i] + " ", 0) == 0) return static_cast<int>(i);
  return static_cast<int>(tasks.size());
}

std::string leaf(const std::string& key) {
  return key.substr(key.rfind('.') + 1);
}

std::vector<std::string> find_row_keys(const std::vector<RunSummary>& runs) {
  std::map<std::string, std::map<std::string, std::set<std::string>>> values;  // task->key->vals
  for (const auto& run : runs)
    for (const auto& [key, value] : run.config)
      if (is_row_key_candidate(key)) values[run.task_label()][key].insert(value);
  std::set<std::string> varying;
  for (const auto& [task, keys] : values)
    for (const auto& [key, vals] : keys)
      if (vals.size() > 1) varying.insert(key);
  std::vector<std::string> keys = {"attention.type"};
  for (const auto& key : varying)
    if (key != "attention.type") keys.push_back(key);
  return keys;
}

// backend -> the keys whose value differs between runs of that backend.
using VaryingKeys = std::map<std::string, std::set<std::string>>;

VaryingKeys varying_within_backend(const std::vector<RunSummary>& runs) {
  std::map<std::string, std::map<std::string, std::set<std::string>>> values;
  for (const auto& run : runs)
    for (const auto& [key, value] : run.config)
      values[run.get("attention.type")][key].insert(value);
  VaryingKeys varying;
  for (const auto& [backend, keys] : values)
    for (const auto& [key, vals] : keys)
      if (vals.size() > 1) varying[backend].insert(key);
  return varying;
}

// Whether a row key belongs in the run's label: other keys always; attention keys when the run's
// backend reads them (softmax rows of a grid over favor's settings show no favor keys) and they
// differ from their default or between that backend's runs (favor at its defaults is "favor",
// OPRF-SORF names both settings, schoenbat at features 32, 64 and the default 128 names all three).
bool shown_for(const RunSummary& run, const std::string& key, const VaryingKeys& varying) {
  const std::string prefix = "attention.";
  if (key.rfind(prefix, 0) != 0) return true;
  const std::string type = run.get("attention.type");
  const auto& names = attention_backend_names();
  if (std::find(names.begin(), names.end(), type) == names.end()) return true;
  if (!attention_backend(type).reads_key(key.substr(prefix.size()))) return false;
  const auto it = varying.find(type);
  return run.get(key) != default_text(key) || (it != varying.end() && it->second.count(key));
}

std::string row_label(const RunSummary& run, const std::vector<std::string>& row_keys,
                      const VaryingKeys& varying) {
  std::string label = run.get(row_keys[0]);
  for (size_t i = 1; i < row_keys.size(); ++i)
    if (shown_for(run, row_keys[i], varying))
      label += " " + leaf(row_keys[i]) + "=" + run.get(row_keys[i]);
  // A backend that computed its exact form at this length is not a row of its approximation.
  if (!run.exact_computes.empty()) label += " (exact " + run.exact_computes + ")";
  return label;
}

std::string percent_cell(const ResultCell* cell) {
  if (!cell) return "";
  if (cell->accuracy.n == 0) return "missing (0/" + std::to_string(cell->expected) + ")";
  std::string text = fixed(100.0 * cell->accuracy.mean, 2);
  if (cell->accuracy.n > 1) text += " ± " + fixed(100.0 * cell->accuracy.std, 2);
  if (cell->accuracy.n < cell->expected)
    text += " (" + std::to_string(cell->accuracy.n) + "/" + std::to_string(cell->expected) + ")";
  return text;
}

std::string markdown_row(const std::vector<std::string>& cells) {
  std::string line = "|";
  for (const auto& c : cells) line += " " + c + " |";
  return line + "\n";
}

std::string markdown_header(const std::vector<std::string>& cells) {
  std::string line = markdown_row(cells) + "|";
  for (size_t i = 0; i < cells.size(); ++i) line += i == 0 ? "---|" : "---:|";
  return line + "\n";
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string optional_text(const std::optional<double>& v, int decimals) {
  return v ? fixed(*v, decimals) : "";
}

}  // namespace

const ResultCell* ResultTable::cell(const std::string& row, const std::string& column) const {
  const auto r = cells.find(row);
  if (r == cells.end()) return nullptr;
  const auto c = r->second.find(column);
  return c == r->second.end() ? nullptr : &c->second;
}

const ResultCell* softmax_baseline(const ResultTable& t, const std::string& row,
                                   const std::string& column) {
  const ResultCell* any = nullptr;
  for (const auto& other : t.rows) {
    if (t.row_backend.at(other) != "softmax") continue;
    const ResultCell* c = t.cell(other, column);
    if (!c || c->samples_per_s.n == 0) continue;
    bool same = true;
    for (const auto& [key, value] : t.row_values.at(other))
      if (key != "attention.type" && key.rfind("attention.", 0) != 0 &&
          t.row_values.at(row).at(key) != value)
        same = false;
    if (same) return c;
    if (!any) any = c;
  }
  return any;
}

std::optional<double> ResultTable::row_average(const std::string& row) const {
  double sum = 0.0;
  for (const auto& column : columns) {
    const ResultCell* c = cell(row, column);
    if (!c || c->accuracy.n == 0) return std::nullopt;
    sum += c->accuracy.mean;
  }
  return columns.empty() ? std::nullopt : std::optional<double>(sum / columns.size());
}

ResultTable aggregate_runs(const std::vector<RunSummary>& runs) {
  ResultTable t;
  t.row_keys = find_row_keys(runs);
  const VaryingKeys varying = varying_within_backend(runs);
  std::map<std::string, std::map<std::string, std::vector<const RunSummary*>>> groups;
  std::set<std::string> columns;
  for (const auto& run : runs) {
    const std::string row = row_label(run, t.row_keys, varying);
    if (!groups.count(row)) {
      t.rows.push_back(row);
      t.row_backend[row] = run.get("attention.type");
      for (const auto& key : t.row_keys) t.row_values[row][key] = run.get(key);
      for (const auto& [key, value] : run.config)
        if (key.rfind("attention.", 0) == 0) t.row_attention[row][key] = value;
    }
    groups[row][run.task_label()].push_back(&run);
    columns.insert(run.task_label());
  }
  t.columns.assign(columns.begin(), columns.end());
  std::stable_sort(t.columns.begin(), t.columns.end(),
                   [](const auto& a, const auto& b) { return task_rank(a) < task_rank(b); });
  // Rows in key order, numbers by value: m=16 before m=256.
  std::sort(t.rows.begin(), t.rows.end(), [&](const std::string& a, const std::string& b) {
    for (const auto& key : t.row_keys) {
      const std::string& x = t.row_values.at(a).at(key);
      const std::string& y = t.row_values.at(b).at(key);
      if (x == y) continue;
      char* end_x = nullptr;
      char* end_y = nullptr;
      const double nx = std::strtod(x.c_str(), &end_x);
      const double ny = std::strtod(y.c_str(), &end_y);
      if (!x.empty() && !y.empty() && *end_x == '\0' && *end_y == '\0') return nx < ny;
      return x < y;
    }
    return a < b;
  });
  for (const auto& [row, by_task] : groups) {
    for (const auto& [task, members] : by_task) {
      ResultCell& cell = t.cells[row][task];
      std::vector<double> accuracy, speed, memory;
      for (const RunSummary* run : members) {
        ++cell.expected;
        if (!run->completed()) continue;
        for (const auto& key : protocol_keys())
          if (!run->get(key).empty()) cell.settings[key].insert(run->get(key));
        accuracy.push_back(*run->test_accuracy);
        if (run->samples_per_s) speed.push_back(*run->samples_per_s);
        if (run->peak_memory_mib) memory.push_back(*run->peak_memory_mib);
        if (run->parameters) cell.parameters = run->parameters;
        cell.memory_kind = run->memory_kind;
      }
      cell.accuracy = mean_std(accuracy);
      cell.samples_per_s = mean_std(speed);
      cell.peak_memory_mib = mean_std(memory);
    }
  }
  return t;
}

std::string accuracy_markdown(const ResultTable& t) {
  std::vector<std::string> header = {"attention"};
  header.insert(header.end(), t.columns.begin(), t.columns.end());
  header.push_back("Avg");
  std::string out = markdown_header(header);
  for (const auto& row : t.rows) {
    std::vector<std::string> cells = {row};
    for (const auto& column : t.columns) cells.push_back(percent_cell(t.cell(row, column)));
    const auto average = t.row_average(row);
    cells.push_back(average ? fixed(100.0 * *average, 2) : "—");
    out += markdown_row(cells);
  }
  return out;
}

std::string efficiency_markdown(const ResultTable& t) {
  std::string out = markdown_header({"attention", "task", "train samples/s", "speed-up vs softmax",
                                     "peak memory MiB", "parameters"});
  for (const auto& row : t.rows) {
    for (const auto& column : t.columns) {
      const ResultCell* c = t.cell(row, column);
      if (!c || c->samples_per_s.n == 0) continue;
      const ResultCell* base = softmax_baseline(t, row, column);
      const std::string speedup =
          base ? fixed(c->samples_per_s.mean / base->samples_per_s.mean, 2) + "×" : "—";
      const std::string memory =
          c->peak_memory_mib.n ? fixed(c->peak_memory_mib.mean, 0) + " (" + c->memory_kind + ")"
                               : "—";
      out += markdown_row({row, column, fixed(c->samples_per_s.mean, 1), speedup, memory,
                           c->parameters ? std::to_string(*c->parameters) : "—"});
    }
  }
  return out;
}

std::string feature_sweep_markdown(const ResultTable& t) {
  const auto key = std::find(t.row_keys.begin(), t.row_keys.end(), "attention.features");
  if (key == t.row_keys.end()) return "";
  // Rows without the features key, columns are the feature counts (numeric order).
  std::set<int64_t> features;
  std::vector<std::string> labels;
  std::map<std::string, std::map<int64_t, std::string>> by_label;
  for (const auto& row : t.rows) {
    const auto& values = t.row_values.at(row);
    const int64_t m = std::stoll(values.at("attention.features"));
    std::string label = values.at("attention.type");
    for (const auto& k : t.row_keys)
      if (k != "attention.type" && k != "attention.features")
        label += " " + leaf(k) + "=" + values.at(k);
    if (!by_label.count(label)) labels.push_back(label);
    by_label[label][m] = row;
    features.insert(m);
  }
  std::string out;
  for (const auto& column : t.columns) {
    out += "\n" + column + ": test accuracy (%) against the number of random features m\n\n";
    std::vector<std::string> header = {"attention"};
    for (int64_t m : features) header.push_back("m=" + std::to_string(m));
    out += markdown_header(header);
    for (const auto& label : labels) {
      std::vector<std::string> cells = {label};
      for (int64_t m : features) {
        const auto it = by_label[label].find(m);
        cells.push_back(it == by_label[label].end() ? ""
                                                    : percent_cell(t.cell(it->second, column)));
      }
      out += markdown_row(cells);
    }
  }
  return out;
}

std::string missing_runs_markdown(const std::vector<RunSummary>& runs) {
  std::string out;
  for (const auto& run : runs)
    if (!run.completed()) out += "- " + run.name + ": " + run.status + " (" + run.dir + ")\n";
  return out;
}

std::string summary_csv(const ResultTable& t) {
  std::ostringstream s;
  s << "task,attention";
  for (const auto& key : t.row_keys) s << "," << key;
  s << ",completed,expected,accuracy_mean,accuracy_std,samples_per_s,speedup_vs_softmax,"
       "peak_memory_mib,memory_kind,parameters\n";
  for (const auto& row : t.rows) {
    for (const auto& column : t.columns) {
      const ResultCell* c = t.cell(row, column);
      if (!c) continue;
      s << csv_field(column) << "," << csv_field(row);
      for (const auto& key : t.row_keys) s << "," << csv_field(t.row_values.at(row).at(key));
      const ResultCell* base = softmax_baseline(t, row, column);
      const bool has_speed = c->samples_per_s.n > 0;
      s << "," << c->accuracy.n << "," << c->expected << ","
        << (c->accuracy.n ? fixed(c->accuracy.mean, 6) : "") << ","
        << (c->accuracy.n > 1 ? fixed(c->accuracy.std, 6) : "") << ","
        << (has_speed ? fixed(c->samples_per_s.mean, 3) : "") << ","
        << (has_speed && base ? fixed(c->samples_per_s.mean / base->samples_per_s.mean, 4) : "")
        << "," << (c->peak_memory_mib.n ? fixed(c->peak_memory_mib.mean, 1) : "") << ","
        << c->memory_kind << "," << (c->parameters ? std::to_string(*c->parameters) : "") << "\n";
    }
  }
  return s.str();
}

std::string runs_csv(const std::vector<RunSummary>& runs) {
  std::ostringstream s;
  s << "dir,name,status,task,attention,features,kernel,seed,test_accuracy,best_val_accuracy,"
       "samples_per_s,ms_per_step,peak_memory_mib,memory_kind,parameters,max_length,steps,"
       "wall_time_s,device\n";
  for (const auto& r : runs) {
    s << csv_field(r.dir) << "," << csv_field(r.name) << "," << r.status << ","
      << csv_field(r.task_label()) << "," << r.get("attention.type") << ","
      << r.get("attention.features") << "," << r.get("attention.kernel") << "," << r.get("seed")
      << "," << optional_text(r.test_accuracy, 6) << "," << optional_text(r.best_val_accuracy, 6)
      << "," << optional_text(r.samples_per_s, 3) << "," << optional_text(r.ms_per_step, 3) << ","
      << optional_text(r.peak_memory_mib, 1) << "," << r.memory_kind << ","
      << (r.parameters ? std::to_string(*r.parameters) : "") << "," << r.get("data.max_length")
      << "," << r.get("train.steps") << "," << optional_text(r.wall_time_s, 1) << "," << r.device
      << "\n";
  }
  return s.str();
}

}  // namespace lra
