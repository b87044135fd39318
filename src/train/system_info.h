// Facts about the process and machine for reports: memory peaks, device names, versions.
#pragma once
#include <cstdint>
#include <string>

#include <c10/core/Device.h>

namespace lra {

// Peak resident set size of this process so far, in MiB.
double peak_rss_mib();
// Allocator peak on a CUDA device since the last reset, in MiB (0 when built without CUDA).
double cuda_peak_allocated_mib(const c10::Device& device);
void reset_cuda_peak(const c10::Device& device);
void synchronize(const c10::Device& device);
std::string device_name(const c10::Device& device);
std::string libtorch_version();

}  // namespace lra
