// Line-by-line reading of large text files with the file:line in every error and byte progress.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "data/raw/common.h"

namespace lra::raw {

// The longest line a LineReader returns: the release's longest (an AAN pair) is well under a
// megabyte, and a file without newlines must not be read into one string.
constexpr int64_t kMaxLineBytes = int64_t{64} << 20;

class LineReader {
 public:
  // `stage` is what progress reports show for this file.
  LineReader(const std::string& path, const Progress& progress,
             int64_t max_line_bytes = kMaxLineBytes);
  // Next line without its "\n" / "\r\n"; false at the end of the file. A line longer than
  // max_line_bytes throws "<path>:<line>: ..." before more of it is read.
  bool next(std::string& line);
  int64_t line_number() const { return line_; }
  // "<path>:<line>: <problem>" as a std::runtime_error, control bytes in `problem` escaped.
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  std::string path_;
  std::ifstream in_;
  Progress progress_;  // a copy: callers may pass a temporary
  int64_t max_line_bytes_, size_ = 0, done_ = 0, line_ = 0, next_report_ = 0;
};

// Splits on every `sep` (no quoting): "a\t\tb" -> {"a", "", "b"}.
std::vector<std::string> split_fields(const std::string& line, char sep);

}  // namespace lra::raw
