// metrics.jsonl: one JSON object a line, written straight to the file so that a crash loses at
// most the line being written. The byte offset after the last line goes into checkpoints; a
// resumed run cuts the file back to it, so lines written after the checkpoint are not doubled.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace lra {

class MetricsLog {
 public:
  // A new, empty log at `path`.
  explicit MetricsLog(const std::string& path);
  // The log of a resumed run: keeps the first `offset` bytes of `path` and appends after them.
  MetricsLog(const std::string& path, int64_t offset);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Throws std::runtime_error naming the file and the system's reason (disk full, ...).
  void append(const nlohmann::ordered_json& line);
  // Bytes of complete lines written so far.
  int64_t offset() const { return offset_; }

 private:
  void open(int flags);
  std::string path_;
  int fd_ = -1;
  int64_t offset_ = 0;
};

}  // namespace lra
