#include "data/prepare_command.h"

#include <chrono>
#include <ctime>
#include <stdexcept>

#include <torch/torch.h>

#include "data/prepared.h"
#include "data/prepared_summary.h"
#include "data/progress_printer.h"
#include "util/signals.h"

namespace lra::prepare {
namespace {

std::atomic<bool> g_stop_requested{false};
void on_stop_signal(int) {
  g_stop_requested = true;
}

// meta.json records who wrote the folder, from what command, and when.
void stamp(nlohmann::json& meta, const std::string& command_line) {
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  meta["tool"] = "lra_prepare";
  meta["tool_version"] = raw::tool_version();
  meta["command"] = command_line;
  meta["created"] = when;
}

}  // namespace

void run(const Command& command, Request request) {
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  torch::set_num_threads(1);
  ProgressPrinter printer(request.quiet);
  request.progress = [&printer](const std::string& stage, int64_t done, int64_t total) {
    printer(stage, done, total);
  };
  const auto t0 = Clock::now();
  std::optional<raw::Prepared> p = command.run(request);
  if (!p) return;
  const auto t1 = Clock::now();
  stamp(p->meta, request.command_line);
  write_prepared(request.out, p->data, p->meta);
  const auto t2 = Clock::now();
  print_prepared_summary(p->data, request.out, seconds(t1 - t0), seconds(t2 - t1));
}

const std::string& require_input(const Request& request) {
  if (request.input.empty())
    throw std::invalid_argument(
        "--input is required (or --generate for pathfinder/pathx, --from-config for listops)");
  return request.input;
}

const std::atomic<bool>* stop_on_signals() {
  handle_stop_signals(on_stop_signal);
  return &g_stop_requested;
}

}  // namespace lra::prepare
