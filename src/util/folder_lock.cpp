#include "util/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lra {

long flock_holder_pid(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  // Lines such as "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF"; blocked waiters ("->")
  // have one more field before the type and are skipped by the type check.
  // On overlay and similar file systems /proc/locks may give another device than stat: an
  // inode match alone is the fallback.
  long inode_only = 0;
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    std::istringstream fields(line);
    std::string id, type, mode, access, where;
    long pid = 0;
    if (!(fields >> id >> type >> mode >> access >> pid >> where) || type != "FLOCK") continue;
    unsigned major = 0, minor = 0;
    unsigned long long inode = 0;
    if (std::sscanf(where.c_str(), "%x:%x:%llu", &major, &minor, &inode) != 3) continue;
    if (inode != st.st_ino) continue;
    if (major == ::major(st.st_dev) && minor == ::minor(st.st_dev)) return pid;
    inode_only = pid;
  }
  return inode_only;
}

FolderLock::FolderLock(const std::string& dir) {
  fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(dir + ": cannot open the folder: " + strerror(errno));
  while (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    close(fd_);
    fd_ = -1;
    if (err != EWOULDBLOCK)
      throw std::runtime_error(dir + ": cannot lock the folder: " + strerror(err));
    const long pid = flock_holder_pid(dir);
    throw FolderBusyError(dir + ": in use by another process" +
                              (pid > 0 ? " (PID " + std::to_string(pid) + ")" : std::string()),
                          pid);
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace lra
