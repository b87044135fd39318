#include "train/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic_file.h"
#include "util/log.h"

namespace lra {

MetricsLog::MetricsLog(const std::string& path) : path_(path) {
  open(O_TRUNC);
}

MetricsLog::MetricsLog(const std::string& path, int64_t offset) : path_(path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || st.st_size < offset) {
    // The log is a record, not state: training can go on with the lines that are there.
    log::warn(path + log::format(": shorter than the %ld bytes the checkpoint recorded; "
                                 "lines before the resume point may be missing",
                                 offset));
    open(0);
    offset_ = ::lseek(fd_, 0, SEEK_END);
    return;
  }
  if (::truncate(path.c_str(), offset) != 0)
    throw std::runtime_error(
        path + ": cannot cut back to the checkpoint's offset: " + std::strerror(errno));
  open(0);
  offset_ = offset;
}

MetricsLog::~MetricsLog() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::open(int flags) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | flags, 0644);
  if (fd_ < 0)
    throw std::runtime_error(path_ + ": cannot create metrics log: " + std::strerror(errno));
}

void MetricsLog::append(const nlohmann::ordered_json& line) {
  const std::string text = line.dump() + "\n";
  if (!write_all(fd_, text))
    throw std::runtime_error(path_ + ": cannot write: " + std::strerror(errno));
  offset_ += static_cast<int64_t>(text.size());
}

}  // namespace lra
