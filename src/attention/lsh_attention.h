// Reformer's LSH attention once the buckets are known (Kitaev et al. 2020, Sec. 2-3), shared
// query-key: the keys are the queries normalised to unit length, the scores q_i . k_j. Every
// round of hashing sorts the positions by (bucket, position) and cuts the sorted sequence (all
// rounds one after the other) into chunks; a query attends to the keys of its own chunk and of
// chunks_before / chunks_after neighbouring chunks, wrapping around (HuggingFace's
// look-adjacent). A token attends itself only when nothing else is left (its score -1e5), padded
// keys get -1e9 (exactly zero weight); the rounds are combined with weights softmax over rounds
// of each round's log-normaliser. Two conventions:
//   code  (HuggingFace LSHSelfAttention, which the Skyformer code ran): every key in the window,
//         whatever its bucket, counted once per time it appears in a window;
//   paper (the paper's masks): only keys of the query's own bucket, each counted once across
//         rounds (scores minus log of the number of windows that hold it).
// Combined over rounds both are one softmax over the keys with weight N_ij exp(s_ij) (code) or
// [N_ij > 0] exp(s_ij) (paper), N_ij the number of (round, window) slots of key j seen by query
// i: what lsh_attention_reference computes densely.
#pragma once
#include <cstdint>

#include <torch/types.h>

namespace lra {

struct LshChunking {
  int64_t chunk_length = 64;
  int64_t chunks_before = 1;
  int64_t chunks_after = 0;
  bool paper = true;  // within-bucket and deduplicated (paper) vs HuggingFace's (code)
};

// Scores kept for a token's own key and put on padded / masked keys (HuggingFace's float32
// values).
constexpr double kLshSelfScore = -1e5;
constexpr double kLshMaskedScore = -1e9;

// Keys of shared-QK attention: q / |q| (HuggingFace: q * rsqrt(mean(q^2) + 1e-6) / sqrt(d)).
torch::Tensor shared_qk_keys(const torch::Tensor& q);

// Exact shared-QK softmax attention with the self-masking rule, from the (B, H, L, L) scores:
// what reformer estimates, and what it computes when the whole sequence fits one chunk.
// q, v: (B, H, L, d); key_mask: (B, L). Dropout on the weights while training (the shared_qk
// backend's; reformer has none, as HuggingFace's default).
torch::Tensor shared_qk_attention(const torch::Tensor& q, const torch::Tensor& v,
                                  const torch::Tensor& key_mask, double dropout = 0.0,
                                  bool training = false);

// The fast path, O(n L w c d) for n rounds and windows of w = 1 + before + after chunks of c.
// buckets: (B, H, n, L) from lsh_hash; L a multiple of chunk_length. Returns (B, H, L, d). On the
// CPU the sorted sequence runs through the fused block-sparse kernel (each chunk a query block
// listing its window's chunks, the bias below added to its scores), the rounds combined by the
// log-normalisers it returns; elsewhere lsh_attention_ops.
torch::Tensor lsh_attention(const torch::Tensor& q, const torch::Tensor& v,
                            const torch::Tensor& key_mask, const torch::Tensor& buckets,
                            const LshChunking& chunking);

// The same through LibTorch ops on any device: batched matmuls over the sorted, chunked rows.
torch::Tensor lsh_attention_ops(const torch::Tensor& q, const torch::Tensor& v,
                                const torch::Tensor& key_mask, const torch::Tensor& buckets,
                                const LshChunking& chunking);

// What lsh_attention adds to the scores of each chunk, (B H C, c, w c), C = n L / c: by the CPU
// kernel (cpu/lsh_bias.h; CPU float32 / float64) or by tensor ops (cpu_kernel false, and on
// other devices), which are its reference.
torch::Tensor lsh_attention_bias(const torch::Tensor& buckets, const torch::Tensor& key_mask,
                                 const LshChunking& chunking, torch::ScalarType dtype,
                                 bool cpu_kernel);

// The same from the dense (L, L) multiplicities N_ij, found by plain loops over every pair of
// sorted slots: the obviously-correct reference of lsh_attention (float64 in the tests).
torch::Tensor lsh_attention_reference(const torch::Tensor& q, const torch::Tensor& v,
                                      const torch::Tensor& key_mask, const torch::Tensor& buckets,
                                      const LshChunking& chunking);

}  // namespace lra
