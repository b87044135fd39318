#include "report/csv_table.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "util/strings.h"

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

}  // namespace

const std::string& CsvRecord::text(const std::string& column) const {
  static const std::string empty;
  const auto it = fields.find(column);
  return it == fields.end() ? empty : it->second;
}

std::optional<double> CsvRecord::number(const std::string& column) const {
  const std::string& field = text(column);
  if (field.empty()) return std::nullopt;
  try {
    size_t used = 0;
    const double value = std::stod(field, &used);
    if (used == field.size()) return value;
  } catch (const std::exception&) {
  }
  throw std::runtime_error(where + column + " '" + field + "' is not a number");
}

std::vector<CsvRecord> read_csv_records(const std::string& path,
                                        const std::vector<std::string>& required) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open the file");
  std::vector<std::string> header;
  std::vector<CsvRecord> records;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    const auto f = split_csv(line);
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (header.empty()) {
      // A repeated name would leave one of its columns unread and the field count short.
      for (size_t i = 0; i < f.size(); ++i)
        for (size_t j = 0; j < i; ++j)
          if (f[i] == f[j])
            throw std::runtime_error(where + "the header names the column '" + f[i] + "' twice");
      for (const auto& name : required)
        if (std::find(f.begin(), f.end(), name) == f.end())
          throw std::runtime_error(where + "the header lacks the column '" + name + "' (needs " +
                                   join(required, ",") + ")");
      header = f;
      continue;
    }
    if (f.size() != header.size())
      throw std::runtime_error(where + "expected " + std::to_string(header.size()) +
                               " fields as in the header, found " + std::to_string(f.size()));
    CsvRecord record{where, {}};
    for (size_t i = 0; i < f.size(); ++i) record.fields[header[i]] = f[i];
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace lra
