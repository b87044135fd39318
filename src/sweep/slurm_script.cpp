#include "sweep/slurm_script.h"

#include <sstream>

namespace lra {

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurm_array_script(const SweepOptions& options, const SlurmOptions& slurm,
                               const std::vector<SweepPoint>& points) {
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# lra_sweep job array: " << points.size() << " runs of " << options.config_path << "\n"
    << "# Submit with: sbatch <this file>. A task whose report says completed exits at once,\n"
    << "# so the array can be resubmitted after pre-emption to finish what is missing.\n"
    << "#SBATCH --job-name=" << slurm.job_name << "\n"
    << "#SBATCH --array=0-" << (points.empty() ? 0 : points.size() - 1);
  if (slurm.max_parallel > 0) s << "%" << slurm.max_parallel;
  s << "\n#SBATCH --cpus-per-task=" << slurm.cpus_per_task << "\n";
  if (slurm.gpus_per_task > 0) s << "#SBATCH --gres=gpu:" << slurm.gpus_per_task << "\n";
  s << "#SBATCH --output=" << options.out_dir << "/logs/slurm-%A_%a.log\n";
  for (const auto& d : slurm.extra_directives) s << "#SBATCH " << d << "\n";
  s << "set -euo pipefail\n\n"
    << "case \"$SLURM_ARRAY_TASK_ID\" in\n";
  for (size_t i = 0; i < points.size(); ++i) {
    s << "  " << i << ") NAME=" << shell_quote(points[i].name) << "; ARGS=(";
    const auto argv = train_command(options, points[i]);
    for (size_t a = 1; a < argv.size(); ++a) s << (a > 1 ? " " : "") << shell_quote(argv[a]);
    s << ") ;;\n";
  }
  s << "  *) echo \"no run for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\n"
    << "esac\n\n"
    << "REPORT=" << shell_quote(options.out_dir) << "/\"$NAME\"/report.json\n"
    << "if [[ -f \"$REPORT\" ]] && grep -q '\"status\": \"completed\"' \"$REPORT\"; then\n"
    << "  echo \"$NAME: already completed\"; exit 0\n"
    << "fi\n"
    << "# A requeued or rerun task continues from its checkpoint, or starts over in its folder.\n"
    << "MODE=--overwrite\n"
    << "[[ -f " << shell_quote(options.out_dir) << "/\"$NAME\"/checkpoint.pt ]] && MODE=--resume\n"
    << "DEVICE=" << (slurm.gpus_per_task > 0 ? "cuda" : "cpu") << "\n"
    << "exec " << shell_quote(options.train_bin)
    << " \"${ARGS[@]}\" \"$MODE\" --set threads=\"${SLURM_CPUS_PER_TASK:-" << slurm.cpus_per_task
    << "}\" --set device=\"$DEVICE\"\n";
  return s.str();
}

}  // namespace lra
