// A file written record by record, straight to disk, so that a crash loses at most the record
// being written. offset() (the bytes of complete records) goes into checkpoints; a resumed run
// cuts the file back to it, so that records written after the checkpoint are not doubled.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace lra {

class AppendLog {
 public:
  // A new, empty file at `path`; `what` names it in errors ("metrics log").
  AppendLog(const std::string& path, const std::string& what);
  // The file of a resumed run: keeps the first `offset` bytes of `path` and appends after them.
  // A file shorter than `offset` is kept whole, with a warning: it is a record, not state.
  AppendLog(const std::string& path, const std::string& what, int64_t offset);
  ~AppendLog();
  AppendLog(const AppendLog&) = delete;
  AppendLog& operator=(const AppendLog&) = delete;

  // Throws std::runtime_error naming the file and the system's reason (disk full, ...).
  void append(std::string_view record);
  int64_t offset() const { return offset_; }
  const std::string& path() const { return path_; }

 private:
  void open(int flags);
  std::string path_, what_;
  int fd_ = -1;
  int64_t offset_ = 0;
};

}  // namespace lra
