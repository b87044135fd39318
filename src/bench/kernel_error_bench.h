// `lra_bench kernel-error`: for each approximate attention backend and kernel, the relative
// Frobenius error of the feature Gram matrix against the exact kernel matrix, ||K^ - K|| / ||K||
// (random-feature backends), and of the attention output against the exact attention it
// approximates (its registration's `reference`), over feature dimensions and seeds; mean and
// standard deviation per point, as a Markdown table and optionally CSV.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attention_spec/backend_spec.h"

namespace lra::bench {

// Every registered backend that approximates another.
std::vector<std::string> approximate_backend_names();

struct KernelErrorOptions {
  std::vector<std::string> methods = approximate_backend_names();
  std::vector<std::string> kernels = dot_kernel_names();  // for backends that read attention.kernel
  std::vector<int64_t> features{16, 32, 64, 128, 256, 512, 1024};
  int64_t seeds = 10;
  int64_t length = 256;
  int64_t head_dim = 32;
  int64_t heads = 1;
  double qk_scale = 0.5;
  // For backends that read them (favor: both; favor_sharp: the sampler): every combination.
  std::vector<std::string> components{"positive"};
  std::vector<std::string> weight_samplers{"orthogonal"};
  std::string row_norm = "chi";
  std::string device = "cpu";
  std::string csv;
  std::string run;      // a run folder (config.yaml + best.pt): q, k, v from the trained model
  int64_t layer = 0;    // which encoder block's attention inputs (with --run)
  int64_t example = 0;  // which validation example (with --run)
};

int run_kernel_error(const KernelErrorOptions& options);

}  // namespace lra::bench
