// What lra_bench computes about its measurements: the matmul FLOP count each attention backend
// must do (one formula per backend, multiply-add = 2 FLOPs), and summaries of repeated timings.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lra::bench {

struct AttentionShape {
  int64_t batch = 1, heads = 1, length = 1, head_dim = 1;  // value dim = head_dim
  int64_t features = 1;                                    // m (random-feature backends)
  int64_t factors = 0;  // SchoenbAt: F = sum of the features' degrees (Rademacher rows)
};

// Matmul FLOPs of one attention layer (the algorithm's own products; elementwise work such as
// exp or the Maclaurin products is not counted). backward: the input gradients (q, k, v) only;
// the chunked linear attention recomputes its features in the backward, which is not counted.
// Throws std::invalid_argument for an unknown backend.
double attention_forward_flops(const std::string& backend, const AttentionShape& s);
double attention_backward_flops(const std::string& backend, const AttentionShape& s);

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
