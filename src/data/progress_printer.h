// lra_prepare's progress on stderr: a bar redrawn in place on a terminal; on a pipe or a file,
// where redrawing would flood a log, one line per 25% or 30 s.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace lra::prepare {

class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet);
  // A raw::Progress report: `stage` names the file or step.
  void operator()(const std::string& stage, int64_t done, int64_t total);

 private:
  using Clock = std::chrono::steady_clock;
  void draw_bar(const std::string& stage, int64_t done, int64_t total, bool finished);
  bool print_line(const std::string& stage, int64_t done, int64_t total, bool finished);

  bool quiet_, tty_;
  std::string stage_;
  int last_pct_ = -100;
  bool line_done_ = false;
  Clock::time_point last_{};
};

}  // namespace lra::prepare
