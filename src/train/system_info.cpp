#include "train/system_info.h"

#include <fstream>

#include <sys/resource.h>
#include <torch/cuda.h>
#include <torch/version.h>

#ifdef LRA_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace lra {

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

double cuda_peak_allocated_mib(const c10::Device& device) {
#ifdef LRA_WITH_CUDA
  if (device.is_cuda()) {
    auto stats =
        c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    const auto& peak =
        stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)];
    return static_cast<double>(peak.peak) / (1024.0 * 1024.0);
  }
#endif
  return 0.0;
}

void reset_cuda_peak(const c10::Device& device) {
#ifdef LRA_WITH_CUDA
  if (device.is_cuda())
    c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#endif
}

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

std::string device_name(const c10::Device& device) {
#ifdef LRA_WITH_CUDA
  if (device.is_cuda())
    return at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index())->name;
#endif
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "cpu";
}

std::string libtorch_version() {
  return TORCH_VERSION;
}

}  // namespace lra
