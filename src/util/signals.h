// SIGINT/SIGTERM handler setup shared by the trainer and the sweep runner.
#pragma once

namespace lra {

// Installs `handler` for SIGINT and SIGTERM. No SA_RESTART: a blocking call (waitpid, a
// sleep) returns with EINTR, so the caller sees the signal at once instead of after the call.
void handle_stop_signals(void (*handler)(int));

}  // namespace lra
