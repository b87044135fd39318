#include "train/run_report.h"

#include <unistd.h>

#include "attention_spec/backend_spec.h"
#include "train/system_info.h"
#include "util/build_info.h"
#include "util/openmp_policy.h"

namespace lra {
namespace {

using json = nlohmann::ordered_json;

json eval_json(const EvalResult& r) {
  return {
      {"accuracy", r.accuracy}, {"loss", r.loss}, {"examples", r.examples}, {"seconds", r.seconds}};
}

json data_json(const TaskData& d) {
  auto [majority, majority_accuracy] = majority_class(d.test, d.num_classes);
  return {{"task", d.task},
          {"vocab_size", d.vocab_size},
          {"num_classes", d.num_classes},
          {"max_length", d.max_length},
          {"train_examples", d.train.size()},
          {"val_examples", d.val.size()},
          {"test_examples", d.test.size()},
          {"test_majority_class", majority},
          {"test_majority_accuracy", majority_accuracy}};
}

json result_json(const TrainResult& r) {
  json history = json::array();
  for (const auto& p : r.history)
    history.push_back({{"step", p.step}, {"accuracy", p.result.accuracy}, {"loss", p.result.loss}});
  const auto& t = r.train;
  return {{"parameters", r.parameters},
          {"steps_done", r.steps_done},
          {"nonfinite_steps_skipped", r.nonfinite_steps_skipped},
          {"validation_history", history},
          {"best", {{"val_accuracy", r.best_val_accuracy}, {"step", r.best_step}}},
          {"test", r.interrupted ? json(nullptr) : eval_json(r.test)},
          {"train_throughput",
           {{"samples_per_s", t.samples_per_s},
            {"tokens_per_s", t.tokens_per_s},
            {"real_tokens_per_s", t.real_tokens_per_s},
            {"ms_per_step_median", t.ms_per_step_median},
            {"ms_per_step_p90", t.ms_per_step_p90},
            {"measured_steps", t.measured_steps},
            {"warmup_steps_excluded", t.warmup_steps},
            {"model_gflop_per_step", t.model_gflop_per_step},
            {"achieved_gflops", t.achieved_gflops},
            {"matmul_gflops", t.matmul_gflops},
            {"utilisation", t.utilisation}}},
          {"eval_throughput", {{"samples_per_s", r.eval_samples_per_s}}},
          {"peak_memory", {{"mib", r.peak_memory_mib}, {"kind", r.peak_memory_kind}}}};
}

}  // namespace

json environment_json(const c10::Device& device, int64_t threads) {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  return {{"lra_train_version", build_info::kVersion}, {"git_commit", build_info::kGitCommit},
          {"libtorch_version", libtorch_version()},    {"device", device.str()},
          {"device_name", device_name(device)},        {"threads", threads},
          {"omp_wait_policy", openmp_wait_policy()},   {"compiler", build_info::kCompiler},
          {"build_type", build_info::kBuildType},      {"hostname", host}};
}

std::string attention_exact_reason(const Config& config) {
  return attention_backend(config.attention.type)
      .exact_reason(config.attention, config.attention_length());
}

json make_report(const Config& config, const RunInfo& info, const TaskData* data,
                 const TrainResult* result) {
  json report = {{"format", kReportFormat},
                 {"version", kReportVersion},
                 {"name", config.name},
                 {"status", info.status}};
  if (!info.error.empty()) report["error"] = info.error;
  report["config"] = json::parse(to_json_text(config));
  const std::string exact = attention_exact_reason(config);
  if (!exact.empty())
    report["attention_exact"] = {
        {"computes", attention_backend(config.attention.type).approximates}, {"because", exact}};
  report["environment"] = environment_json(info.device, info.threads);
  if (data) report["data"] = data_json(*data);
  if (result) {
    const json measured = result_json(*result);
    for (const auto& [key, value] : measured.items()) report[key] = value;
    if (data && !result->interrupted)
      report["baseline_test_accuracy"] = report["data"]["test_majority_accuracy"];
  }
  report["wall_time_s"] = info.wall_seconds;
  return report;
}

}  // namespace lra
