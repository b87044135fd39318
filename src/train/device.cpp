#include "train/device.h"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include <torch/cuda.h>
#include <torch/utils.h>

namespace lra {

c10::Device pick_device(const std::string& name) {
  if (name != "cpu" && name != "cuda" && name != "auto")
    throw std::invalid_argument("device: '" + name + "' is not one of auto, cpu, cuda");
  const bool has_cuda = torch::cuda::is_available();
  if (name == "cuda" && !has_cuda)
    throw std::runtime_error(
        "device: cuda requested but no CUDA device is available (use device: auto or cpu)");
  return (name == "cuda" || (name == "auto" && has_cuda)) ? c10::Device(c10::kCUDA, 0)
                                                          : c10::Device(c10::kCPU);
}

int apply_thread_count(int64_t wanted) {
  const int64_t n = wanted > 0 ? wanted : std::max<int64_t>(1, std::thread::hardware_concurrency());
  torch::set_num_threads(static_cast<int>(n));
  return static_cast<int>(n);
}

}  // namespace lra
