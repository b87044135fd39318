#include "util/append_log.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic_file.h"
#include "util/log.h"

namespace lra {

AppendLog::AppendLog(const std::string& path, const std::string& what) : path_(path), what_(what) {
  open(O_TRUNC);
}

AppendLog::AppendLog(const std::string& path, const std::string& what, int64_t offset)
    : path_(path), what_(what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || st.st_size < offset) {
    log::warn(path + log::format(": shorter than the %ld bytes the checkpoint recorded; "
                                 "records before the resume point may be missing",
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

AppendLog::~AppendLog() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendLog::open(int flags) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | flags, 0644);
  if (fd_ < 0)
    throw std::runtime_error(path_ + ": cannot create " + what_ + ": " + std::strerror(errno));
}

void AppendLog::append(std::string_view record) {
  if (!write_all(fd_, record))
    throw std::runtime_error(path_ + ": cannot write: " + std::strerror(errno));
  offset_ += static_cast<int64_t>(record.size());
}

}  // namespace lra
