// BigBird's block pattern (Zaheer et al. 2020, ITC): the first and last `global` blocks attend to
// every key and are attended by every query; each other query block attends to its 3-block
// window, the global blocks and `random` random key blocks. What the bigbird backend draws and
// lays out, apart from the module so that the tests can give the random choices to a reference.
#pragma once
#include <cstdint>

#include <torch/types.h>

#include "attention/cpu/block_sparse_attention.h"

namespace lra::bigbird {

struct PatternShape {
  int64_t heads = 1;
  int64_t blocks = 1;  // nb: blocks of the (block-padded) sequence
  int64_t global = 1;  // global blocks at each end
  int64_t random = 3;  // random key blocks per non-global query block
};

// Where the random blocks come from.
enum class Draws {
  // Uniform: `random` distinct blocks outside the row's window and the global blocks, anywhere
  // in the sequence (the paper's description).
  kUniform,
  // As the Skyformer (HuggingFace, original BigBird) code draws them: for padded lengths 1,024,
  // 3,072 and 4,096 tokens its legacy rule (only from the first 1,024 tokens, some rows allowed
  // their own window); otherwise its "plan" (only from the first 2 r + 5 blocks, the plan's last
  // block excluded, rows 1 and nb - 2 kept off each other). Needs global = 1.
  kSkyformerCode,
};

// Blocks at or below which the pattern is not used (exact attention, as HuggingFace's
// BigBirdModel falls back to full attention): 2 global + 3 window + 2 random, in blocks.
int64_t full_attention_blocks(int64_t global, int64_t random);

// (H, nb - 2 global, random) int64: the random key blocks of each head and non-global query
// block (row s is query block global + s); -1 where a row has fewer candidates than `random`.
// A function of (shape, draws, seed, index) only; block_tokens and padded length tell the
// Skyformer code's rules apart.
torch::Tensor draw_random_blocks(const PatternShape& shape, int64_t block_tokens, Draws draws,
                                 uint64_t seed, int64_t index);

// The block-sparse layout of the pattern with these random blocks (H, nb - 2 global, random).
BlockSparseLayout layout(const torch::Tensor& random_blocks, const PatternShape& shape,
                         int64_t block_tokens);

}  // namespace lra::bigbird
