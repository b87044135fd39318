#include "util/atomic_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace lra {
namespace {

std::string reason() {
  return std::strerror(errno);
}

std::string unchanged(const std::string& path) {
  return " (the previous " + path + ", if any, is unchanged)";
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The rename is only durable once the folder entry is on disk too; failure here loses nothing
// that a crash would not, so it is not an error.
void sync_dir(const std::string& path) {
  const int fd = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Writes all of `content` to a new file `tmp` and flushes it to disk; throws naming `path`.
void write_new_file(const std::string& path, const std::string& tmp, const std::string& content) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(path + ": cannot create " + tmp + ": " + reason());
  if (!write_all(fd, content)) {
    const std::string why = reason();
    ::close(fd);
    throw std::runtime_error(path + ": cannot write: " + why + unchanged(path));
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw std::runtime_error(path + ": cannot write: " + reason() + unchanged(path));
}

void fsync_path(const std::string& path, const std::string& tmp) {
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": cannot reopen " + tmp + ": " + reason());
  const int rc = ::fsync(fd);
  const std::string why = rc != 0 ? reason() : "";
  ::close(fd);
  if (rc != 0) throw std::runtime_error(path + ": cannot write: " + why + unchanged(path));
}

void commit(const std::string& path, const std::string& tmp) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = reason();
    ::unlink(tmp.c_str());
    throw std::runtime_error(path + ": cannot replace file: " + why + unchanged(path));
  }
  sync_dir(path);
}

}  // namespace

bool write_all(int fd, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string atomic_temp_name(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

bool is_atomic_temp_name(const std::string& file_name) {
  const auto at = file_name.rfind(".tmp.");
  if (at == std::string::npos || at == 0 || at + 5 == file_name.size()) return false;
  return file_name.find_first_not_of("0123456789", at + 5) == std::string::npos;
}

void write_path_atomic(const std::string& path,
                       const std::function<void(const std::string&)>& write) {
  const std::string tmp = atomic_temp_name(path);
  try {
    write(tmp);
    fsync_path(path, tmp);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  commit(path, tmp);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = atomic_temp_name(path);
  try {
    write_new_file(path, tmp, content);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  commit(path, tmp);
}

}  // namespace lra
