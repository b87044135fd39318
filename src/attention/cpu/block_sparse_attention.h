// Block-sparse softmax attention: the sequence is cut into blocks of block_size tokens; each
// query block attends either to a list of key blocks (gathered, so that the whole pattern is a
// few batched matmuls over (B, H, query blocks, listed keys)) or, as a global row, to every key.
// What the block methods share: bigbird's window + global + random pattern, and the fixed
// patterns of local / longformer / sparse_transformer-style attention. LibTorch ops only, so the
// same code runs on CUDA.
#pragma once
#include <cstdint>
#include <optional>

#include <torch/types.h>

namespace lra {

struct BlockSparseLayout {
  int64_t block_size = 64;
  // (H, S, m) int64: the key blocks that query block sparse_rows[s] of head h attends to, -1 for
  // an unused slot (rows listing fewer than m blocks). A block listed twice is counted twice
  // (its keys enter the softmax twice, as in the BigBird code's concatenated key lists).
  torch::Tensor key_blocks;
  // (S) int64: the query blocks that attend through key_blocks.
  torch::Tensor sparse_rows;
  // (G) int64: the query blocks that attend to every key. sparse_rows and global_rows together
  // list every block once.
  torch::Tensor global_rows;
};

// q, k, v: (B, H, L, d); key_mask: (B, L), 1 = real, 0 = padded (exactly zero weight). L need not
// be a multiple of block_size: the last block is completed with masked keys; the layout covers
// ceil(L / block_size) blocks. Scores q.k * scale (default d^-1/2). Returns (B, H, L, d); a query
// whose listed keys are all padded gets uniform weights over them (padded queries' rows are
// unspecified).
torch::Tensor block_sparse_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, const torch::Tensor& key_mask,
                                     const BlockSparseLayout& layout,
                                     std::optional<double> scale = std::nullopt);

// (H, L, L) float64: how many times query i of head h attends to key j under `layout` (0, 1,
// or more for a block listed more than once): the dense form of the pattern.
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
