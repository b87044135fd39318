#include "train/utilisation.h"

#include <chrono>
#include <cmath>
#include <vector>

#include <torch/torch.h>

#include "train/system_info.h"
#include "util/stats.h"

namespace lra {

double measure_matmul_gflops(const c10::Device& device, int64_t n, int repeats,
                             c10::ScalarType dtype) {
  auto opts = torch::TensorOptions().device(device).dtype(dtype);
  auto a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts);
  auto c = torch::empty({n, n}, opts);
  std::vector<double> seconds;
  for (int i = 0; i <= repeats; ++i) {  // the first run warms up and is not counted
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    torch::matmul_out(c, a, b);
    synchronize(device);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (i > 0) seconds.push_back(s);
  }
  return 2.0 * std::pow(static_cast<double>(n), 3) / median(seconds) / 1e9;
}

}  // namespace lra
