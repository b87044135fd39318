// Where a run or a benchmark computes, and on how many CPU threads: one rule for lra_train and
// lra_bench.
#pragma once
#include <cstdint>
#include <string>

#include <c10/core/Device.h>

namespace lra {

// "cpu", "cuda" (the first GPU) or "auto" (the first GPU when there is one, else the CPU).
// Throws std::runtime_error for "cuda" without a CUDA device, std::invalid_argument for another
// name.
c10::Device pick_device(const std::string& name);

// Sets LibTorch's intra-op threads to `wanted`, or to one per core for 0; returns the count.
int apply_thread_count(int64_t wanted);

// A one-line warning when the 1-minute load average already exceeds the cores: another process
// is computing, so steps will be slower and timings noisy.
void warn_if_machine_busy();

}  // namespace lra
