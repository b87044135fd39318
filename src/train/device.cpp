#include "train/device.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <torch/cuda.h>
#include <torch/utils.h>

#include "util/log.h"
#include "util/openmp_policy.h"

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
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t n = wanted > 0 ? wanted : cores;
  // Correct, but each parallel region then waits on threads that share a core (and spin, under
  // OpenMP's default wait policy): steps can be many times slower.
  if (n > cores)
    log::warn("threads " + std::to_string(n) + " is more than this machine's " +
              std::to_string(cores) + " cores: the results are the same, but oversubscribed " +
              "threads make every step slower; threads: auto uses " + std::to_string(cores));
  torch::set_num_threads(static_cast<int>(n));
  return static_cast<int>(n);
}

void warn_if_machine_busy() {
  double load = 0.0;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (getloadavg(&load, 1) != 1 || load <= cores) return;
  const std::string policy = openmp_wait_policy();
  log::warn(
      log::format("load average %.2f exceeds this machine's %u cores: another process is "
                  "computing, so steps will be slower and timings noisy (OMP_WAIT_POLICY=%s)",
                  load, cores, policy.empty() ? "unset" : policy.c_str()));
}

}  // namespace lra
