// The attention inputs of a trained model, for the kernel-approximation benchmarks: what encoder
// block `layer` attends with for validation example `example` of the run's own data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace lra::bench {

// q, k, v: (1, heads, real tokens, head_dim) float64 on `device`, padded positions dropped.
// `run` is a run folder (config.yaml + best.pt).
std::vector<torch::Tensor> checkpoint_qkv(const std::string& run, int64_t layer, int64_t example,
                                          const torch::Device& device);

}  // namespace lra::bench
