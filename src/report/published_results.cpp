#include "report/published_results.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "config/schema.h"
#include "util/format.h"

namespace lra {
namespace {

// Splits one CSV line; fields may be double-quoted with "" as an embedded quote.
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

std::string task_of(const std::string& column_label) {
  return column_label.substr(0, column_label.find(' '));
}

}  // namespace

int backend_match(const std::string& backend_spec,
                  const std::map<std::string, std::string>& attention) {
  std::istringstream words(backend_spec);
  std::string type, setting;
  words >> type;
  const auto value_of = [&](const std::string& path) {
    const auto it = attention.find(path);
    return it == attention.end() ? default_text(path) : it->second;
  };
  if (value_of("attention.type") != type) return -1;
  int matched = 0;
  while (words >> setting) {
    const auto eq = setting.find('=');
    if (eq == std::string::npos) return -1;
    if (value_of("attention." + setting.substr(0, eq)) != setting.substr(eq + 1)) return -1;
    ++matched;
  }
  return matched;
}

std::vector<PublishedResult> read_published_results(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open the published-results file");
  std::vector<PublishedResult> results;
  std::map<std::string, size_t> column;  // header name -> field index
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    const auto f = split_csv(line);
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (column.empty()) {
      // A repeated name would leave one of its columns unread and the field count short.
      for (size_t i = 0; i < f.size(); ++i)
        if (!column.emplace(f[i], i).second)
          throw std::runtime_error(where + "the header names the column '" + f[i] + "' twice");
      for (const char* name : {"paper", "method", "backend", "task", "accuracy", "source"})
        if (!column.count(name))
          throw std::runtime_error(where + "the header lacks the column '" + name +
                                   "' (needs paper,method,backend,task,accuracy,source)");
      continue;
    }
    if (f.size() != column.size())
      throw std::runtime_error(where + "expected " + std::to_string(column.size()) +
                               " fields as in the header, found " + std::to_string(f.size()));
    const auto text = [&](const char* name) { return f[column.at(name)]; };
    const auto number_in = [&](const char* name) -> std::optional<double> {
      const auto it = column.find(name);
      if (it == column.end() || f[it->second].empty()) return std::nullopt;
      try {
        size_t used = 0;
        const double value = std::stod(f[it->second], &used);
        if (used == f[it->second].size()) return value;
      } catch (const std::exception&) {
      }
      throw std::runtime_error(where + name + " '" + f[it->second] + "' is not a number");
    };
    PublishedResult r;
    r.paper = text("paper");
    r.method = text("method");
    r.backend = text("backend");
    r.task = text("task");
    const auto accuracy = number_in("accuracy");
    if (!accuracy) throw std::runtime_error(where + "accuracy is empty");
    r.accuracy = *accuracy;
    r.accuracy_std = number_in("accuracy_std");
    r.train_hours = number_in("train_hours");
    r.peak_memory_gb = number_in("peak_memory_gb");
    r.source = text("source");
    results.push_back(r);
  }
  return results;
}

namespace {

using PaperSetups = std::map<std::string, std::map<std::string, PublishedResult>>;  // setup->task

PaperSetups paper_setups(const std::vector<PublishedResult>& published, const std::string& paper) {
  PaperSetups theirs;
  std::set<std::string> papers;
  for (const auto& r : published) {
    papers.insert(r.paper);
    if (r.paper == paper) theirs[r.backend][r.task] = r;
  }
  if (theirs.empty()) {
    std::string known;
    for (const auto& p : papers) known += (known.empty() ? "" : ", ") + p;
    throw std::runtime_error("--paper " + paper +
                             ": no published numbers on file for it (papers on file: " + known +
                             "); add its rows to the published-results CSV");
  }
  return theirs;
}

// The published setup a row is set beside: the one it matches with the most settings.
PaperSetups::const_iterator matching_setup(const ResultTable& table, const std::string& row,
                                           const PaperSetups& theirs) {
  auto attention = table.row_attention.count(row) ? table.row_attention.at(row)
                                                  : std::map<std::string, std::string>{};
  attention.emplace("attention.type", table.row_backend.at(row));
  auto setup = theirs.end();
  int best = -1;
  for (auto it = theirs.begin(); it != theirs.end(); ++it) {
    const int score = backend_match(it->first, attention);
    if (score > best) best = score, setup = it;
  }
  return setup;
}

std::string ratio_text(std::optional<double> ratio) {
  return ratio ? fixed(*ratio, 2) + "×" : "—";
}

// The paper's number for a setup on a task relative to its softmax row's: "not published" when
// either is missing.
std::string published_ratio(const PaperSetups& theirs, const PaperSetups::const_iterator& setup,
                            const std::string& task,
                            std::optional<double> PublishedResult::*number) {
  const auto softmax = theirs.find("softmax");
  if (softmax == theirs.end()) return "not published";
  const auto base = softmax->second.find(task);
  const auto mine = setup->second.find(task);
  if (base == softmax->second.end() || mine == setup->second.end() || !(base->second.*number) ||
      !(mine->second.*number) || *(base->second.*number) <= 0)
    return "not published";
  return fixed(*(mine->second.*number) / *(base->second.*number), 2) + "×";
}

}  // namespace

