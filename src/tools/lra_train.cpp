// lra_train: trains, evaluates and tests one model described by a YAML config.
#include <filesystem>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "attention_spec/backend_spec.h"
#include "config/config.h"
#include "train/resume.h"
#include "train/run.h"
#include "train/run_folder.h"
#include "train/stop_signal.h"
#include "util/allocator.h"
#include "util/log.h"
#include "util/openmp_policy.h"

namespace {

struct Args {
  std::string config_path;
  std::vector<std::string> overrides;
  bool resume = false;
  std::string resume_dir;  // --resume DIR; empty: the config's output.dir/name
  bool force = false;
  bool overwrite = false;
};

// The config to run: --config (or, resuming a run folder without one, its config.yaml) with
// the --set overrides; resuming, also checks the run's checkpoint. Throws ConfigError or
// ResumeError.
lra::Config resolve_config(const Args& a) {
  std::string path = a.config_path;
  if (path.empty() && !a.resume_dir.empty()) path = a.resume_dir + "/config.yaml";
  if (path.empty() && a.overrides.empty())
    throw lra::ConfigError(a.resume ? "--resume: give the run folder (--resume runs/<name>) or the "
                                      "run's config (--config FILE --resume)"
                                    : "--config: required (e.g. --config configs/quickstart.yaml)");
  lra::Config config =
      path.empty() ? lra::load_config_text("", a.overrides) : lra::load_config(path, a.overrides);
  if (a.resume && !a.resume_dir.empty()) lra::set_run_dir(config, a.resume_dir);
  return config;
}

// Locks the run folder for this process, then checks that it may be written as asked: a
// resume needs its checkpoint under a compatible config, a new run an empty folder (or
// --overwrite). Throws RunFolderError or ResumeError before anything in the folder changes.
std::unique_ptr<lra::FolderLock> claim_run_folder(const Args& a, const lra::Config& config) {
  const std::string run_dir = config.output.dir + "/" + config.name;
  // A resume of a folder that is not there: say so (no checkpoint) without creating it.
  if (a.resume && !std::filesystem::is_directory(run_dir))
    lra::check_resume(run_dir, config, a.force);
  auto lock = lra::lock_run_folder(run_dir);
  if (a.resume)
    lra::check_resume(run_dir, config, a.force);
  else
    lra::prepare_new_run_folder(run_dir, a.overwrite);
  return lock;
}

}  // namespace

int main(int argc, char** argv) {
  lra::wait_passively_unless_set(argv);
  CLI::App app{"lra_train: train a Transformer with a selectable attention backend on an LRA task"};
  Args args;
  std::string log_level = "info";
  bool quiet = false, print_config = false, reference = false;
  app.add_option("--config,-c", args.config_path,
                 "YAML config (or a report.json to rerun its config)");
  app.add_option("--set,-s", args.overrides, "Override a key: --set train.lr=3e-4 (repeatable)");
  auto* resume =
      app.add_option("--resume", args.resume_dir,
                     "Continue a run from its checkpoint.pt: --resume runs/<name>, or --resume "
                     "with --config for the config's output.dir/name")
          ->expected(0, 1);
  app.add_flag("--force", args.force,
               "With --resume: continue even if the config changes results (listed keys)");
  app.add_flag("--overwrite", args.overwrite,
               "Start a new run in a folder that holds one, deleting the old run's files "
               "(without it, such a run is refused)");
  app.add_flag("--quiet,-q", quiet, "No progress line or periodic log lines");
  app.add_option("--log-level", log_level, "trace | debug | info | warn | error | off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("--print-config", print_config, "Print the resolved config as YAML and exit");
  app.add_flag("--config-reference", reference, "Print every config key as Markdown and exit");
  bool backends = false, backends_summary = false;
  app.add_flag("--backends", backends,
               "Print the registered attention backends (what each computes and reads) as a "
               "Markdown table and exit");
  app.add_flag(
      "--backends-summary", backends_summary,
      "Print the README's shorter backend table (type, what, cost, approximates) and exit");
  CLI11_PARSE(app, argc, argv);
  args.resume = resume->count() > 0;

  if (reference) {
    std::cout << lra::config_reference_markdown();
    return 0;
  }
  if (backends || backends_summary) {
    std::cout << (backends ? lra::attention_backend_table_markdown()
                           : lra::attention_backend_summary_markdown());
    return 0;
  }
  lra::log::setup(quiet && log_level == "info" ? "warn" : log_level);
  lra::retain_freed_memory();
  lra::Config config;
  std::unique_ptr<lra::FolderLock> run_folder;
  try {
    if (args.force && !args.resume)
      throw lra::ConfigError("--force: only meaningful with --resume");
    if (args.overwrite && args.resume)
      throw lra::ConfigError(
          "--overwrite with --resume: --resume continues the run in the folder, --overwrite "
          "deletes it and starts anew; pass one of them");
    config = resolve_config(args);
    if (print_config) {
      std::cout << lra::to_yaml(config);
      return 0;
    }
    run_folder = claim_run_folder(args, config);
  } catch (const lra::ConfigError& e) {
    std::cerr << "config error:\n" << e.what() << "\n";
    return 2;
  } catch (const lra::ResumeError& e) {
    std::cerr << "cannot resume:\n" << e.what() << "\n";
    return 2;
  } catch (const lra::RunFolderError& e) {
    std::cerr << "run folder:\n" << e.what() << "\n";
    return 2;
  }
  lra::install_stop_signal_handlers();
  lra::RunOptions options;
  options.show_progress = !quiet;
  options.resume = args.resume;
  auto outcome = lra::run_training(config, options);
  if (outcome.interrupted) return 128 + lra::stop_signal();
  return outcome.ok ? 0 : 1;
}
