// The training loop: AdamW + schedule, clipping, accumulation, periodic validation with the
// best checkpoint kept, and the test score of that checkpoint at the end.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "config/config.h"
#include "data/dataset.h"
#include "model/transformer.h"
#include "train/train_state.h"

namespace lra {

struct Throughput {
  double samples_per_s = 0.0;
  double tokens_per_s = 0.0;       // padded positions processed
  double real_tokens_per_s = 0.0;  // non-pad tokens processed
  double ms_per_step_median = 0.0;
  double ms_per_step_p90 = 0.0;
  int64_t measured_steps = 0;
  int64_t warmup_steps = 0;  // first steps left out of the timing
  // Utilisation (train/utilisation.h): matmul FLOPs of one step, the rate the median step
  // achieves, the device's measured large-matmul rate, and their ratio.
  double model_gflop_per_step = 0.0;
  double achieved_gflops = 0.0;
  double matmul_gflops = 0.0;
  double utilisation = 0.0;
};

struct TrainResult {
  int64_t parameters = 0;
  int64_t steps_done = 0;
  int64_t resumed_from_step = 0;  // the checkpoint's step when resumed, else 0
  bool interrupted = false;       // stopped early by SIGINT/SIGTERM: no test score
  int64_t nonfinite_steps_skipped = 0;
  std::vector<ValidationPoint> history;
  int64_t best_step = 0;
  double best_val_accuracy = -1.0;
  EvalResult test;
  Throughput train;
  double eval_samples_per_s = 0.0;
  double peak_memory_mib = 0.0;
  std::string peak_memory_kind;  // "process_rss" or "cuda_allocated"
};

// The first steps of each training process that the throughput leaves out (allocations and
// caches warm up there): min(10, steps / 5) of a run of `steps`.
int64_t timing_warmup_steps(int64_t steps);

// Accuracy and mean loss over a split (all of it, or the first max_batches batches), in eval
// mode; the model is left in the mode it was in.
EvalResult evaluate(Classifier& model, const Split& split, int64_t batch_size, int64_t max_batches,
                    const c10::Device& device);

// Runs the whole training described by `config`; writes metrics.jsonl, best.pt and the
// resumable checkpoint.pt into run_dir. With `resume`, continues from run_dir's checkpoint.pt.
// `on_start` is called once the model is built (and the checkpoint applied), before the
// first file of run_dir is written.
TrainResult train(const Config& config, const TaskData& data, const c10::Device& device,
                  const std::string& run_dir, bool show_progress, bool resume = false,
                  const std::function<void()>& on_start = {});

}  // namespace lra
