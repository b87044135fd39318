// What to do when a step's loss or gradient is NaN/Inf: stop the run with a message naming the
// step and the last finite loss (default), or skip the update while the count stays in bounds.
#pragma once
#include <cstdint>
#include <string>

#include "train/train_state.h"

namespace lra {

class NonfiniteGuard {
 public:
  NonfiniteGuard(std::string policy, int64_t max_skipped);  // policy: stop | skip
  // True when step `step`'s update may be applied, false when it must be skipped. Throws
  // std::runtime_error when the run has to stop.
  bool accept(int64_t step, double loss, double grad_norm);
  int64_t skipped() const { return state_.skipped; }
  // The counters, for checkpoints and resuming.
  const NonfiniteState& state() const { return state_; }
  void restore(const NonfiniteState& state) { state_ = state; }

 private:
  std::string policy_;
  int64_t max_skipped_;
  NonfiniteState state_;
};

}  // namespace lra
