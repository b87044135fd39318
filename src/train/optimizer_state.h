// AdamW's per-parameter state (step count and moments) under the parameter's module path, for
// checkpoints: LibTorch's own optimizer archive keys it by tensor address and matches it back
// by position.
#pragma once
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include "train/model_state.h"

namespace lra {

// "<parameter>.step" (a 0-d int64 tensor), "<parameter>.exp_avg", "<parameter>.exp_avg_sq" and,
// with amsgrad, "<parameter>.max_exp_avg_sq" for every parameter of `module`. A parameter not
// updated yet is written as step 0 with zero moments: what AdamW starts it from.
NamedTensors adamw_state(const torch::optim::AdamW& optimizer, torch::nn::Module& module);

// The specs adamw_state(optimizer, module) meets.
std::vector<TensorSpec> adamw_state_specs(const torch::optim::AdamW& optimizer,
                                          torch::nn::Module& module);

// Replaces the optimizer's state with `state` after check_tensors; throws naming `source`.
void restore_adamw_state(torch::optim::AdamW& optimizer, torch::nn::Module& module,
                         const NamedTensors& state, const std::string& source);

}  // namespace lra
