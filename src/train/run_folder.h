// What may happen to a run folder (<output.dir>/<name>) before a run writes into it: one
// lra_train at a time, and a new run never replaces an existing one unless told to.
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/folder_lock.h"

namespace lra {

// The run folder cannot be used as asked. Nothing in it has been changed.
class RunFolderError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The files of `run_dir` that lra_train writes (config.yaml, report.json, metrics.jsonl,
// checkpoint.pt, best.pt, last.pt, the TensorBoard events file, temporaries of atomic writes),
// by name; empty when the folder is missing or holds none of them.
std::vector<std::string> run_files(const std::string& run_dir);

// Creates run_dir if missing and locks it for this process (released at exit, however the
// process ends). Throws RunFolderError naming the holder's PID when another process has it.
std::unique_ptr<FolderLock> lock_run_folder(const std::string& run_dir);

// A new run into run_dir: refused when the folder holds a run's files, unless `overwrite`, which
// deletes them first (and only them). Throws RunFolderError.
void prepare_new_run_folder(const std::string& run_dir, bool overwrite);

}  // namespace lra
