// Matmul FLOP counts of one attention layer, for lra_bench's achieved rates: each backend's file
// defines its own formula (`flops` in src/attention/backends/<name>.cpp, found through the
// registry), built from the shared terms below (multiply-add = 2 FLOPs; elementwise work such as
// exp or the Maclaurin products is not counted).
#pragma once
#include <cstdint>

namespace lra {

struct AttentionShape {
  int64_t batch = 1, heads = 1, length = 1, head_dim = 1;  // value dim = head_dim
  int64_t features = 1;                                    // m (random-feature backends)
};

// forward; backward = the input gradients (q, k, v) only. The chunked linear attention
// recomputes its features in the backward, which is not counted.
struct FlopCount {
  double forward = 0.0, backward = 0.0;
};

// Exact attention: scores q k^T (L x L x d per head), then weights times v (L x L x d); every
// product costs two of the same size backwards.
FlopCount quadratic_attention_flops(const AttentionShape& s);

// Linear attention around a feature map: S = phi(k)^T [v, 1] and phi(q) S (m x (d + 1) per row,
// on B H L rows), plus the projections of queries and keys onto `projection_width` random
// directions, whose matrices take no gradient (one product each backwards).
FlopCount linear_attention_flops(const AttentionShape& s, int64_t projection_width);

}  // namespace lra
