// lra_sweep: runs a grid of lra_train configs (cross product of --grid axes times seeds), a few
// at a time, skipping runs that already completed; or writes the same grid as a SLURM array.
#include <unistd.h>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "config/config.h"
#include "sweep/grid.h"
#include "sweep/slurm_script.h"
#include "sweep/sweep_runner.h"
#include "util/atomic_file.h"
#include "util/log.h"

namespace fs = std::filesystem;

namespace {

std::string sibling_trainer() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? "lra_train" : (self.parent_path() / "lra_train").string();
}

std::vector<int64_t> parse_seed_list(const std::string& text) {
  std::vector<int64_t> seeds;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    try {
      seeds.push_back(std::stoll(item, &used));
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size())
      throw std::invalid_argument("--seed-list '" + text + "': '" + item + "' is not an integer");
  }
  return seeds;
}

// Loads every point's config so that a typo in a grid key or value stops the sweep before
// anything runs, with the config error naming the run.
void validate_points(const lra::SweepOptions& options, const std::vector<lra::SweepPoint>& points) {
  for (const auto& p : points) {
    auto overrides = options.base_overrides;
    overrides.insert(overrides.end(), p.overrides.begin(), p.overrides.end());
    overrides.push_back("name=" + p.name);
    try {
      lra::load_config(options.config_path, overrides);
    } catch (const lra::ConfigError& e) {
      throw lra::ConfigError("run " + p.name + ":\n" + e.what());
    }
  }
}

void print_dry_run(const lra::SweepOptions& options, const std::vector<lra::SweepPoint>& points) {
  int todo = 0;
  for (const auto& p : points) {
    const auto state = lra::read_run_state(options.out_dir + "/" + p.name);
    const bool done = state == lra::RunState::completed;
    todo += done ? 0 : 1;
    std::cout << (done ? "skip  " : "run   ") << p.name << "  (" << lra::to_string(state) << ")\n";
  }
  std::cout << todo << " of " << points.size() << " runs would run, " << options.jobs
            << " at a time, in " << options.out_dir << "\n";
  if (points.empty()) return;
  std::cout << "first command:";
  for (const auto& arg : lra::train_command(options, points.front()))
    std::cout << " " << lra::shell_quote(arg);
  std::cout << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lra_sweep: run a grid of lra_train configs (or write it as a SLURM job array)"};
  lra::SweepOptions options;
  lra::SlurmOptions slurm;
  std::vector<std::string> grid_args, devices_arg;
  std::string seed_list, slurm_path;
  int seeds = 1;
  bool dry_run = false;
  app.add_option("--config,-c", options.config_path, "Base YAML config")->required();
  app.add_option("--grid,-g", grid_args, "Axis key=v1,v2,... (repeatable; cross product)");
  app.add_option("--set,-s", options.base_overrides,
                 "Override for every run: key=value (repeatable)");
  app.add_option("--seeds", seeds, "Seeds per grid point: the config's seed, seed+1, ...")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed-list", seed_list, "Explicit seeds, e.g. 0,1,2 (instead of --seeds)");
  app.add_option("--out,-o", options.out_dir, "Sweep folder (default <output.dir>/sweep_<name>)");
  app.add_option("--jobs,-j", options.jobs, "Runs at a time (default 1, or one per device)")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", options.threads_per_job, "Threads per run (default cores / jobs)")
      ->check(CLI::PositiveNumber);
  app.add_option("--devices", devices_arg, "GPU ids, one run per GPU at a time: 0,1,2,3")
      ->delimiter(',');
  app.add_option("--train-bin", options.train_bin,
                 "lra_train executable (default: beside lra_sweep)");
  app.add_flag("--dry-run", dry_run, "List the runs and what would run; run nothing");
  app.add_option("--slurm", slurm_path, "Write an sbatch job-array script here instead of running");
  app.add_option("--slurm-cpus", slurm.cpus_per_task, "SLURM: CPUs per task");
  app.add_option("--slurm-gpus", slurm.gpus_per_task, "SLURM: GPUs per task (0 = CPU only)");
  app.add_option("--slurm-max-parallel", slurm.max_parallel, "SLURM: array throttle %N");
  app.add_option("--slurm-directive", slurm.extra_directives,
                 "SLURM: extra directive, e.g. --partition=gpu (repeatable)");
  CLI11_PARSE(app, argc, argv);
  lra::log::setup("info");

  try {
    options.devices = devices_arg;
    if (!options.devices.empty() && !app.count("--jobs")) options.jobs = options.devices.size();
    if (options.train_bin.empty()) options.train_bin = sibling_trainer();
    options.config_path = fs::absolute(options.config_path).string();
    const lra::Config base = lra::load_config(options.config_path, options.base_overrides);
    if (options.out_dir.empty()) options.out_dir = base.output.dir + "/sweep_" + base.name;
    options.out_dir = fs::absolute(options.out_dir).lexically_normal().string();
    std::vector<lra::GridAxis> axes;
    for (const auto& g : grid_args) axes.push_back(lra::parse_grid_axis(g));
    std::vector<int64_t> seed_values =
        seed_list.empty() ? std::vector<int64_t>{} : parse_seed_list(seed_list);
    for (int i = 0; seed_list.empty() && i < seeds; ++i) seed_values.push_back(base.seed + i);
    const auto points = lra::expand_grid(base.name, axes, seed_values);
    validate_points(options, points);
    if (!dry_run && slurm_path.empty() && access(options.train_bin.c_str(), X_OK) != 0)
      throw std::invalid_argument(options.train_bin +
                                  ": lra_train not found or not executable; pass --train-bin");

    if (dry_run) {
      print_dry_run(options, points);
      return 0;
    }
    fs::create_directories(options.out_dir + "/logs");
    lra::write_file_atomic(options.out_dir + "/sweep.json",
                           lra::sweep_manifest_json(options, axes, points));
    if (!slurm_path.empty()) {
      slurm.job_name = lra::sanitize_name_part(base.name) + "_sweep";
      lra::write_file_atomic(slurm_path, lra::slurm_array_script(options, slurm, points));
      std::cout << "wrote " << slurm_path << ": " << points.size()
                << " array tasks; submit with: sbatch " << slurm_path << "\n";
      return 0;
    }
    const auto result = lra::run_sweep(options, points);
    std::cout << "sweep " << options.out_dir << ": " << result.completed << " completed now, "
              << result.skipped << " already done, " << result.failed << " not completed\n"
              << "table: lra_report " << options.out_dir << "\n";
    if (result.stop_signal) return 128 + result.stop_signal;
    return result.failed ? 1 : 0;
  } catch (const lra::ConfigError& e) {
    std::cerr << "config error:\n" << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
