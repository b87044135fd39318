#include "train/checkpoint.h"

#include <sys/stat.h>
#include <sstream>
#include <stdexcept>

#include <torch/serialize.h>
#include <nlohmann/json.hpp>

#include "train/optimizer_state.h"
#include "util/atomic_file.h"

namespace lra {
namespace {

using nlohmann::json;
using torch::serialize::InputArchive;
using torch::serialize::OutputArchive;

json history_json(const std::vector<ValidationPoint>& history) {
  json out = json::array();
  for (const auto& p : history)
    out.push_back({{"step", p.step},
                   {"accuracy", p.result.accuracy},
                   {"loss", p.result.loss},
                   {"examples", p.result.examples},
                   {"seconds", p.result.seconds}});
  return out;
}

std::vector<ValidationPoint> history_from(const json& j) {
  std::vector<ValidationPoint> out;
  for (const auto& p : j)
    out.push_back({p.at("step").get<int64_t>(),
                   {p.at("accuracy").get<double>(), p.at("loss").get<double>(),
                    p.at("examples").get<int64_t>(), p.at("seconds").get<double>()}});
  return out;
}

// Doubles go through JSON exactly: nlohmann writes the shortest text that reads back the same.
json state_json(const TrainState& s) {
  return {{"step", s.step},
          {"batches_consumed", s.batches_consumed},
          {"history", history_json(s.history)},
          {"best_step", s.best_step},
          {"best_val_accuracy", s.best_val_accuracy},
          {"nonfinite",
           {{"skipped", s.nonfinite.skipped},
            {"last_finite_loss", s.nonfinite.last_finite_loss},
            {"last_finite_step", s.nonfinite.last_finite_step}}},
          {"window",
           {{"loss_sum", s.window.loss_sum},
            {"correct", s.window.correct},
            {"count", s.window.count},
            {"real_tokens", s.window.real_tokens}}},
          {"metrics_offset", s.metrics_offset},
          {"events_offset", s.events_offset},
          {"batches_offset", s.batches_offset},
          {"timing",
           {{"samples", s.timing.samples},
            {"real_tokens", s.timing.real_tokens},
            {"seconds", s.timing.seconds},
            {"eval_examples", s.timing.eval_examples},
            {"eval_seconds", s.timing.eval_seconds}}}};
}

TrainState state_from(const json& j) {
  TrainState s;
  s.step = j.at("step").get<int64_t>();
  s.batches_consumed = j.at("batches_consumed").get<int64_t>();
  s.history = history_from(j.at("history"));
  s.best_step = j.at("best_step").get<int64_t>();
  s.best_val_accuracy = j.at("best_val_accuracy").get<double>();
  const json& n = j.at("nonfinite");
  s.nonfinite = {n.at("skipped").get<int64_t>(), n.at("last_finite_loss").get<double>(),
                 n.at("last_finite_step").get<int64_t>()};
  const json& w = j.at("window");
  s.window = {w.at("loss_sum").get<double>(), w.at("correct").get<double>(),
              w.at("count").get<double>(), w.at("real_tokens").get<double>()};
  s.metrics_offset = j.at("metrics_offset").get<int64_t>();
  // Absent in checkpoints written before TensorBoard logging: the resumed run starts a new file.
  s.events_offset = j.value("events_offset", int64_t{0});
  s.batches_offset = j.value("batches_offset", int64_t{0});  // likewise for batches.jsonl
  const json& t = j.at("timing");
  s.timing.samples = t.at("samples").get<double>();
  s.timing.real_tokens = t.at("real_tokens").get<double>();
  s.timing.seconds = t.at("seconds").get<double>();
  s.timing.eval_examples = t.at("eval_examples").get<double>();
  s.timing.eval_seconds = t.at("eval_seconds").get<double>();
  return s;
}

// Each tensor under its name in a sub-archive `key`.
void write_tensors(OutputArchive& archive, const std::string& key, const NamedTensors& tensors) {
  OutputArchive sub(archive.compilation_unit());
  for (const auto& item : tensors) sub.write(item.key(), item.value(), true);
  archive.write(key, sub);
}

NamedTensors read_tensors(InputArchive& archive, const std::string& key) {
  InputArchive sub;
  archive.read(key, sub);
  NamedTensors out;
  for (const auto& name : sub.keys()) {
    torch::Tensor t;
    sub.read(name, t, true);
    out.insert(name, std::move(t));
  }
  return out;
}

std::string to_bytes(OutputArchive& archive) {
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

json read_meta(InputArchive& in) {
  c10::IValue meta_text;
  in.read("meta", meta_text);
  json meta = json::parse(meta_text.toStringRef());
  if (meta.at("format").get<std::string>() != kCheckpointFormat)
    throw std::runtime_error("format is not " + std::string(kCheckpointFormat));
  if (meta.at("version").get<int>() > kCheckpointVersion)
    throw std::runtime_error("written by a newer lra_train (checkpoint version " +
                             std::to_string(meta.at("version").get<int>()) + ")");
  return meta;
}

// Version 1 stored the tensors as "0", "1", ... in registration order: matching them by
// position could put one tensor into another of the same shape without an error.
void refuse_positional(const std::string& path, const json& meta) {
  const int version = meta.at("version").get<int>();
  if (version >= kCheckpointVersion) return;
  throw std::runtime_error(
      path + ": checkpoint version " + std::to_string(version) +
      " predates tensors stored by name (version " + std::to_string(kCheckpointVersion) +
      "), so this lra_train cannot resume it safely; start the run again without --resume (it "
      "restarts from step 0 in the same folder), or finish it with the lra_train that wrote it");
}

Checkpoint read_archive(InputArchive& in, const json& meta) {
  Checkpoint c;
  c.config_yaml = meta.at("config").get<std::string>();
  c.state = state_from(meta.at("state"));
  c.model = read_tensors(in, "model");
  c.best = read_tensors(in, "best");
  c.optimizer = read_tensors(in, "optimizer");
  torch::Tensor step_ms;
  in.read("step_ms", step_ms, true);
  step_ms = step_ms.to(torch::kCPU, torch::kFloat64).contiguous();
  c.state.timing.step_ms.assign(step_ms.data_ptr<double>(),
                                step_ms.data_ptr<double>() + step_ms.numel());
  in.read("rng_cpu", c.rng.cpu, true);
  in.try_read("rng_cuda", c.rng.cuda, true);
  return c;
}

// Runs `read`, turning its errors into "<path>: not a readable checkpoint (...)".
template <typename Read>
auto readable(const std::string& path, Read read) {
  try {
    return read();
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": not a readable checkpoint (" + e.what_without_backtrace() +
                             ")");
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": not a readable checkpoint (" + e.what() + ")");
  }
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  const json meta = {{"format", kCheckpointFormat},
                     {"version", kCheckpointVersion},
                     {"config", c.config_yaml},
                     {"state", state_json(c.state)}};
  OutputArchive archive;
  archive.write("meta", c10::IValue(meta.dump()));
  write_tensors(archive, "model", c.model);
  write_tensors(archive, "best", c.best);
  write_tensors(archive, "optimizer", c.optimizer);
  archive.write("step_ms", torch::tensor(c.state.timing.step_ms, torch::kFloat64), true);
  archive.write("rng_cpu", c.rng.cpu, true);
  if (c.rng.cuda.defined()) archive.write("rng_cuda", c.rng.cuda, true);
  write_file_atomic(path, to_bytes(archive));
}

Checkpoint load_checkpoint(const std::string& path, const c10::Device& device) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw std::runtime_error(path +
                             ": no checkpoint to resume from (the run was not started, or "
                             "stopped before its first checkpoint; see train.checkpoint_every)");
  InputArchive in;
  const json meta = readable(path, [&] {
    in.load_from(path, device);
    return read_meta(in);
  });
  refuse_positional(path, meta);
  return readable(path, [&] { return read_archive(in, meta); });
}

void apply_checkpoint(const Checkpoint& c, const std::string& path, torch::nn::Module& model,
                      torch::optim::AdamW& optimizer) {
  check_tensors(c.model, snapshot_specs(model), path);
  check_tensors(c.best, snapshot_specs(model), path + " (best model)");
  check_tensors(c.optimizer, adamw_state_specs(optimizer, model), path + " (AdamW state)");
  restore(model, c.model, path);
  restore_adamw_state(optimizer, model, c.optimizer, path + " (AdamW state)");
}

}  // namespace lra
