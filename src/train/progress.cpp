#include "train/progress.h"

#include <cstdio>

#include <unistd.h>

namespace lra {

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

Progress::Progress(int64_t total_steps, bool enabled, int64_t first_step)
    : total_(total_steps),
      first_(first_step),
      terminal_(enabled && ::isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(int64_t step, double loss, double accuracy) {
  if (!terminal_) return;
  const auto now = std::chrono::steady_clock::now();
  if (step != total_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(step - first_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - step) / rate : 0.0;
  std::fprintf(stderr, "\r\033[K step %ld/%ld | loss %.4f | acc %.3f | %.1f steps/s | ETA %s", step,
               total_, loss, accuracy, rate, format_duration(eta).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::clear() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace lra
