// How much of the machine a training step uses: the model's matmul FLOPs per step (each
// attention backend's own count plus the encoder blocks' linear layers; embeddings, norms, GELU
// and the classifier head are not counted) against a large-matmul rate measured on the device
// (nanoGPT's estimate_mfu, with a measured yardstick instead of a datasheet peak).
#pragma once
#include <cstdint>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "config/config.h"

namespace lra {

// Matmul FLOPs of an encoder block's linear layers (q, k, v, output projection, MLP) for
// (batch, length) tokens; the backward does twice as many (input and weight gradients).
double block_linear_forward_flops(int64_t batch, int64_t length, int64_t dim, int64_t qkv_dim,
                                  int64_t mlp_dim);

struct StepFlops {
  double forward = 0.0, backward = 0.0;
  double total() const { return forward + backward; }
};

// One optimizer step of the model `config` builds on (batch, length) sequences (retrieval: two
// documents per example), attention included through its registered FLOP formula.
StepFlops training_step_flops(const Config& config, int64_t batch, int64_t length);

// GFLOP/s of an (n x n) by (n x n) matmul of `dtype` on `device` (median of `repeats`).
double measure_matmul_gflops(const c10::Device& device, int64_t n, int repeats,
                             c10::ScalarType dtype = c10::ScalarType::Float);

}  // namespace lra
