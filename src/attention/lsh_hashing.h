// Angular locality-sensitive hashing of the Reformer (Kitaev et al. 2020, Sec. 2; Andoni et al.
// 2015): a vector x falls in bucket argmax([xR; -xR]) for a random Gaussian R of b/2 columns.
// Bucket counts follow HuggingFace's LSHSelfAttention (the code behind the Skyformer tables):
// chosen from the length when not set, and factorised into two hashes once they grow large.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace lra {

// The bucket count of each factor of the hash; the buckets are their product. `num_buckets` > 0
// is one factor of that size; 0 = HuggingFace's automatic choice for a sequence of `length`
// (a multiple of `chunk_length`): the largest power of two <= 2 * length / chunk_length, split
// into two factors 2^floor(p/2), 2^ceil(p/2) when it exceeds 2 * max(floor(sqrt(max_length /
// chunk_length)), chunk_length).
std::vector<int64_t> lsh_bucket_factors(int64_t num_buckets, int64_t length, int64_t chunk_length,
                                        int64_t max_length);

// Columns of the random rotation: the sum of factor / 2.
int64_t lsh_rotation_width(const std::vector<int64_t>& factors);

// (heads, hashes, head_dim, width) N(0, 1) float64 rotations, draw number `draw` of the layer
// seeded with `seed` (CPU generator: the same rotations on every device).
torch::Tensor lsh_rotations(uint64_t seed, int64_t draw, int64_t heads, int64_t hashes,
                            int64_t head_dim, int64_t width);

// Buckets of q (B, H, L, d) under `rotations` (H, n, d, width): (B, H, n, L) int64 in
// [0, prod(factors)]; padded positions (key_mask 0) all get the extra bucket prod(factors), which
// sorts them after every real token, as HuggingFace does. No gradient.
torch::Tensor lsh_hash(const torch::Tensor& q, const torch::Tensor& rotations,
                       const std::vector<int64_t>& factors, const torch::Tensor& key_mask);

}  // namespace lra
