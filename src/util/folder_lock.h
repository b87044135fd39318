// An exclusive advisory lock on a folder (flock on the folder itself), held for the life of the
// object. The kernel drops it when the process dies, so a kill -9 never leaves a stale lock, and
// nothing is written into the folder to take it.
#pragma once
#include <stdexcept>
#include <string>

namespace lra {

// Another process holds the folder's lock. holder_pid is 0 when the system does not say.
class FolderBusyError : public std::runtime_error {
 public:
  FolderBusyError(const std::string& message, long holder_pid)
      : std::runtime_error(message), holder_pid(holder_pid) {}
  long holder_pid;
};

class FolderLock {
 public:
  // Takes the lock on `dir` (which must exist) without waiting. Throws FolderBusyError when
  // another process holds it, std::runtime_error when the folder cannot be opened.
  explicit FolderLock(const std::string& dir);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

// The PID of the process holding a flock on `path` (from /proc/locks), or 0 when none is found.
long flock_holder_pid(const std::string& path);

}  // namespace lra
