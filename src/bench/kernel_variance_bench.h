// `lra_bench kernel-variance`: how far one random-feature estimate of the softmax kernel
// exp(x.y) strays from it, per (query, key) pair, as the input scale grows: the exact relative
// variance Var[K^]/K^2 of each pair (estimator_variance.h), summarised over pairs and against
// FAVOR+'s, beside the sampled MSE over feature draws and the relative squared error of the
// attention output. The estimators: trigonometric RF, positive RF (FAVOR+), the GERF optimum
// (FAVOR++, OPRF), its asymmetric rescaling (SADERF) and FAVOR# (SDERF).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lra::bench {

// The estimator names, each a (backend, component) of the registry.
std::vector<std::string> kernel_variance_estimators();

struct KernelVarianceOptions {
  std::vector<std::string> estimators = kernel_variance_estimators();
  // Random inputs: x, y ~ N(0, sigma^2 I_d), x = q d^-1/4 the kernel's own inputs. With --run:
  // multipliers of the checkpoint's q and k (1 = as trained).
  std::vector<double> sigmas{0.1, 0.2, 0.3, 0.5, 0.7, 1.0};
  std::vector<int64_t> head_dims{16, 64};
  std::vector<int64_t> features{16, 64, 256};
  int64_t draws = 64;   // feature draws per input set
  int64_t inputs = 4;   // input sets per point (random inputs only)
  int64_t length = 32;  // queries and keys per input set
  std::string weight_sampler = "gaussian";
  std::string csv;
  std::string run;  // a run folder: q, k, v of the trained model instead of random ones
  int64_t layer = 0, example = 0;
};

int run_kernel_variance(const KernelVarianceOptions& options);

}  // namespace lra::bench
