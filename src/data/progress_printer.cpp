#include "data/progress_printer.h"

#include <unistd.h>

#include <cstdio>

namespace lra::prepare {
namespace {

std::string short_stage(const std::string& s) {
  return s.size() <= 40 ? s : "..." + s.substr(s.size() - 37);
}

}  // namespace

ProgressPrinter::ProgressPrinter(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO)) {}

void ProgressPrinter::operator()(const std::string& stage, int64_t done, int64_t total) {
  if (quiet_ || total <= 0) return;
  const auto now = Clock::now();
  const bool finished = done >= total;
  if (stage != stage_) {
    if (tty_ && !stage_.empty() && !line_done_) std::fputc('\n', stderr);
    stage_ = stage, last_pct_ = -100, line_done_ = false;
    last_ = now - std::chrono::hours(1);
  }
  if (line_done_) return;
  if (tty_) {
    if (!finished && now - last_ < std::chrono::milliseconds(100)) return;
    draw_bar(stage, done, total, finished);
  } else if (!print_line(stage, done, total, finished)) {
    return;
  }
  std::fflush(stderr);
  last_ = now;
}

void ProgressPrinter::draw_bar(const std::string& stage, int64_t done, int64_t total,
                               bool finished) {
  const int pct = static_cast<int>(100 * done / total);
  const int width = 30, fill = width * pct / 100;
  std::fprintf(stderr, "\r%-40.40s [%s%s] %3d%% %lld/%lld", short_stage(stage).c_str(),
               std::string(fill, '#').c_str(), std::string(width - fill, '.').c_str(), pct,
               static_cast<long long>(done), static_cast<long long>(total));
  if (finished) std::fputc('\n', stderr), line_done_ = true;
}

// False when this report is too close to the last line to print.
bool ProgressPrinter::print_line(const std::string& stage, int64_t done, int64_t total,
                                 bool finished) {
  const int pct = static_cast<int>(100 * done / total);
  if (!finished && pct < last_pct_ + 25 && Clock::now() - last_ < std::chrono::seconds(30))
    return false;
  std::fprintf(stderr, "%s: %d%% (%lld/%lld)\n", stage.c_str(), pct, static_cast<long long>(done),
               static_cast<long long>(total));
  last_pct_ = pct;
  line_done_ = finished;
  return true;
}

}  // namespace lra::prepare
