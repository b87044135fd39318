#include "train/nonfinite_guard.h"

#include <cmath>
#include <stdexcept>
#include <utility>

#include "util/log.h"

namespace lra {

NonfiniteGuard::NonfiniteGuard(std::string policy, int64_t max_skipped)
    : policy_(std::move(policy)), max_skipped_(max_skipped) {}

bool NonfiniteGuard::accept(int64_t step, double loss, double grad_norm) {
  if (std::isfinite(loss) && std::isfinite(grad_norm)) {
    state_.last_finite_loss = loss;
    state_.last_finite_step = step;
    return true;
  }
  const std::string what = !std::isfinite(loss) ? log::format("the training loss is %g", loss)
                                                : log::format("the gradient norm is %g", grad_norm);
  const std::string last = state_.last_finite_step > 0
                               ? log::format("last finite loss %.6g at step %ld",
                                             state_.last_finite_loss, state_.last_finite_step)
                               : std::string("no finite step yet");
  const std::string where = log::format("step %ld: ", step) + what + " (" + last + ")";
  if (policy_ == "skip" && state_.skipped < max_skipped_) {
    ++state_.skipped;
    log::warn(where +
              log::format("; update skipped (%ld of at most %ld)", state_.skipped, max_skipped_));
    return false;
  }
  if (policy_ == "skip")
    throw std::runtime_error(where +
                             log::format("; more than train.max_nonfinite = %ld steps "
                                         "were not finite: lower train.lr or set train.clip",
                                         max_skipped_));
  throw std::runtime_error(where +
                           "; lower train.lr, set train.clip, or set "
                           "train.on_nonfinite: skip to skip such steps");
}

}  // namespace lra
