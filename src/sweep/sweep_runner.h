// Runs the points of a sweep as lra_train processes, a few at a time, each pinned to its share
// of the cores or to one GPU, skipping points whose report says they completed.
#pragma once
#include <string>
#include <vector>

#include "sweep/grid.h"

namespace lra {

struct SweepOptions {
  std::string train_bin;                    // the lra_train executable
  std::string config_path;                  // the base config
  std::vector<std::string> base_overrides;  // --set arguments applied to every run
  std::string out_dir;                      // runs land in out_dir/<point name>
  int jobs = 1;                             // runs at a time
  int threads_per_job = 0;                  // 0 = the machine's cores / jobs
  std::vector<std::string> devices;         // GPU ids; run slot s uses devices[s % size]
};

// What a run folder says about a run: no report yet, or the report's status.
enum class RunState { missing, completed, interrupted, failed };
RunState read_run_state(const std::string& run_dir);
const char* to_string(RunState state);

// The lra_train command line for one point (argv[0] = train_bin). Threads and the device are
// added by the runner per slot.
std::vector<std::string> train_command(const SweepOptions& options, const SweepPoint& point);

// The sweep's description (grid, points, command), written to out_dir/sweep.json so that a
// report can name runs that are still missing.
std::string sweep_manifest_json(const SweepOptions& options, const std::vector<GridAxis>& axes,
                                const std::vector<SweepPoint>& points);

struct SweepResult {
  int skipped = 0;      // already completed before this call
  int completed = 0;    // completed in this call
  int failed = 0;       // exited non-zero in this call
  int stop_signal = 0;  // SIGINT/SIGTERM that stopped the sweep, 0 if none
};

// Runs every point that has not completed. SIGINT/SIGTERM stop launching new runs and are
// passed once to the running ones, which save and write an interrupted report.
SweepResult run_sweep(const SweepOptions& options, const std::vector<SweepPoint>& points);

}  // namespace lra
