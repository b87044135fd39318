// A model's parameters and buffers by module path ("encoder.blocks.0.wq.weight"): to keep the
// best model in memory and to put it into checkpoints without a file round-trip. Names, not
// positions, so that two same-shape tensors can never be swapped on the way back.
#pragma once
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/ordered_dict.h>

namespace lra {

using NamedTensors = torch::OrderedDict<std::string, torch::Tensor>;

// What a saved tensor must look like to go back into a model.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool any_rows = false;  // the first dimension may differ (a buffer of random features)
};

// Copies of every parameter, then every buffer, under their module paths.
NamedTensors snapshot(torch::nn::Module& module);

// The specs snapshot(module) meets: a parameter's exact shape; a buffer's shape but for its
// first dimension, since a redraw may change the number of random factors (SchoenbAt's degree
// mix).
std::vector<TensorSpec> snapshot_specs(torch::nn::Module& module);

// Throws std::runtime_error "<source>: <name> is missing" (in `specs`, not in `saved`), "... is
// not in the model" (the reverse) or "... has shape [64, 64], the model expects [32, 64]",
// naming the first such tensor and counting the others.
void check_tensors(const NamedTensors& saved, const std::vector<TensorSpec>& specs,
                   const std::string& source);

// Puts a snapshot back after check_tensors. Buffers are re-pointed, not copied into: random
// features redrawn since the snapshot may have another shape, and a new storage also tells
// backends that cache values derived from a buffer that it changed.
void restore(torch::nn::Module& module, const NamedTensors& state, const std::string& source);

}  // namespace lra
