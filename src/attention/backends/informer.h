// informer's ProbSparse attention in parts, for its tests: the counts, the sampled key positions,
// the fast path given those positions and its float64 reference (backends/informer.cpp).
#pragma once
#include <cstdint>

#include <torch/types.h>

#include "attention_spec/attention_config.h"

namespace lra::backends::informer {

// The sampling factor c: ceil(attention.features / ln(max_length)) as the Skyformer code's config
// derives it from in_nb_features, or attention.sampling_factor itself when features is 0.
double sampling_factor(const AttentionConfig& config, int64_t max_length);

// Keys sampled per query (U) and queries given exact rows (u) for a sequence of n keys:
// ceil(c ceil(ln n)), at least 1, at most n.
int64_t prob_sparse_count(double factor, int64_t n);

// The key_mask the method works with: all ones under attention.convention: skyformer_code (the
// Skyformer code ignores padding), key_mask itself otherwise. (B, L) in key_mask's dtype.
torch::Tensor effective_key_mask(const torch::Tensor& key_mask, bool skyformer_code);

// (B, L, U_max) int64 key positions sampled for each query position of draw (seed, draw):
// uniform with replacement over each sequence's real keys. The numbers come from a hash of
// (seed, draw, the query's rank among the real tokens, the slot), so a real query's samples do
// not depend on the padding, the batch size or U_max. Slots >= the sequence's U and padded
// queries hold valid but unused positions.
torch::Tensor sample_key_positions(const torch::Tensor& key_mask, double factor, uint64_t seed,
                                   int64_t draw);

// ProbSparse self-attention given the sampled positions (key_mask as effective_key_mask gives
// it): the sparsity measure M = max - sum / n over each query's sampled scores, exact softmax rows
// for the top u real queries (ties to the lower position), the mean of the real values for the
// rest. The fast path: M without an (L x U x d) gather, autograd through the u exact rows only.
torch::Tensor prob_sparse_attention(const torch::Tensor& q, const torch::Tensor& k,
                                    const torch::Tensor& v, const torch::Tensor& key_mask,
                                    const torch::Tensor& positions, double factor);

// The same from plain float64 ops: the dense L x L scores, M of every query from them, the top u
// by a stable sort, exact softmax attention or the masked mean per row. Returns v's dtype.
torch::Tensor prob_sparse_reference(const torch::Tensor& q, const torch::Tensor& k,
                                    const torch::Tensor& v, const torch::Tensor& key_mask,
                                    const torch::Tensor& positions, double factor);

// (B, H, L) sparsity measure of every query (-inf for padded queries), by the CPU row loop
// (float32 / float64 CPU tensors) or by gathered tensor ops (any device); not differentiated.
torch::Tensor sparsity_measure(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& key_mask, const torch::Tensor& positions,
                               double factor, bool row_loop);

}  // namespace lra::backends::informer
