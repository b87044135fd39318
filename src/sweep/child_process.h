// Starting and reaping the lra_train processes of a sweep (POSIX fork/exec).
#pragma once
#include <sys/types.h>
#include <string>
#include <vector>

namespace lra {

struct ChildSpec {
  std::vector<std::string> argv;                         // argv[0] is the program path
  std::vector<std::pair<std::string, std::string>> env;  // added to this process's environment
  std::string log_path;                                  // stdout and stderr go here (appended)
  std::vector<int> cpus;                                 // CPU affinity; empty = inherit
  int inherit_fd = -1;  // kept open in the child (a lock that lives as long as the child)
};

// Starts the child in its own process group (a terminal's Ctrl-C reaches only the sweep, which
// forwards it once: a second SIGINT would make lra_train exit without its report). The child
// gets SIGTERM if the sweep dies, so no trainer outlives a killed sweep unnoticed.
// Throws std::runtime_error when the log cannot be opened or fork fails.
pid_t start_child(const ChildSpec& spec);

struct ChildExit {
  pid_t pid = -1;     // -1: interrupted by a signal before any child exited
  int exit_code = 0;  // exit status, or 128 + signal when the child was killed
};

// Waits for any child. Returns pid -1 when a signal interrupted the wait.
ChildExit wait_any_child();

// Takes an exclusive lock on `path` (created if missing). Returns the fd, or -1 when another
// process holds it and `wait` is false.
int lock_file(const std::string& path, bool wait);

}  // namespace lra
