// Block-sparse softmax attention: the queries are cut into blocks of block_size tokens; each
// query block attends either to a list of keys (key blocks, or single key tokens for patterns
// finer than a block) or, as a global row, to every key. What the sparse methods share:
// bigbird's window + global + random blocks, local attention's blocks, longformer's sliding
// window and sparse_transformer's fixed patterns (the last two through a token rule on the
// listed keys).
//
// Two paths compute the same thing: on the CPU (float32, float64) a fused kernel that gathers a
// query block's keys into a cache-sized tile and never forms the scores of more than one block
// (block_sparse_kernel.h); elsewhere LibTorch ops over the gathered keys of every block at once.
// A float64 reference (the dense masked pattern) sits beside both.
#pragma once
#include <cstdint>
#include <optional>

#include <torch/types.h>

namespace lra {

// Which listed keys a query token sees, by position: i the query's, j the key's.
enum class TokenRule {
  kNone,    // every listed key
  kCausal,  // j <= i
  kBand,    // i - band_left <= j <= i + band_right
};

struct BlockSparseLayout {
  int64_t block_size = 64;
  // The keys of query block sparse_rows[s] of head h, one of:
  //  - key_blocks (H, S, m) int64: key blocks, -1 for an unused slot;
  //  - key_tokens (H, S, M) int64: key tokens, -1 for an unused slot (used when defined).
  // A key listed twice is counted twice (it enters the softmax twice, as in the BigBird code's
  // concatenated key lists).
  torch::Tensor key_blocks;
  torch::Tensor key_tokens;
  // (S) int64: the query blocks that attend through their lists.
  torch::Tensor sparse_rows;
  // (G) int64: the query blocks that attend to every key (no rule). sparse_rows and global_rows
  // together list every block once.
  torch::Tensor global_rows;
  // Applies to the listed keys of the sparse rows, except the first rule_exempt_slots slots of
  // every list (e.g. longformer's global tokens, seen by every query).
  TokenRule rule = TokenRule::kNone;
  int64_t band_left = 0, band_right = 0;
  int64_t rule_exempt_slots = 0;
};

// q, k, v: (B, H, L, d); key_mask: (B, L), 1 = real, 0 = padded (exactly zero weight). L need not
// be a multiple of block_size: the last block is completed with masked keys; the layout covers
// ceil(L / block_size) blocks. Scores q.k * scale (default d^-1/2). Returns (B, H, L, d); a query
// whose listed keys are all padded gets uniform weights over them, one whose rule leaves no
// listed key gets zeros (padded queries' rows are unspecified).
torch::Tensor block_sparse_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, const torch::Tensor& key_mask,
                                     const BlockSparseLayout& layout,
                                     std::optional<double> scale = std::nullopt);

// The same through LibTorch ops on any device (what block_sparse_attention runs off the CPU).
torch::Tensor block_sparse_attention_ops(const torch::Tensor& q, const torch::Tensor& k,
                                         const torch::Tensor& v, const torch::Tensor& key_mask,
                                         const BlockSparseLayout& layout,
                                         std::optional<double> scale = std::nullopt);

// (H, S, M) int64: the listed key tokens of every sparse row (key_tokens, or key_blocks expanded
// to their tokens), -1 for an unused slot.
torch::Tensor listed_key_tokens(const BlockSparseLayout& layout);

// (H, L, L) float64: how many times query i of head h attends to key j under `layout` (0, 1,
// or more for a key listed more than once), the rule applied: the dense form of the pattern.
torch::Tensor block_sparse_multiplicity(const BlockSparseLayout& layout, int64_t heads,
                                        int64_t length);

// The same attention the obvious way: dense (L x L) scores, weights proportional to
// multiplicity * exp(score) over the real keys. Any dtype (tests use float64).
torch::Tensor block_sparse_attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                               const torch::Tensor& v,
                                               const torch::Tensor& key_mask,
                                               const BlockSparseLayout& layout,
                                               std::optional<double> scale = std::nullopt);

}  // namespace lra
