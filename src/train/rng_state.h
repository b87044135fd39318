// The state of LibTorch's default generators (CPU, and the current CUDA device's when training
// there): dropout draws from them, so a resumed run must continue their streams exactly.
#pragma once
#include <torch/types.h>

#include <c10/core/Device.h>

namespace lra {

struct RngState {
  torch::Tensor cpu;   // uint8 state of the default CPU generator
  torch::Tensor cuda;  // uint8 state of `device`'s generator; undefined on CPU
};

RngState capture_rng_state(const c10::Device& device);
void restore_rng_state(const RngState& state, const c10::Device& device);

}  // namespace lra
