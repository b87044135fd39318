#include "train/tensorboard_log.h"

#include <chrono>

#include "train/tensorboard_event.h"

namespace lra {
namespace {

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string tensorboard_events_path(const std::string& run_dir) {
  return run_dir + "/events.out.tfevents.lra_train";
}

TensorBoardLog::TensorBoardLog(const std::string& run_dir, int64_t offset) {
  const std::string path = tensorboard_events_path(run_dir), what = "TensorBoard event file";
  if (offset > 0) {
    file_ = std::make_unique<AppendLog>(path, what, offset);
    return;
  }
  file_ = std::make_unique<AppendLog>(path, what);
  file_->append(tensorboard::file_version_event(wall_time()));
}

void TensorBoardLog::scalar(std::string_view tag, int64_t step, double value) {
  file_->append(tensorboard::scalar_event(wall_time(), step, tag, static_cast<float>(value)));
}

void TensorBoardLog::text(std::string_view tag, int64_t step, std::string_view markdown) {
  file_->append(tensorboard::text_event(wall_time(), step, tag, markdown));
}

}  // namespace lra
