// Runs the real lra_train binary in a child process: for tests that kill it, limit its file
// sizes, or check its exit code and messages.
#pragma once
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lra::test {

struct Child {
  pid_t pid = -1;
  std::string log;  // stdout and stderr of the child
};

// Starts lra_train with `args`, output to `log`; `max_file_bytes` > 0 limits the size of any
// file it writes (RLIMIT_FSIZE, with SIGXFSZ ignored so writes fail with EFBIG, as a full
// disk makes them fail with ENOSPC).
inline Child start_lra_train(const std::vector<std::string>& args, const std::string& log,
                             rlim_t max_file_bytes = 0) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(LRA_TRAIN_BIN));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec: the test process has threads.
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(126);
    if (max_file_bytes > 0) {
      signal(SIGXFSZ, SIG_IGN);
      const rlimit limit{max_file_bytes, max_file_bytes};
      if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(126);
    }
    execv(LRA_TRAIN_BIN, argv.data());
    _exit(127);
  }
  return {pid, log};
}

// Waits for the child; returns the exit code, or 128 + signal when a signal ended it.
inline int wait_child(const Child& child) {
  int status = 0;
  if (waitpid(child.pid, &status, 0) != child.pid) return -1;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// lra_train's arguments for the quickstart config, quiet, with each of `sets` as a --set.
inline std::vector<std::string> quickstart_args(const std::vector<std::string>& sets) {
  std::vector<std::string> args = {
      "--config", std::string(LRA_SOURCE_DIR) + "/configs/quickstart.yaml", "--quiet"};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  return args;
}

// Runs a shell command; its stdout and stderr go to `output`. Returns the exit status.
inline int run_shell(const std::string& cmd, std::string& output) {
  output.clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) output.append(buf, n);
  return WEXITSTATUS(pclose(p));
}

inline int run_lra_train(const std::vector<std::string>& args, const std::string& log,
                         rlim_t max_file_bytes = 0) {
  return wait_child(start_lra_train(args, log, max_file_bytes));
}

}  // namespace lra::test
