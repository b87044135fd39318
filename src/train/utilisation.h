// How much of the machine a training step uses: the model's matmul FLOPs per step
// (ClassifierImpl::matmul_flops: each attention backend's own count plus the encoder blocks'
// linear layers; embeddings, norms, GELU and the classifier head are not counted) against a
// large-matmul rate measured on the device (nanoGPT's estimate_mfu, with a measured yardstick
// instead of a datasheet peak).
#pragma once
#include <cstdint>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace lra {

// GFLOP/s of an (n x n) by (n x n) matmul of `dtype` on `device` (median of `repeats`).
double measure_matmul_gflops(const c10::Device& device, int64_t n, int repeats,
                             c10::ScalarType dtype = c10::ScalarType::Float);

}  // namespace lra
