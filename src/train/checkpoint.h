// Resumable checkpoints (runs/<name>/checkpoint.pt): model, best model, AdamW state, RNG
// states and the loop's TrainState, with the config they were made under. One file, written
// atomically: the previous checkpoint stays until the new one is complete.
#pragma once
#include <string>

#include <c10/core/Device.h>
#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include "train/model_state.h"
#include "train/rng_state.h"
#include "train/train_state.h"

namespace lra {

constexpr const char* kCheckpointFile = "checkpoint.pt";
constexpr const char* kCheckpointFormat = "lra_train.checkpoint";
// 2: every tensor under its module path. 1 stored them by position and is refused.
constexpr int kCheckpointVersion = 2;

struct Checkpoint {
  std::string config_yaml;  // the resolved config of the run that wrote it
  TrainState state;
  NamedTensors model;      // model_state.h snapshot at state.step
  NamedTensors best;       // snapshot of the best model so far
  NamedTensors optimizer;  // optimizer_state.h adamw_state at state.step
  RngState rng;
};

// Serializes everything in memory, then writes `path` atomically; errors name the file and
// the system's reason.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Reads `path` with tensors on `device`. Throws std::runtime_error naming the file when it is
// missing, damaged, of another format, or of the positional version 1.
Checkpoint load_checkpoint(const std::string& path, const c10::Device& device);

// Puts the checkpoint's model and AdamW state into `model` and `optimizer`, once its model,
// best model and AdamW state have all been checked against `model` by name and shape. Throws
// std::runtime_error naming `path` and the first tensor that is missing, extra or of another
// shape; nothing is changed then.
void apply_checkpoint(const Checkpoint& checkpoint, const std::string& path,
                      torch::nn::Module& model, torch::optim::AdamW& optimizer);

}  // namespace lra
