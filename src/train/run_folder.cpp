#include "train/run_folder.h"

#include <algorithm>
#include <filesystem>

#include "train/checkpoint.h"
#include "util/atomic_file.h"
#include "util/log.h"

namespace lra {
namespace fs = std::filesystem;

namespace {

bool is_run_file(const std::string& name) {
  static const char* const kNames[] = {"config.yaml",
                                       "report.json",
                                       "metrics.jsonl",
                                       kCheckpointFile,
                                       "best.pt",
                                       "last.pt",
                                       "events.out.tfevents.lra_train",
                                       "init.safetensors",
                                       "final.safetensors",
                                       "batches.jsonl"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames) ||
         is_atomic_temp_name(name);
}

}  // namespace

std::vector<std::string> run_files(const std::string& run_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (is_run_file(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::unique_ptr<FolderLock> lock_run_folder(const std::string& run_dir) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec)
    throw RunFolderError(run_dir + ": cannot create the run folder: " + ec.message() +
                         " (check output.dir and name)");
  try {
    return std::make_unique<FolderLock>(run_dir);
  } catch (const FolderBusyError& e) {
    const std::string who = e.holder_pid > 0
                                ? "another process (PID " + std::to_string(e.holder_pid) + ")"
                                : "another process";
    throw RunFolderError(run_dir + ": " + who +
                         " is using this run folder; two writers would interleave its files. "
                         "Wait for it to end" +
                         (e.holder_pid > 0
                              ? " (or stop it: kill " + std::to_string(e.holder_pid) + ")"
                              : std::string()) +
                         ", or give this run another name (--set name=...)");
  } catch (const std::runtime_error& e) {
    throw RunFolderError(e.what());
  }
}

void prepare_new_run_folder(const std::string& run_dir, bool overwrite) {
  const auto names = run_files(run_dir);
  if (names.empty()) return;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  if (!overwrite)
    throw RunFolderError(run_dir + ": already holds a run (" + list +
                         "). --resume continues it; --overwrite deletes it and starts a new "
                         "run there; or give this run another name (--set name=...)");
  for (const auto& n : names) {
    std::error_code ec;
    fs::remove(fs::path(run_dir) / n, ec);
    if (ec)
      throw RunFolderError(run_dir + "/" + n +
                           ": cannot delete it for --overwrite: " + ec.message());
  }
  log::warn("--overwrite: deleted the previous run in " + run_dir + " (" + list + ")");
}

}  // namespace lra
