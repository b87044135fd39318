// The hand-edited CSV files lra_report reads (published numbers, paper protocols): a header row
// naming the columns in any order, '#' comment lines, fields double-quoted where they hold commas.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lra {

struct CsvRecord {
  std::string where;  // "path:line: ", to start an error message with
  std::map<std::string, std::string> fields;

  const std::string& text(const std::string& column) const;  // "" for an absent column
  // Empty when the column is absent or empty; throws std::runtime_error naming the file, line
  // and column for a field that is not a number.
  std::optional<double> number(const std::string& column) const;
};

// Every data row of the file. Throws std::runtime_error naming the file and line: unreadable
// file, a header that names a column twice or lacks one of `required`, a row whose field count
// differs from the header's.
std::vector<CsvRecord> read_csv_records(const std::string& path,
                                        const std::vector<std::string>& required);

}  // namespace lra
