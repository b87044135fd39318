// --resume: which run folder, whether its checkpoint may be continued under the given config,
// and the keys that may differ without changing what the run computes.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.h"

namespace lra {

// Resuming was refused (no checkpoint, or a config that would change the results). Nothing
// has been written when this is thrown.
class ResumeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Keys that only change where and how a run reports, not what it computes: they may differ
// between a run and its resume.
const std::vector<std::string>& result_neutral_keys();

// "key: <value in the run> in the checkpoint, <value now> now" for every other key that
// differs.
std::vector<std::string> result_changing_differences(const Config& run, const Config& now);

// Points config.output.dir/name at `run_dir` (a run folder given to --resume).
void set_run_dir(Config& config, const std::string& run_dir);

// Checks that <run_dir>/checkpoint.pt exists and was made under a config that differs from
// `config` in result-neutral keys only (any key with `force`, with a warning); then removes
// temporaries left by a killed writer. Throws ResumeError.
void check_resume(const std::string& run_dir, const Config& config, bool force);

}  // namespace lra
