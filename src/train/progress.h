// Live progress: a single rewritten line on a terminal, periodic log lines elsewhere.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace lra {

class Progress {
 public:
  // `first_step`: steps already done when this process started (a resumed run).
  Progress(int64_t total_steps, bool enabled, int64_t first_step = 0);
  ~Progress() { clear(); }  // an error message must not land on the live line
  // Called every step; draws at most ~5 times a second on a terminal.
  void update(int64_t step, double loss, double accuracy);
  // Ends the live line so that a log message can be printed cleanly.
  void clear();
  bool on_terminal() const { return terminal_; }

 private:
  int64_t total_;
  int64_t first_;
  bool terminal_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string format_duration(double seconds);

}  // namespace lra
