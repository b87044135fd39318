#include "data/raw/tsv_lines.h"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace lra::raw {

LineReader::LineReader(const std::string& path, const Progress& progress, int64_t max_line_bytes)
    : path_(path),
      in_(path, std::ios::binary),
      progress_(progress),
      max_line_bytes_(max_line_bytes) {
  if (!in_) throw std::runtime_error(path + ": cannot open");
  std::error_code ec;
  size_ = static_cast<int64_t>(std::filesystem::file_size(path, ec));
}

bool LineReader::next(std::string& line) {
  // std::getline would grow `line` without bound; istream::getline stops at a buffer's end.
  line.clear();
  char buf[1 << 16];
  bool any = false;  // something was read: a last line without "\n" still counts
  while (true) {
    in_.getline(buf, sizeof buf);
    const auto got = static_cast<size_t>(in_.gcount());
    any = any || got > 0;
    const bool full = in_.fail() && !in_.eof() && got == sizeof buf - 1;  // no "\n" yet
    const bool ended = !in_.fail() && !in_.eof();  // "\n" read (counted in gcount, not stored)
    line.append(buf, ended ? got - 1 : got);
    if (static_cast<int64_t>(line.size()) > max_line_bytes_) {
      ++line_;
      fail("line longer than " + std::to_string(max_line_bytes_) +
           " bytes (no line break; is this the right file?)");
    }
    if (!full) break;
    in_.clear();
  }
  if (!any) {
    if (progress_) progress_(path_, size_, size_);
    return false;
  }
  ++line_;
  done_ += static_cast<int64_t>(line.size()) + 1;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  // Reports every 1% of the file keep the callback cheap on multi-GB inputs.
  if (progress_ && done_ >= next_report_) {
    progress_(path_, std::min(done_, size_), size_);
    next_report_ = done_ + std::max<int64_t>(size_ / 100, 1);
  }
  return true;
}

namespace {

// `text` with control bytes written as \xNN: a message quoting a hostile line must print whole
// (a NUL would end it) and must not move the terminal's cursor.
std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7F) {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", u);
      out += hex;
    }
  }
  return out;
}

}  // namespace

void LineReader::fail(const std::string& problem) const {
  const std::string where = line_ > 0 ? path_ + ":" + std::to_string(line_) : path_;
  throw std::runtime_error(where + ": " + printable(problem));
}

std::vector<std::string> split_fields(const std::string& line, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t end = line.find(sep, start);
    out.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

}  // namespace lra::raw
