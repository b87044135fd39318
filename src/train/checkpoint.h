// Resumable checkpoints (runs/<name>/checkpoint.pt): model, best model, AdamW state, RNG
// states and the loop's TrainState, with the config they were made under. One file, written
// atomically: the previous checkpoint stays until the new one is complete.
#pragma once
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "train/rng_state.h"
#include "train/train_state.h"

namespace lra {

constexpr const char* kCheckpointFile = "checkpoint.pt";
constexpr const char* kCheckpointFormat = "lra_train.checkpoint";
constexpr int kCheckpointVersion = 1;

struct Checkpoint {
  std::string config_yaml;  // the resolved config of the run that wrote it
  TrainState state;
  std::vector<torch::Tensor> model;  // model_state.h snapshot at state.step
  std::vector<torch::Tensor> best;   // snapshot of the best model so far
  RngState rng;
};

// Serializes everything in memory, then writes `path` atomically; errors name the file and
// the system's reason.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint,
                     torch::optim::Optimizer& optimizer);

// Reads `path` with tensors on `device`; loads the optimizer state into `optimizer` when given.
// Throws std::runtime_error naming the file when it is missing, damaged or of another format.
Checkpoint load_checkpoint(const std::string& path, const c10::Device& device,
                           torch::optim::Optimizer* optimizer);

}  // namespace lra
