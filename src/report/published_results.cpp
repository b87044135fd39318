#include "report/published_results.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "config/schema.h"
#include "report/csv_table.h"
#include "util/format.h"
#include "util/strings.h"

namespace lra {
namespace {

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
  std::vector<PublishedResult> results;
  for (const auto& row :
       read_csv_records(path, {"paper", "method", "backend", "task", "accuracy", "source"})) {
    PublishedResult r;
    r.paper = row.text("paper");
    r.method = row.text("method");
    r.backend = row.text("backend");
    r.task = row.text("task");
    const auto accuracy = row.number("accuracy");
    if (!accuracy) throw std::runtime_error(row.where + "accuracy is empty");
    r.accuracy = *accuracy;
    r.accuracy_std = row.number("accuracy_std");
    r.train_hours = row.number("train_hours");
    r.peak_memory_gb = row.number("peak_memory_gb");
    r.source = row.text("source");
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

namespace {

// One cell of the comparison: what the Markdown and the CSV print.
struct ComparedCell {
  bool published = false, ours = false;
  std::string ours_text;  // accuracy %, "missing" or "—"
  const PublishedResult* theirs = nullptr;
  std::optional<double> delta;
  std::vector<std::string> differences;  // from the paper's protocol
};

ComparedCell compare_cell(const ResultTable& table, const std::string& row,
                          const std::string& column,
                          const std::map<std::string, PublishedResult>& setup,
                          const std::vector<PaperProtocol>& protocols, const std::string& paper) {
  ComparedCell c;
  const ResultCell* cell = table.cell(row, column);
  c.ours = cell && cell->accuracy.n > 0;
  // "missing": runs of this task did not complete; "—": this row has no runs of the task.
  c.ours_text = c.ours ? fixed(100.0 * cell->accuracy.mean, 2)
                       : (cell && cell->expected > 0 ? "missing" : "—");
  const auto it = setup.find(task_of(column));
  if (it == setup.end()) return c;
  c.published = true;
  c.theirs = &it->second;
  if (c.ours) {
    c.delta = 100.0 * cell->accuracy.mean - it->second.accuracy;
    c.differences = protocol_differences(*cell, find_protocol(protocols, paper, task_of(column)));
  }
  return c;
}

std::string signed_fixed(double value) {
  return std::string(value >= 0 ? "+" : "") + fixed(value, 2);
}

std::string csv_quoted(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

}  // namespace

std::string paper_comparison_markdown(const ResultTable& table,
                                      const std::vector<PublishedResult>& published,
                                      const std::vector<PaperProtocol>& protocols,
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
  std::map<std::string, std::set<std::string>> differences;  // column -> phrases
  for (const auto& row : table.rows) {
    const auto setup = matching_setup(table, row, theirs);
    if (setup == theirs.end()) continue;
    out += "| " + row + " (" + setup->second.begin()->second.method + ") |";
    for (const auto& column : table.columns) {
      const ComparedCell c = compare_cell(table, row, column, setup->second, protocols, paper);
      std::string text = c.ours_text + " / —";
      if (c.published) {
        text = c.ours_text + " / " + fixed(c.theirs->accuracy, 2);
        if (c.theirs->accuracy_std) text += " ± " + fixed(*c.theirs->accuracy_std, 2);
        if (c.delta) text += " (" + signed_fixed(*c.delta) + ")";
        if (!c.differences.empty()) {
          text += " †";
          differences[column].insert(c.differences.begin(), c.differences.end());
        }
        sources.insert(c.theirs->source);
      }
      out += " " + text + " |";
    }
    out += "\n";
  }
  if (!differences.empty()) {
    out += "\n† Not the paper's protocol, so not a reproduction of its number:\n";
    for (const auto& [column, phrases] : differences)
      out += "- " + column + ": " +
             join(std::vector<std::string>(phrases.begin(), phrases.end()), "; ") + ".\n";
  }
  for (const auto& s : sources) out += "\nSource: " + s + "\n";
  return out;
}

std::string paper_comparison_csv(const ResultTable& table,
                                 const std::vector<PublishedResult>& published,
                                 const std::vector<PaperProtocol>& protocols,
                                 const std::string& paper) {
  const PaperSetups theirs = paper_setups(published, paper);
  std::string out =
      "paper,attention,method,task,ours_accuracy,paper_accuracy,paper_accuracy_std,delta,"
      "protocol_differences,source\n";
  for (const auto& row : table.rows) {
    const auto setup = matching_setup(table, row, theirs);
    if (setup == theirs.end()) continue;
    for (const auto& column : table.columns) {
      const ComparedCell c = compare_cell(table, row, column, setup->second, protocols, paper);
      if (!c.published) continue;
      out += paper + "," + csv_quoted(row) + "," + csv_quoted(c.theirs->method) + "," +
             csv_quoted(column) + "," + (c.ours ? c.ours_text : "") + "," +
             fixed(c.theirs->accuracy, 2) + "," +
             (c.theirs->accuracy_std ? fixed(*c.theirs->accuracy_std, 2) : "") + "," +
             (c.delta ? signed_fixed(*c.delta) : "") + "," + csv_quoted(join(c.differences, "; ")) +
             "," + csv_quoted(c.theirs->source) + "\n";
    }
  }
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
