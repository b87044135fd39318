// metrics.jsonl: one JSON object a line, cut back to the checkpoint's offset on resume.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "util/append_log.h"

namespace lra {

class MetricsLog {
 public:
  // A new, empty log at `path`.
  explicit MetricsLog(const std::string& path) : file_(path, "metrics log") {}
  // The log of a resumed run: keeps the first `offset` bytes of `path` and appends after them.
  MetricsLog(const std::string& path, int64_t offset) : file_(path, "metrics log", offset) {}

  // Throws std::runtime_error naming the file and the system's reason (disk full, ...).
  void append(const nlohmann::ordered_json& line) { file_.append(line.dump() + "\n"); }
  // Bytes of complete lines written so far.
  int64_t offset() const { return file_.offset(); }

 private:
  AppendLog file_;
};

}  // namespace lra