std::string paper_comparison_markdown(const ResultTable& table,
                                      const std::vector<PublishedResult>& published,
                                      const std::string& paper) {
  const PaperSetups theirs = paper_setups(published, paper);
  std::string out = "| attention |";
  std::string rule = "|---|";
  for (const auto& column : table.columns) {
    out += " " + column + " ours / paper (Δ) |";
    rule += "---:|";
  }
  out += "\n" + rule + "\n";
  std::set<std::string> sources;
  for (const auto& row : table.rows) {
    const auto setup = matching_setup(table, row, theirs);
    if (setup == theirs.end()) continue;
    out += "| " + row + " (" + setup->second.begin()->second.method + ") |";
    for (const auto& column : table.columns) {
      const auto it = setup->second.find(task_of(column));
      const ResultCell* cell = table.cell(row, column);
      const bool have_ours = cell && cell->accuracy.n > 0;
      // "missing": runs of this task did not complete; "—": this row has no runs of the task.
      std::string text = have_ours ? fixed(100.0 * cell->accuracy.mean, 2)
                                   : (cell && cell->expected > 0 ? "missing" : "—");
      if (it == setup->second.end()) {
        text += " / —";
      } else {
        text += " / " + fixed(it->second.accuracy, 2);
        if (it->second.accuracy_std) text += " ± " + fixed(*it->second.accuracy_std, 2);
        if (have_ours) {
          const double delta = 100.0 * cell->accuracy.mean - it->second.accuracy;
          text += " (" + std::string(delta >= 0 ? "+" : "") + fixed(delta, 2) + ")";
        }
        sources.insert(it->second.source);
      }
      out += " " + text + " |";
    }
    out += "\n";
  }
  for (const auto& s : sources) out += "\nSource: " + s + "\n";
  return out;
}

std::string paper_cost_markdown(const ResultTable& table,
                                const std::vector<PublishedResult>& published,
                                const std::string& paper) {
  const PaperSetups theirs = paper_setups(published, paper);
  std::string header = "| attention |", rule = "|---|";
  for (const auto& column : table.columns) {
    header += " " + column + " time ours / paper | " + column + " memory ours / paper |";
    rule += "---:|---:|";
  }
  std::string out = header + "\n" + rule + "\n";
  std::set<std::string> memory_kinds;
  for (const auto& row : table.rows) {
    const auto setup = matching_setup(table, row, theirs);
    if (setup == theirs.end()) continue;
    out += "| " + row + " (" + setup->second.begin()->second.method + ") |";
    for (const auto& column : table.columns) {
      const ResultCell* cell = table.cell(row, column);
      const ResultCell* base = softmax_baseline(table, row, column);
      std::optional<double> time, memory;
      if (cell && base && cell->samples_per_s.n > 0 && cell->samples_per_s.mean > 0)
        time = base->samples_per_s.mean / cell->samples_per_s.mean;
      if (cell && base && cell->peak_memory_mib.n > 0 && base->peak_memory_mib.n > 0 &&
          base->peak_memory_mib.mean > 0) {
        memory = cell->peak_memory_mib.mean / base->peak_memory_mib.mean;
        memory_kinds.insert(cell->memory_kind);
      }
      const std::string task = task_of(column);
      out += " " + ratio_text(time) + " / " +
             published_ratio(theirs, setup, task, &PublishedResult::train_hours) + " | " +
             ratio_text(memory) + " / " +
             published_ratio(theirs, setup, task, &PublishedResult::peak_memory_gb) + " |";
    }
    out += "\n";
  }
  std::string kinds;
  for (const auto& k : memory_kinds) kinds += (kinds.empty() ? "" : ", ") + k;
  out += "\nOurs: time per training sample (1 / samples/s) and peak memory (" +
         (kinds.empty() ? std::string("none measured") : kinds) +
         ") relative to our softmax row on the same task; the paper's: its training hours and "
         "peak GB relative to its own softmax row. Process RSS counts the runtime's fixed "
         "footprint, so CPU memory ratios sit closer to 1 than GPU-allocator ones.\n";
  return out;
}

}  // namespace lra
