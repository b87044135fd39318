#include "report/paper_protocols.h"

#include <stdexcept>

#include "report/csv_table.h"
#include "util/strings.h"

namespace lra {
namespace {

struct ProtocolColumn {
  const char* column;  // in paper_protocols.csv
  const char* key;     // the config key it fixes
  const char* phrase;  // how a difference is printed
};

const std::vector<ProtocolColumn>& protocol_columns() {
  static const std::vector<ProtocolColumn> columns = {
      {"data_source", "data.source", "data"},
      {"padded_length", "data.max_length", "padded length"},
      {"steps", "train.steps", "steps"},
      {"batch_size", "train.batch_size", "batch"}};
  return columns;
}

}  // namespace

const std::vector<std::string>& protocol_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& c : protocol_columns()) k.push_back(c.key);
    return k;
  }();
  return keys;
}

std::vector<PaperProtocol> read_paper_protocols(const std::string& path) {
  std::vector<std::string> required = {"paper", "task", "source"};
  for (const auto& c : protocol_columns()) required.push_back(c.column);
  std::vector<PaperProtocol> protocols;
  for (const auto& row : read_csv_records(path, required)) {
    PaperProtocol p{row.text("paper"), row.text("task"), {}, row.text("source")};
    for (const auto& c : protocol_columns()) {
      if (std::string(c.key) != "data.source") row.number(c.column);  // a number, or an error
      if (row.text(c.column).empty()) throw std::runtime_error(row.where + c.column + " is empty");
      p.settings[c.key] = row.text(c.column);
    }
    if (find_protocol(protocols, p.paper, p.task))
      throw std::runtime_error(row.where + "a second protocol for " + p.paper + " on " + p.task);
    protocols.push_back(p);
  }
  return protocols;
}

const PaperProtocol* find_protocol(const std::vector<PaperProtocol>& protocols,
                                   const std::string& paper, const std::string& task) {
  for (const auto& p : protocols)
    if (p.paper == paper && p.task == task) return &p;
  return nullptr;
}

std::vector<std::string> protocol_differences(const ResultCell& cell,
                                              const PaperProtocol* protocol) {
  if (!protocol) return {"the paper's protocol for this task is not on file"};
  std::vector<std::string> differences;
  for (const auto& c : protocol_columns()) {
    const auto ours = cell.settings.find(c.key);
    const std::string& theirs = protocol->settings.at(c.key);
    if (ours == cell.settings.end() || ours->second.empty()) continue;
    if (ours->second.size() == 1 && *ours->second.begin() == theirs) continue;
    const std::vector<std::string> values(ours->second.begin(), ours->second.end());
    differences.push_back(std::string(c.phrase) + " " + join(values, " and ") +
                          " (paper: " + theirs + ")");
  }
  return differences;
}

}  // namespace lra
