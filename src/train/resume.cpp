#include "train/resume.h"

#include <algorithm>
#include <filesystem>

#include <c10/core/Device.h>

#include "config/schema.h"
#include "train/checkpoint.h"
#include "util/atomic_file.h"
#include "util/log.h"

namespace lra {
namespace fs = std::filesystem;

const std::vector<std::string>& result_neutral_keys() {
  // threads: LibTorch's CPU reductions may split work by thread count, so bit-identical
  // continuation needs the same count; a resume on a machine with fewer cores must still work.
  static const std::vector<std::string> keys = {"name",
                                                "output.dir",
                                                "output.save_checkpoint",
                                                "output.tensorboard",
                                                "output.save_init_state",
                                                "output.save_final_state",
                                                "output.batch_indices",
                                                "threads",
                                                "train.log_every",
                                                "train.checkpoint_every"};
  return keys;
}

std::vector<std::string> result_changing_differences(const Config& run, const Config& now) {
  Config a = run, b = now;
  const auto fa = config_schema(a), fb = config_schema(b);
  const auto& neutral = result_neutral_keys();
  std::vector<std::string> out;
  for (size_t i = 0; i < fa.size() && i < fb.size(); ++i) {
    if (std::find(neutral.begin(), neutral.end(), fa[i].path) != neutral.end()) continue;
    const std::string va = fa[i].text(), vb = fb[i].text();
    if (va != vb)
      out.push_back(fa[i].path + ": " + (va.empty() ? "\"\"" : va) + " in the checkpoint, " +
                    (vb.empty() ? "\"\"" : vb) + " now");
  }
  return out;
}

void set_run_dir(Config& config, const std::string& run_dir) {
  fs::path p = fs::path(run_dir).lexically_normal();
  if (p.has_filename() == false) p = p.parent_path();  // "runs/a/" names runs/a
  config.name = p.filename().string();
  config.output.dir = p.has_parent_path() ? p.parent_path().string() : ".";
}

namespace {

void remove_stale_temps(const std::string& run_dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir, ec))
    if (is_atomic_temp_name(e.path().filename().string())) fs::remove(e.path(), ec);
}

Config checkpoint_config(const std::string& path, const std::string& yaml) {
  try {
    return load_config_text(yaml);
  } catch (const ConfigError& e) {
    throw ResumeError(path + ": its config is no longer valid for this lra_train:\n" + e.what());
  }
}

}  // namespace

void check_resume(const std::string& run_dir, const Config& config, bool force) {
  const std::string path = run_dir + "/" + kCheckpointFile;
  Checkpoint c;
  try {
    c = load_checkpoint(path, c10::Device(c10::kCPU));
  } catch (const std::runtime_error& e) {
    throw ResumeError(e.what());
  }
  const auto diffs = result_changing_differences(checkpoint_config(path, c.config_yaml), config);
  std::string list;
  for (const auto& d : diffs) list += "\n  " + d;
  if (!diffs.empty() && !force)
    throw ResumeError(path +
                      ": the config differs from the checkpoint's in keys that change the "
                      "results:" +
                      list + "\nresume with the run's own config (--resume " + run_dir +
                      "), or pass --force to continue under the new one");
  if (!diffs.empty())
    log::warn("--force: resuming under a config that differs from the checkpoint's:" + list);
  const Config before = checkpoint_config(path, c.config_yaml);
  if (before.threads != config.threads)
    log::warn(
        "threads differs from the checkpoint's run: the continuation may differ from an "
        "uninterrupted run in the last bits");
  remove_stale_temps(run_dir);
}

}  // namespace lra
