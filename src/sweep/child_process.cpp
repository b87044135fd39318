#include "sweep/child_process.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace lra {
namespace {

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void exec_child(const ChildSpec& spec, int log_fd, pid_t parent,
                             std::vector<char*>& argv) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(127);  // the sweep died before prctl took effect
  dup2(log_fd, STDOUT_FILENO);
  dup2(log_fd, STDERR_FILENO);
  close(log_fd);
  if (!spec.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : spec.cpus) CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
  }
  for (const auto& [key, value] : spec.env) setenv(key.c_str(), value.c_str(), 1);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  execv(argv[0], argv.data());
  const char msg[] = "lra_sweep: exec of the trainer failed\n";
  (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
  _exit(127);
}

}  // namespace

pid_t start_child(const ChildSpec& spec) {
  const int log_fd = open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    throw std::runtime_error(spec.log_path + ": cannot open the run's log: " + strerror(errno));
  std::vector<char*> argv;
  for (const auto& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  if (spec.inherit_fd >= 0) fcntl(spec.inherit_fd, F_SETFD, 0);  // survive exec
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) exec_child(spec, log_fd, parent, argv);
  const int fork_errno = errno;
  close(log_fd);
  if (spec.inherit_fd >= 0) fcntl(spec.inherit_fd, F_SETFD, FD_CLOEXEC);
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + strerror(fork_errno));
  setpgid(pid, pid);  // also from the parent, so a signal sent right away finds the group
  return pid;
}

ChildExit wait_any_child() {
  int status = 0;
  const pid_t pid = waitpid(-1, &status, 0);
  if (pid < 0) return {};
  if (WIFSIGNALED(status)) return {pid, 128 + WTERMSIG(status)};
  return {pid, WEXITSTATUS(status)};
}

int lock_file(const std::string& path, bool wait) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(path + ": cannot create lock file: " + strerror(errno));
  while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EINTR && wait) continue;
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace lra
