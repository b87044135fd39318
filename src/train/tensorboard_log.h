// A run folder's TensorBoard event file, written beside metrics.jsonl and cut back to the
// checkpoint's offset on resume like it, so that the curves of a resumed run hold each step
// once. One run folder is one TensorBoard run: `tensorboard --logdir runs/` compares them.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/append_log.h"

namespace lra {

// The one event file of a run folder (a fixed name, so that a resume finds it).
std::string tensorboard_events_path(const std::string& run_dir);

class TensorBoardLog {
 public:
  // A new file, opened with its file_version event.
  explicit TensorBoardLog(const std::string& run_dir) : TensorBoardLog(run_dir, 0) {}
  // The file of a resumed run, keeping its first `offset` bytes (a new file when 0: the run
  // that wrote the checkpoint had TensorBoard off).
  TensorBoardLog(const std::string& run_dir, int64_t offset);

  void scalar(std::string_view tag, int64_t step, double value);
  void text(std::string_view tag, int64_t step, std::string_view markdown);
  int64_t offset() const { return file_->offset(); }

 private:
  std::unique_ptr<AppendLog> file_;
};

}  // namespace lra
