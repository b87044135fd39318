// One optimizer step of the model, the one the trainer takes and `lra_bench step-profile` times:
// both call training_step, so the profile cannot drift from what training does.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

#include <c10/core/Device.h>
#include <torch/optim/adamw.h>

#include "config/config.h"
#include "data/dataset.h"
#include "model/transformer.h"
#include "train/nonfinite_guard.h"
#include "train/train_state.h"

namespace lra {

// AdamW over the model's parameters with train.lr, betas, eps and weight decay; the schedule
// sets lr and beta1 before each step.
std::unique_ptr<torch::optim::AdamW> make_optimizer(Classifier& model, const TrainConfig& train);

// The parts of a step, in the order they run.
enum class StepPhase {
  kForwardBackward,  // zero_grad, then forward and backward over every accumulation chunk
  kClipping,         // the gradient norm, train.clip and the non-finite guard's verdict
  kOptimizer,        // the optimizer step (nothing when the guard skipped it)
  kRedraw,           // the attention's redraws for this step
};

// Called after each phase, e.g. to time it. On CUDA the phase's kernels may still be queued.
using StepHook = std::function<void(StepPhase finished)>;

struct StepOutcome {
  StepStats stats;         // loss sum, correct, count and real tokens of the batch
  double grad_norm = 0.0;  // the global gradient norm before clipping
  bool applied = false;    // false: non-finite, and `guard` said skip
};

// Step `step` (1-based) on `batch`: the gradients of train.grad_accum chunks under
// train.precision's autocast, clipping, `guard`'s verdict, the optimizer step when it accepts,
// then the model's redraws. Throws what `guard` throws when the run has to stop.
StepOutcome training_step(Classifier& model, torch::optim::Optimizer& optimizer,
                          NonfiniteGuard& guard, const Batch& batch, const TrainConfig& train,
                          const c10::Device& device, int64_t step,
                          const StepHook& after_phase = {});

}  // namespace lra
