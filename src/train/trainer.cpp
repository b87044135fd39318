#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <numeric>
#include <sstream>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "attention/registry.h"
#include "data/batch_prefetcher.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/model_state.h"
#include "train/nonfinite_guard.h"
#include "train/optimizer_state.h"
#include "train/progress.h"
#include "train/safetensors_file.h"
#include "train/schedule.h"
#include "train/stop_signal.h"
#include "train/system_info.h"
#include "train/tensorboard_log.h"
#include "train/training_step.h"
#include "train/utilisation.h"
#include "util/append_log.h"
#include "util/atomic_file.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/stats.h"

namespace lra {
namespace {

using Clock = std::chrono::steady_clock;
enum SeedStream : uint64_t { kShuffleStream = 2, kModelStream = 3 };

void set_optimizer(torch::optim::AdamW& opt, double lr, double beta1) {
  for (auto& group : opt.param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    o.lr(lr);
    o.betas({beta1, std::get<1>(o.betas())});
  }
}

}  // namespace

int64_t timing_warmup_steps(int64_t steps) {
  return std::min<int64_t>(10, steps / 5);
}

EvalResult evaluate(Classifier& model, const Split& split, int64_t batch_size, int64_t max_batches,
                    const c10::Device& device) {
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  model->eval();
  const auto start = Clock::now();
  EvalResult r;
  double loss_sum = 0.0, correct = 0.0;
  int64_t batches = 0;
  for (int64_t begin = 0; begin < split.size(); begin += batch_size) {
    if (max_batches > 0 && batches++ == max_batches) break;
    std::vector<int64_t> idx(static_cast<size_t>(std::min(batch_size, split.size() - begin)));
    std::iota(idx.begin(), idx.end(), begin);
    auto batch = gather_batch(split, idx);
    auto labels = batch.labels.to(device);
    auto logits =
        model->forward(batch.tokens.to(device),
                       batch.tokens2.defined() ? batch.tokens2.to(device) : torch::Tensor());
    loss_sum +=
        torch::nn::functional::cross_entropy(
            logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
    correct += (logits.argmax(1) == labels).sum().item<double>();
    r.examples += static_cast<int64_t>(idx.size());
  }
  synchronize(device);
  model->train(was_training);
  r.accuracy = correct / static_cast<double>(std::max<int64_t>(r.examples, 1));
  r.loss = loss_sum / static_cast<double>(std::max<int64_t>(r.examples, 1));
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

namespace {

// Module archive bytes (torch::save format), for best.pt and last.pt.
std::string module_bytes(torch::nn::Module& module) {
  torch::serialize::OutputArchive archive;
  module.save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

// One run of the training loop, fresh or resumed from run_dir/checkpoint.pt.
class TrainLoop {
 public:
  TrainLoop(const Config& config, const TaskData& data, const c10::Device& device,
            const std::string& run_dir, bool show_progress)
      : config_(config),
        t_(config.train),
        data_(data),
        device_(device),
        run_dir_(run_dir),
        show_progress_(show_progress),
        schedule_(config.train),
        nonfinite_(t_.on_nonfinite, t_.max_nonfinite),
        eval_batch_(config.eval.batch_size > 0 ? config.eval.batch_size : t_.batch_size) {}

  TrainResult run(bool resume, const std::function<void()>& on_start);

 private:
  void build_model(bool resume);
  void resume_from_checkpoint();
  void train_step(int64_t step);
  void log_window(int64_t step, double seconds, double grad_norm);
  void validate(int64_t step);
  void write_checkpoint();
  void open_logs(bool resume);
  void log_scalars(const std::string& prefix, int64_t step, const nlohmann::ordered_json& values);
  void write_model(const std::string& file, const NamedTensors* state);
  TrainResult finish(bool interrupted);

  const Config& config_;
  const TrainConfig& t_;
  const TaskData& data_;
  c10::Device device_;
  std::string run_dir_;
  bool show_progress_;
  Schedule schedule_;
  NonfiniteGuard nonfinite_;
  int64_t eval_batch_;
  Classifier model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> opt_;
  std::unique_ptr<MetricsLog> metrics_;
  std::unique_ptr<TensorBoardLog> tensorboard_;  // null when output.tensorboard is off
  std::unique_ptr<AppendLog> batch_log_;         // null when output.batch_indices is off
  std::unique_ptr<BatchPrefetcher> batches_;
  std::unique_ptr<Progress> progress_;
  TrainState state_;
  NamedTensors best_state_;
  int64_t first_timed_step_ = 0;  // earlier steps of this process are left out of the timing
  double step_flops_ = 0.0;       // matmul FLOPs of one step (forward + backward)
  double matmul_gflops_ = 0.0;    // this device's large-matmul rate, measured at the start
  double window_seconds_ = 0.0;   // time of the steps in the current metrics.jsonl interval
  int64_t window_steps_ = 0;
};

void TrainLoop::build_model(bool resume) {
  torch::manual_seed(derive_seed(static_cast<uint64_t>(config_.seed), kModelStream));
  model_ = Classifier(config_.model, attention_factory(config_.attention), data_.vocab_size,
                      data_.max_length, data_.num_classes, data_.train.tokens2.defined(),
                      static_cast<uint64_t>(config_.seed));
  // Counted before any state is loaded: SchoenbAt's count depends on its draws, and a resumed
  // run must report what the uninterrupted run reported.
  const FlopCount flops = model_->matmul_flops(config_.attention, t_.batch_size, data_.max_length);
  step_flops_ = flops.forward + flops.backward;
  model_->to(device_);
  // A resumed run takes everything from its checkpoint instead.
  const std::string& init = config_.model.init_state;
  if (!init.empty() && !resume) {
    restore(*model_, load_safetensors(init), init);
    log::info("model.init_state: started from " + init);
  }
  model_->train();
  opt_ = make_optimizer(model_, t_);
  best_state_ = snapshot(*model_);
}

// Everything the checkpoint holds replaces what build_model made; the RNG streams continue
// where the checkpoint left them, so the remaining steps draw what they would have drawn.
void TrainLoop::resume_from_checkpoint() {
  const std::string path = run_dir_ + "/" + kCheckpointFile;
  Checkpoint c = load_checkpoint(path, device_);
  apply_checkpoint(c, path, *model_, *opt_);
  best_state_ = std::move(c.best);
  restore_rng_state(c.rng, device_);
  nonfinite_.restore(c.state.nonfinite);
  state_ = std::move(c.state);
  log::info(log::format("resumed from %s/%s at step %ld of %ld", run_dir_.c_str(), kCheckpointFile,
                        state_.step, t_.steps));
  // A best.pt written after the checkpoint (before the crash) would be from steps about to be
  // redone: put back the checkpoint's.
  if (config_.output.save_checkpoint && state_.best_step > 0)
    write_model(run_dir_ + "/best.pt", &best_state_);
}

void TrainLoop::write_model(const std::string& path, const NamedTensors* state) {
  if (!state) {
    write_file_atomic(path, module_bytes(*model_));
    return;
  }
  const NamedTensors current = snapshot(*model_);
  restore(*model_, *state, "the best model");
  const std::string bytes = module_bytes(*model_);
  restore(*model_, current, "the current model");
  write_file_atomic(path, bytes);
}

void TrainLoop::write_checkpoint() {
  Checkpoint c;
  c.config_yaml = to_yaml(config_);
  c.state = state_;
  c.state.nonfinite = nonfinite_.state();
  c.state.metrics_offset = metrics_->offset();
  // Off in this process: keep the offset of the run that had it on, for a later resume.
  c.state.events_offset = tensorboard_ ? tensorboard_->offset() : state_.events_offset;
  c.state.batches_offset = batch_log_ ? batch_log_->offset() : state_.batches_offset;
  c.model = snapshot(*model_);
  c.best = best_state_;
  c.optimizer = adamw_state(*opt_, *model_);
  c.rng = capture_rng_state(device_);
  save_checkpoint(run_dir_ + "/" + kCheckpointFile, c);
}

void TrainLoop::train_step(int64_t step) {
  set_optimizer(*opt_, schedule_.lr(step - 1), schedule_.beta1(step - 1));
  Batch batch = batches_->next();
  ++state_.batches_consumed;
  if (batch_log_)
    batch_log_->append(nlohmann::ordered_json{{"step", step}, {"indices", batch.indices}}.dump() +
                       "\n");
  const auto start = Clock::now();
  const StepOutcome s = training_step(model_, *opt_, nonfinite_, batch, t_, device_, step);
  synchronize(device_);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  auto& timing = state_.timing;
  if (s.applied && step > first_timed_step_) {  // a skipped step counts in no average or timing
    timing.step_ms.push_back(seconds * 1e3);
    timing.seconds += seconds;
    timing.samples += s.stats.count;
    timing.real_tokens += s.stats.real_tokens;
  }
  window_seconds_ += seconds;
  ++window_steps_;
  auto& window = state_.window;
  if (s.applied) {
    window.loss_sum += s.stats.loss_sum;
    window.correct += s.stats.correct;
    window.count += s.stats.count;
    progress_->update(step, s.stats.loss_sum / s.stats.count, s.stats.correct / s.stats.count);
  }
  state_.step = step;
  if ((step % t_.log_every == 0 || step == t_.steps) && window.count > 0)
    log_window(step, seconds, s.grad_norm);
}

// The metrics.jsonl line of the steps since the last one, which then starts a new window.
void TrainLoop::log_window(int64_t step, double seconds, double grad_norm) {
  auto& window = state_.window;
  nlohmann::ordered_json line = {{"step", step},
                                 {"loss", window.loss_sum / window.count},
                                 {"accuracy", window.correct / window.count},
                                 {"lr", schedule_.lr(step - 1)},
                                 {"ms_per_step", seconds * 1e3},
                                 {"grad_norm", grad_norm}};  // this step's, before clipping
  if (window_seconds_ > 0 && matmul_gflops_ > 0) {
    const double gflops = step_flops_ * static_cast<double>(window_steps_) / window_seconds_ / 1e9;
    line["achieved_gflops"] = gflops;
    line["utilisation"] = gflops / matmul_gflops_;
  }
  if (window_seconds_ > 0) line["samples_per_s"] = window.count / window_seconds_;
  window_seconds_ = 0.0, window_steps_ = 0;
  metrics_->append(line);
  log_scalars("train/", step, line);
  if (!progress_->on_terminal() && show_progress_)
    log::info(log::format("step %ld/%ld loss %.4f acc %.3f lr %.3g", step, t_.steps,
                          window.loss_sum / window.count, window.correct / window.count,
                          schedule_.lr(step - 1)));
  window = StepStats{};
}

void TrainLoop::validate(int64_t step) {
  EvalResult v = evaluate(model_, data_.val, eval_batch_, config_.eval.batches, device_);
  state_.timing.eval_examples += static_cast<double>(v.examples);
  state_.timing.eval_seconds += v.seconds;
  state_.history.push_back({step, v});
  metrics_->append({{"step", step}, {"val_accuracy", v.accuracy}, {"val_loss", v.loss}});
  log_scalars("val/", step, {{"accuracy", v.accuracy}, {"loss", v.loss}});
  const bool eligible =
      static_cast<double>(step) >= config_.eval.best_after * static_cast<double>(t_.steps);
  const bool better = eligible && v.accuracy > state_.best_val_accuracy;
  if (better) {
    state_.best_val_accuracy = v.accuracy;
    state_.best_step = step;
    best_state_ = snapshot(*model_);
    if (config_.output.save_checkpoint) write_model(run_dir_ + "/best.pt", nullptr);
  }
  progress_->clear();
  log::info(log::format("step %ld/%ld: val accuracy %.4f (loss %.4f)%s", step, t_.steps, v.accuracy,
                        v.loss, better ? " *best*" : ""));
}

void TrainLoop::open_logs(bool resume) {
  const std::string metrics_path = run_dir_ + "/metrics.jsonl";
  metrics_ = resume ? std::make_unique<MetricsLog>(metrics_path, state_.metrics_offset)
                    : std::make_unique<MetricsLog>(metrics_path);
  if (config_.output.batch_indices) {
    const std::string path = run_dir_ + "/batches.jsonl", what = "batch index log";
    batch_log_ = resume ? std::make_unique<AppendLog>(path, what, state_.batches_offset)
                        : std::make_unique<AppendLog>(path, what);
  }
  if (!config_.output.tensorboard) return;
  const int64_t offset = resume ? state_.events_offset : 0;
  tensorboard_ = std::make_unique<TensorBoardLog>(run_dir_, offset);
  if (offset == 0) {
    // Indented four spaces: a Markdown code block, so the YAML keeps its layout.
    std::string markdown;
    std::istringstream yaml(to_yaml(config_));
    for (std::string line; std::getline(yaml, line);) markdown += "    " + line + "\n";
    tensorboard_->text("config", 0, markdown);
  }
}

// Every number of `values` but "step", as the scalar <prefix><key>.
void TrainLoop::log_scalars(const std::string& prefix, int64_t step,
                            const nlohmann::ordered_json& values) {
  if (!tensorboard_) return;
  for (const auto& [key, value] : values.items())
    if (key != "step" && value.is_number())
      tensorboard_->scalar(prefix + key, step, value.get<double>());
}

TrainResult TrainLoop::run(bool resume, const std::function<void()>& on_start) {
  // Before build_model seeds the RNGs: the probe may not change what the run draws.
  // The yardstick in the precision the step's matmuls run in (bf16 autocast on CUDA only).
  const bool bf16 = device_.is_cuda() && t_.precision == "bf16";
  matmul_gflops_ =
      device_.is_cuda()
          ? measure_matmul_gflops(device_, 4096, 10, bf16 ? torch::kBFloat16 : torch::kFloat)
          : measure_matmul_gflops(device_, 1024, 5);
  build_model(resume);
  if (resume) resume_from_checkpoint();
  if (on_start) on_start();
  if (config_.output.save_init_state && !resume)
    save_safetensors(run_dir_ + "/init.safetensors", snapshot(*model_));
  open_logs(resume);
  batches_ = std::make_unique<BatchPrefetcher>(
      data_.train, t_.batch_size, derive_seed(static_cast<uint64_t>(config_.seed), kShuffleStream),
      4, state_.batches_consumed);
  progress_ = std::make_unique<Progress>(t_.steps, show_progress_, state_.step);
  first_timed_step_ = state_.step + timing_warmup_steps(t_.steps);
  reset_cuda_peak(device_);
  const int64_t resumed_from = state_.step;

  bool interrupted = false;
  for (int64_t step = state_.step + 1; step <= t_.steps; ++step) {
    train_step(step);
    const bool evaluate_now = step % config_.eval.every == 0 || step == t_.steps;
    if (evaluate_now) validate(step);
    interrupted = stop_requested();
    if (evaluate_now || interrupted || (t_.checkpoint_every > 0 && step % t_.checkpoint_every == 0))
      write_checkpoint();
    if (interrupted) break;
  }
  TrainResult result = finish(interrupted);
  result.resumed_from_step = resumed_from;
  return result;
}

TrainResult TrainLoop::finish(bool interrupted) {
  progress_->clear();
  TrainResult result;
  result.parameters = parameter_count(*model_);
  result.steps_done = state_.step;
  result.interrupted = interrupted;
  result.history = state_.history;
  result.best_step = state_.best_step;
  result.best_val_accuracy = state_.best_val_accuracy;
  if (interrupted) {
    log::warn(log::format("stopped by signal %d after step %ld of %ld; resume with --resume %s",
                          stop_signal(), state_.step, t_.steps, run_dir_.c_str()));
    write_model(run_dir_ + "/last.pt", nullptr);
  }
  result.peak_memory_mib = device_.is_cuda() ? cuda_peak_allocated_mib(device_) : peak_rss_mib();
  result.peak_memory_kind = device_.is_cuda() ? "cuda_allocated" : "process_rss";
  auto& timing = state_.timing;
  if (!interrupted) {
    if (config_.output.save_final_state)
      save_safetensors(run_dir_ + "/final.safetensors", snapshot(*model_));
    restore(*model_, best_state_, "the best model");
    result.test = evaluate(model_, data_.test, eval_batch_, 0, device_);
    log_scalars("test/", state_.step,
                {{"accuracy", result.test.accuracy}, {"loss", result.test.loss}});
    timing.eval_examples += static_cast<double>(result.test.examples);
    timing.eval_seconds += result.test.seconds;
  }
  auto& tp = result.train;
  tp.warmup_steps = timing_warmup_steps(t_.steps);
  tp.measured_steps = static_cast<int64_t>(timing.step_ms.size());
  tp.ms_per_step_median = median(timing.step_ms);
  tp.ms_per_step_p90 = percentile(timing.step_ms, 0.9);
  if (timing.seconds > 0) {
    tp.samples_per_s = timing.samples / timing.seconds;
    tp.tokens_per_s = tp.samples_per_s * static_cast<double>(data_.max_length);
    tp.real_tokens_per_s = timing.real_tokens / timing.seconds;
  }
  tp.model_gflop_per_step = step_flops_ / 1e9;
  tp.matmul_gflops = matmul_gflops_;
  if (tp.ms_per_step_median > 0) {
    tp.achieved_gflops = step_flops_ / (tp.ms_per_step_median * 1e-3) / 1e9;
    tp.utilisation = matmul_gflops_ > 0 ? tp.achieved_gflops / matmul_gflops_ : 0.0;
  }
  result.eval_samples_per_s =
      timing.eval_seconds > 0 ? timing.eval_examples / timing.eval_seconds : 0.0;
  result.nonfinite_steps_skipped = nonfinite_.skipped();
  return result;
}

}  // namespace

TrainResult train(const Config& config, const TaskData& data, const c10::Device& device,
                  const std::string& run_dir, bool show_progress, bool resume,
                  const std::function<void()>& on_start) {
  if (data.train.size() < config.train.batch_size)
    throw std::invalid_argument("train.batch_size: " + std::to_string(config.train.batch_size) +
                                " exceeds the " + std::to_string(data.train.size()) +
                                " training examples");
  TrainLoop loop(config, data, device, run_dir, show_progress);
  return loop.run(resume, on_start);
}

}  // namespace lra
