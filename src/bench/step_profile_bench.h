// `lra_bench step-profile`: where one training step's time goes, per backend, on the task's
// first training batch. The whole step is the trainer's own (training_step), and its hooks time
// the gradient norm, clipping and optimizer part inside it; the model's parts are timed one by
// one (forward + backward) at the step's shapes: embeddings, attention, the dense layers, layer
// norms / GELU / dropout / residual adds, the head and loss; and batch assembly. Their sum
// beside the whole step shows the unattributed rest.
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
