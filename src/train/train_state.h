// What the training loop carries from step to step besides the model and the optimizer: the
// part of a run that a checkpoint must hold so that a resumed run continues exactly.
#pragma once
#include <cstdint>
#include <vector>

namespace lra {

struct EvalResult {
  double accuracy = 0.0;
  double loss = 0.0;
  int64_t examples = 0;
  double seconds = 0.0;
};

struct ValidationPoint {
  int64_t step = 0;
  EvalResult result;
};

// Sums over the steps since the last metrics line (or over one step).
struct StepStats {
  double loss_sum = 0.0, correct = 0.0, count = 0.0, real_tokens = 0.0;
};

// Counters of NonfiniteGuard.
struct NonfiniteState {
  int64_t skipped = 0;
  double last_finite_loss = 0.0;
  int64_t last_finite_step = 0;
};

// Timing sums for the report's throughput; kept across a resume so that they cover the run.
struct TimingState {
  std::vector<double> step_ms;
  double samples = 0.0, real_tokens = 0.0, seconds = 0.0;
  double eval_examples = 0.0, eval_seconds = 0.0;
};

struct TrainState {
  int64_t step = 0;              // optimizer steps done
  int64_t batches_consumed = 0;  // batches drawn from the seeded order (one per step)
  std::vector<ValidationPoint> history;
  int64_t best_step = 0;
  double best_val_accuracy = -1.0;
  NonfiniteState nonfinite;
  StepStats window;            // metrics.jsonl line in progress
  int64_t metrics_offset = 0;  // bytes of metrics.jsonl written up to `step`
  int64_t events_offset = 0;   // bytes of the TensorBoard event file written up to `step`
  int64_t batches_offset = 0;  // bytes of batches.jsonl written up to `step`
  TimingState timing;
};

}  // namespace lra
