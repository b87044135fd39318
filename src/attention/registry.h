// The attention backends' implementations: the LibTorch half of each registration line
// (src/attention_spec/backend_list.h), looked up by attention.type.
#pragma once
#include <string>
#include <vector>

#include <torch/types.h>

#include "attention/attention.h"
#include "attention/flop_count.h"
#include "attention_spec/backend_spec.h"

namespace lra {

// What each src/attention/backends/<name>.cpp defines in namespace lra::backends::<name>.
struct BackendImplementation {
  const BackendSpec* spec = nullptr;
  // The module forward runs.
  AttentionPtr (*make)(const AttentionConfig& config, const AttentionContext& context) = nullptr;
  // Matmul FLOPs of one layer of this shape; `instance` for what its draws decide (SchoenbAt's
  // number of Rademacher factors).
  FlopCount (*flops)(const AttentionShape& shape, const AttentionBackend& instance) = nullptr;
  // The exact O(L^2) attention, from plain ops: for an exact backend the formula its fast path
  // is tested against, for an approximate one the exact attention it estimates. Same shapes as
  // AttentionBackend::forward; no dropout.
  torch::Tensor (*reference)(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& key_mask,
                             const AttentionConfig& config) = nullptr;
};

// Throws std::invalid_argument naming the registered backends.
const BackendImplementation& attention_implementation(const std::string& name);

// Builds the backend config.type names after checking config against its registration line
// (attention_config_errors); throws std::invalid_argument with every problem.
AttentionPtr make_attention(const AttentionConfig& config, const AttentionContext& context);

// make_attention bound to one config, for the model.
AttentionFactory attention_factory(const AttentionConfig& config, ExecutionOptions execution = {});

}  // namespace lra
