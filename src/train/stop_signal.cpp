#include "train/stop_signal.h"

#include <atomic>

#include <unistd.h>

#include "util/signals.h"

namespace lra {
namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler needs a lock-free atomic");

void on_signal(int signo) {
  int expected = 0;
  // Only async-signal-safe work here: an atomic exchange, or _exit on the second signal.
  if (!g_signal.compare_exchange_strong(expected, signo)) _exit(128 + signo);
}

}  // namespace

void install_stop_signal_handlers() {
  handle_stop_signals(on_signal);
}

bool stop_requested() {
  return g_signal.load() != 0;
}

int stop_signal() {
  return g_signal.load();
}

}  // namespace lra
