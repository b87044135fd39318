// lra_sweep: runs a grid of lra_train configs (cross product of --grid axes times seeds), a few
// at a time, skipping runs that already completed; or writes the same grid as a SLURM array.
// A sweep across attention backends runs each backend once per setting of the keys it reads.
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
#include "util/openmp_policy.h"

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

// What the command line asks for, beyond the options the runner and the SLURM writer take.
struct SweepRequest {
  lra::SweepOptions options;
  lra::SlurmOptions slurm;
  std::vector<std::string> grid_args, devices;
  std::string seed_list, slurm_path;
  int seeds = 1;
  bool dry_run = false;
};

void add_options(CLI::App& app, SweepRequest& r) {
  app.add_option("--config,-c", r.options.config_path, "Base YAML config")->required();
  app.add_option("--grid,-g", r.grid_args,
                 "Axis key=v1,v2,... (repeatable; cross product; a backend's runs set only the "
                 "attention.* axes it reads)");
  app.add_option("--set,-s", r.options.base_overrides,
                 "Override for every run: key=value (repeatable)");
  app.add_option("--seeds", r.seeds, "Seeds per grid point: the config's seed, seed+1, ...")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed-list", r.seed_list, "Explicit seeds, e.g. 0,1,2 (instead of --seeds)");
  app.add_option("--out,-o", r.options.out_dir, "Sweep folder (default <output.dir>/sweep_<name>)");
  app.add_option("--jobs,-j", r.options.jobs, "Runs at a time (default 1, or one per device)")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", r.options.threads_per_job, "Threads per run (default cores / jobs)")
      ->check(CLI::PositiveNumber);
  app.add_option("--devices", r.devices, "GPU ids, one run per GPU at a time: 0,1,2,3")
      ->delimiter(',');
  app.add_option("--train-bin", r.options.train_bin,
                 "lra_train executable (default: beside lra_sweep)");
  app.add_flag("--dry-run", r.dry_run, "List the runs and what would run; run nothing");
  app.add_option("--slurm", r.slurm_path,
                 "Write an sbatch job-array script here instead of running");
  app.add_option("--slurm-cpus", r.slurm.cpus_per_task, "SLURM: CPUs per task");
  app.add_option("--slurm-gpus", r.slurm.gpus_per_task, "SLURM: GPUs per task (0 = CPU only)");
  app.add_option("--slurm-max-parallel", r.slurm.max_parallel, "SLURM: array throttle %N");
  app.add_option("--slurm-directive", r.slurm.extra_directives,
                 "SLURM: extra directive, e.g. --partition=gpu (repeatable)");
}

// Fills in the defaults that depend on the base config, the machine or the other options.
void complete_options(const CLI::App& app, const lra::Config& base, SweepRequest& r) {
  r.options.devices = r.devices;
  if (!r.devices.empty() && !app.count("--jobs")) r.options.jobs = r.devices.size();
  if (r.options.train_bin.empty()) r.options.train_bin = sibling_trainer();
  if (r.options.out_dir.empty()) r.options.out_dir = base.output.dir + "/sweep_" + base.name;
  r.options.out_dir = fs::absolute(r.options.out_dir).lexically_normal().string();
}

std::vector<int64_t> seed_values(const SweepRequest& r, const lra::Config& base) {
  if (!r.seed_list.empty()) return parse_seed_list(r.seed_list);
  std::vector<int64_t> seeds;
  for (int i = 0; i < r.seeds; ++i) seeds.push_back(base.seed + i);
  return seeds;
}

int write_slurm(const SweepRequest& r, const lra::Config& base,
                const std::vector<lra::SweepPoint>& points) {
  lra::SlurmOptions slurm = r.slurm;
  slurm.job_name = lra::sanitize_name_part(base.name) + "_sweep";
  lra::write_file_atomic(r.slurm_path, lra::slurm_array_script(r.options, slurm, points));
  std::cout << "wrote " << r.slurm_path << ": " << points.size()
            << " array tasks; submit with: sbatch " << r.slurm_path << "\n";
  return 0;
}

int run_points(const lra::SweepOptions& options, const std::vector<lra::SweepPoint>& points) {
  const auto result = lra::run_sweep(options, points);
  std::cout << "sweep " << options.out_dir << ": " << result.completed << " completed now, "
            << result.skipped << " already done, " << result.failed << " not completed\n"
            << "table: lra_report " << options.out_dir << "\n";
  if (result.stop_signal) return 128 + result.stop_signal;
  return result.failed ? 1 : 0;
}

int sweep(const CLI::App& app, SweepRequest& r) {
  r.options.config_path = fs::absolute(r.options.config_path).string();
  std::vector<lra::GridAxis> axes;
  for (const auto& g : r.grid_args) axes.push_back(lra::parse_grid_axis(g));
  // --set attention.* keys only some of the sweep's backends read go to their points only.
  const auto set = lra::split_base_overrides(r.options.base_overrides);
  r.options.base_overrides = set.common;
  const lra::Config base = lra::load_config(r.options.config_path, set.common);
  complete_options(app, base, r);
  auto points =
      lra::expand_backend_grid(base.name, axes, seed_values(r, base), base.attention.type);
  lra::add_backend_overrides(set.specific, axes, base.attention.type, points);
  validate_points(r.options, points);
  if (r.dry_run) {
    print_dry_run(r.options, points);
    return 0;
  }
  if (r.slurm_path.empty() && access(r.options.train_bin.c_str(), X_OK) != 0)
    throw std::invalid_argument(r.options.train_bin +
                                ": lra_train not found or not executable; pass --train-bin");
  fs::create_directories(r.options.out_dir + "/logs");
  lra::write_file_atomic(r.options.out_dir + "/sweep.json",
                         lra::sweep_manifest_json(r.options, axes, points));
  return r.slurm_path.empty() ? run_points(r.options, points) : write_slurm(r, base, points);
}

}  // namespace

int main(int argc, char** argv) {
  lra::default_passive_wait_for_children();
  CLI::App app{"lra_sweep: run a grid of lra_train configs (or write it as a SLURM job array)"};
  SweepRequest request;
  add_options(app, request);
  CLI11_PARSE(app, argc, argv);
  lra::log::setup("info");
  try {
    return sweep(app, request);
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
