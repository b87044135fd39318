// `lra_bench step-profile`: where one training step's time goes, per backend. The model's parts
// are timed one by one (forward + backward) at the step's shapes, on the task's first training
// batch: embeddings, attention, the dense layers, layer norms / GELU / dropout / residual adds,
// the head and loss, clipping and the optimizer, batch assembly; beside the whole step, so the
// unattributed rest shows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lra::bench {

struct StepProfileOptions {
  std::string config = "configs/listops.yaml";
  std::vector<std::string> overrides;
  std::vector<std::string> backends{"softmax", "favor"};
  int64_t warmup = 2, repeats = 7;
  int64_t threads = 0;
  std::string json;
  std::string markdown;
};

int run_step_profile(const StepProfileOptions& options);

}  // namespace lra::bench
