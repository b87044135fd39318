// A model's parameters and buffers as a flat list of tensors: to keep the best model in memory
// and to put it into checkpoints without a file round-trip.
#pragma once
#include <vector>

#include <torch/nn/module.h>

namespace lra {

// Copies of every parameter, then every buffer, in registration order.
std::vector<torch::Tensor> snapshot(torch::nn::Module& module);

// Puts a snapshot back. Buffers are re-pointed, not copied into: random features redrawn since
// the snapshot may have another shape (SchoenbAt's degree mix), and a new storage also tells
// backends that cache values derived from a buffer that it changed. Throws std::runtime_error
// when the snapshot does not fit the module (another model shape).
void restore(torch::nn::Module& module, const std::vector<torch::Tensor>& state);

}  // namespace lra
