// The same sweep as a SLURM job array: one array task per grid point, the same run names and
// output folders as a local lra_sweep, so either can finish what the other started.
#pragma once
#include <string>
#include <vector>

#include "sweep/sweep_runner.h"

namespace lra {

struct SlurmOptions {
  std::string job_name = "lra_sweep";
  int cpus_per_task = 8;
  int gpus_per_task = 1;                      // 0 = CPU-only tasks
  int max_parallel = 0;                       // array throttle (%N); 0 = no limit
  std::vector<std::string> extra_directives;  // more "#SBATCH ..." lines, e.g. --partition=gpu
};

// The sbatch script. Paths in it should be absolute: the job may start in another directory.
std::string slurm_array_script(const SweepOptions& options, const SlurmOptions& slurm,
                               const std::vector<SweepPoint>& points);

// Quotes a word for bash (single quotes; embedded ' becomes '\'').
std::string shell_quote(const std::string& word);

}  // namespace lra
