#include "train/run.h"

#include <chrono>
#include <filesystem>

#include <torch/torch.h>

#include "attention_spec/backend_spec.h"
#include "train/device.h"
#include "train/memory_estimate.h"
#include "train/progress.h"
#include "train/run_report.h"
#include "train/trainer.h"
#include "util/atomic_file.h"
#include "util/log.h"

namespace lra {
namespace {

void log_summary(const TaskData& data, const TrainResult& r, double wall) {
  auto [cls, baseline] = majority_class(data.test, data.num_classes);
  log::info(
      log::format("test accuracy %.4f (majority-class baseline %.4f, class %ld); best val "
                  "%.4f at step %ld",
                  r.test.accuracy, baseline, cls, r.best_val_accuracy, r.best_step));
  log::info(
      log::format("train %.1f samples/s, %.2f ms/step median; peak memory %.0f MiB (%s); wall %s",
                  r.train.samples_per_s, r.train.ms_per_step_median, r.peak_memory_mib,
                  r.peak_memory_kind.c_str(), format_duration(wall).c_str()));
}

// Generated data sets are sized by the config alone: refuse one that cannot fit before
// generating it.
void check_memory_before_data(const Config& config) {
  MemoryEstimate data_only;
  data_only.data = synthetic_data_bytes(config);
  check_fits_in_memory(config, data_only, available_memory_bytes());
}

// The model's size needs the data's vocabulary and classes. On a GPU the model lives in device
// memory, which this check does not see: only the data is held against the host's.
void check_memory_before_model(const Config& config, const TaskData& data,
                               const c10::Device& device) {
  const ModelShape shape{data.vocab_size, data.max_length, data.num_classes,
                         data.train.tokens2.defined()};
  MemoryEstimate e = estimate_training_memory(config, shape);
  if (!device.is_cpu()) e.training_state = e.activations = 0;
  check_fits_in_memory(config, e, available_memory_bytes());
}

}  // namespace

RunOutcome run_training(const Config& config, const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  RunOutcome out;
  out.run_dir = config.output.dir + "/" + config.name;
  out.report_path = out.run_dir + "/report.json";
  RunInfo info;
  std::unique_ptr<TaskData> data;
  std::unique_ptr<TrainResult> result;
  auto elapsed = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto record_failure = [&info, &out](const std::string& message) {
    info.status = "failed";
    info.error = message;
    out.error = message;
    log::error(message);
  };
  // A resume writes nothing (config.yaml, report.json) until its checkpoint has been applied:
  // one that fails before that, e.g. a --force resume whose model no longer fits the
  // checkpoint, leaves the run as it was.
  bool started = !options.resume;
  const auto write_config = [&] {
    write_file_atomic(out.run_dir + "/config.yaml", to_yaml(config));
  };
  try {
    std::filesystem::create_directories(out.run_dir);
    info.threads = apply_thread_count(config.threads);
    warn_if_machine_busy();
    info.device = pick_device(config.device);
    if (started) write_config();
    log::info(log::format("run %s on %s (%ld threads), attention %s", out.run_dir.c_str(),
                          info.device.str().c_str(), info.threads, config.attention.type.c_str()));
    if (const std::string exact = attention_exact_reason(config); !exact.empty())
      log::warn(log::format(
          "attention: %s computes exact %s attention in this run (%s), which "
          "costs less here than its approximation; its report and lra_report's "
          "row say so",
          config.attention.type.c_str(),
          attention_backend(config.attention.type).approximates.c_str(), exact.c_str()));
    check_memory_before_data(config);
    data = std::make_unique<TaskData>(load_task_data(config));
    check_memory_before_model(config, *data, info.device);
    log::info(log::format("data: %ld train / %ld val / %ld test, length %ld", data->train.size(),
                          data->val.size(), data->test.size(), data->max_length));
    result = std::make_unique<TrainResult>(
        train(config, *data, info.device, out.run_dir, options.show_progress, options.resume, [&] {
          write_config();
          started = true;
        }));
    info.status = result->interrupted ? "interrupted" : "completed";
    out.ok = !result->interrupted;
    out.interrupted = result->interrupted;
  } catch (const c10::Error& e) {
    record_failure(e.what_without_backtrace());  // what() would add LibTorch's C++ backtrace
  } catch (const std::exception& e) {
    record_failure(e.what());
  }
  info.wall_seconds = elapsed();
  if (!started) {
    log::error("the resume failed before it took effect: nothing in " + out.run_dir +
               " was changed");
    out.report_path.clear();
    return out;
  }
  try {
    write_file_atomic(out.report_path,
                      make_report(config, info, data.get(), result.get()).dump(2) + "\n");
    if (out.ok) log_summary(*data, *result, info.wall_seconds);
    log::info("report: " + out.report_path);
  } catch (const std::exception& e) {
    log::error(std::string("could not write the report: ") + e.what());
    out.ok = false;
    if (out.error.empty()) out.error = e.what();
  }
  return out;
}

}  // namespace lra
