// report.json: the resolved config, the environment, and everything the run measured.
#pragma once
#include <string>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "data/dataset.h"
#include "train/trainer.h"

namespace lra {

struct RunInfo {
  std::string status;  // completed | interrupted | failed
  std::string error;   // why a failed run stopped
  double wall_seconds = 0.0;
  c10::Device device = c10::Device(c10::kCPU);
  int64_t threads = 0;
};

constexpr const char* kReportFormat = "lra_train.report";
constexpr int kReportVersion = 1;

// Why config's attention computes the exact attention it approximates at the task's length
// (exact_forms.h), "" when it approximates: logged at the start, in report.json as
// attention_exact.
std::string attention_exact_reason(const Config& config);

// `data` and `result` may be null for runs that failed before producing them.
nlohmann::ordered_json make_report(const Config& config, const RunInfo& info, const TaskData* data,
                                   const TrainResult* result);

nlohmann::ordered_json environment_json(const c10::Device& device, int64_t threads);

}  // namespace lra
