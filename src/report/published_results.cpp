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
  std::string line;
  int number = 0;
  bool header_seen = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    const auto f = split_csv(line);
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (!header_seen) {
      if (f.size() < 6 || f[0] != "paper" || f[4] != "accuracy")
        throw std::runtime_error(where +
                                 "expected the header paper,method,backend,task,accuracy,source");
      header_seen = true;
      continue;
    }
    if (f.size() != 6)
      throw std::runtime_error(where + "expected 6 fields, found " + std::to_string(f.size()));
    PublishedResult r{f[0], f[1], f[2], f[3], 0.0, f[5]};
    try {
      size_t used = 0;
      r.accuracy = std::stod(f[4], &used);
      if (used != f[4].size()) throw std::invalid_argument(f[4]);
    } catch (const std::exception&) {
      throw std::runtime_error(where + "accuracy '" + f[4] + "' is not a number");
    }
    results.push_back(r);
  }
  return results;
}

std::string paper_comparison_markdown(const ResultTable& table,
                                      const std::vector<PublishedResult>& published,
                                      const std::string& paper) {
  std::map<std::string, std::map<std::string, PublishedResult>> theirs;  // backend -> task -> r
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
  std::string out = "| attention |";
  std::string rule = "|---|";
  for (const auto& column : table.columns) {
    out += " " + column + " ours / paper (Δ) |";
    rule += "---:|";
  }
  out += "\n" + rule + "\n";
  std::set<std::string> sources;
  for (const auto& row : table.rows) {
    auto attention = table.row_attention.count(row) ? table.row_attention.at(row)
                                                    : std::map<std::string, std::string>{};
    attention.emplace("attention.type", table.row_backend.at(row));
    auto backend = theirs.end();
    int best = -1;
    for (auto it = theirs.begin(); it != theirs.end(); ++it) {
      const int score = backend_match(it->first, attention);
      if (score > best) best = score, backend = it;
    }
    if (backend == theirs.end()) continue;
    out += "| " + row + " (" + backend->second.begin()->second.method + ") |";
    for (const auto& column : table.columns) {
      const auto it = backend->second.find(task_of(column));
      const ResultCell* cell = table.cell(row, column);
      const bool have_ours = cell && cell->accuracy.n > 0;
      // "missing": runs of this task did not complete; "—": this row has no runs of the task.
      std::string text = have_ours ? fixed(100.0 * cell->accuracy.mean, 2)
                                   : (cell && cell->expected > 0 ? "missing" : "—");
      if (it == backend->second.end()) {
        text += " / —";
      } else {
        text += " / " + fixed(it->second.accuracy, 2);
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

}  // namespace lra
