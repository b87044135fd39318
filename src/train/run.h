// One whole run: device and threads, output folder, data, training, report.json.
#pragma once
#include <string>

#include "config/config.h"

namespace lra {

struct RunOptions {
  bool show_progress = true;
  bool resume = false;  // continue from <run_dir>/checkpoint.pt (check_resume first)
};

struct RunOutcome {
  std::string run_dir;
  std::string report_path;
  bool ok = false;
  bool interrupted = false;  // stopped by SIGINT/SIGTERM; report.json says "interrupted"
  std::string error;
};

// Never throws for run-time failures: they are logged and recorded in a report with
// status "failed" (what was already written stays).
RunOutcome run_training(const Config& config, const RunOptions& options);

}  // namespace lra
