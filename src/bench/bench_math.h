// What lra_bench computes about its measurements: the matmul FLOPs of an encoder block's linear
// layers (each attention backend's own count is in its registration, attention/registry.h), and
// summaries of repeated timings.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lra::bench {

// Matmul FLOPs of an encoder block's linear layers (q, k, v, output projection, MLP) for
// (batch, length) tokens; the backward does twice as many (input and weight gradients).
double block_linear_forward_flops(int64_t batch, int64_t length, int64_t dim, int64_t qkv_dim,
                                  int64_t mlp_dim);

struct Summary {
  double median = 0.0, min = 0.0, max = 0.0;
  // (max - min) / median: the spread of the repeated timings.
  double spread = 0.0;
};
Summary summarize(const std::vector<double>& samples);  // the median of util/stats.h

}  // namespace lra::bench
