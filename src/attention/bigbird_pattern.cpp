#include "attention/bigbird_pattern.h"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <vector>

#include <torch/torch.h>

#include "attention_spec/exact_forms.h"

namespace lra::bigbird {
namespace {

// SplitMix64: a small counter-based stream, the same on every platform and standard library
// (std::shuffle and the std distributions are not).
struct BlockRng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) {  // uniform in [0, n), by rejection
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }
};

BlockRng stream(uint64_t seed, int64_t index, int64_t blocks, Draws draws) {
  BlockRng rng{seed};
  for (uint64_t part :
       {static_cast<uint64_t>(index), static_cast<uint64_t>(blocks), static_cast<uint64_t>(draws)})
    rng.state = rng.next() ^ part;
  return rng;
}

// `count` distinct entries of `candidates`, uniformly (a partial Fisher-Yates shuffle: what the
// code's permutation-then-take-the-first does).
std::vector<int64_t> choose(std::vector<int64_t> candidates, int64_t count, BlockRng& rng) {
  const int64_t n = static_cast<int64_t>(candidates.size()), take = std::min(count, n);
  for (int64_t j = 0; j < take; ++j)
    std::swap(candidates[j], candidates[j + static_cast<int64_t>(rng.below(n - j))]);
  candidates.resize(take);
  return candidates;
}

std::vector<int64_t> uniform_candidates(const PatternShape& p, int64_t row) {
  std::vector<int64_t> c;
  for (int64_t b = p.global; b < p.blocks - p.global; ++b)
    if (b < row - 1 || b > row + 1) c.push_back(b);
  return c;
}

// HuggingFace's _bigbird_block_rand_mask_with_head above its full-attention threshold: the plan
// is one segment of 2 r + 5 blocks holding all r random blocks, so every row draws from it, with
// the segment's last block standing for the global one (_get_single_block_row_attention).
std::vector<int64_t> plan_candidates(const PatternShape& p, int64_t row) {
  const int64_t end = std::min(2 * p.random + 5, p.blocks);
  std::set<int64_t> illegal = {row - 1, row, row + 1, 0, end - 1};
  if (row == 1) illegal.insert(end - 2);  // the code's rule for the second block
  if (row == end - 2) illegal.insert(1);
  std::vector<int64_t> c;
  for (int64_t b = 0; b < end; ++b)
    if (!illegal.count(b)) c.push_back(b);
  return c;
}

// The legacy _bigbird_block_rand_mask(..., last_idx=1024) ("old plans used in paper"), with its
// slices of middle = [1, nb - 2] as written, the rows nb - 3 and nb - 2 missing their window
// exclusion included.
std::vector<int64_t> legacy_candidates(const PatternShape& p, int64_t block_tokens, int64_t row) {
  const int64_t nb = p.blocks;
  const int64_t last = 1024 > 2 * block_tokens ? 1024 / block_tokens - 1 : nb - 1;
  auto middle = [&](int64_t from, int64_t to, std::vector<int64_t>& out) {  // middle[from:to]
    for (int64_t j = from; j < std::min(to, nb - 2); ++j) out.push_back(j + 1);
  };
  std::vector<int64_t> c;
  const int64_t start = row - 2, end = row;
  if (row == 1)
    middle(2, last, c);
  else if (row == 2)
    middle(3, last, c);
  else if (row == nb - 3 || row == nb - 2)
    middle(0, last, c);
  else if (start > last)
    middle(0, last, c);
  else if (end + 1 == last)
    middle(0, start, c);
  else {
    middle(0, start, c);
    middle(end + 1, last, c);
  }
  return c;
}

bool legacy_length(int64_t padded) {
  return padded == 1024 || padded == 3072 || padded == 4096;
}

}  // namespace

int64_t full_attention_blocks(int64_t global, int64_t random) {
  return bigbird_full_attention_blocks(global, random);
}

torch::Tensor draw_random_blocks(const PatternShape& p, int64_t block_tokens, Draws draws,
                                 uint64_t seed, int64_t index) {
  if (draws == Draws::kSkyformerCode && p.global != 1)
    throw std::invalid_argument("bigbird: the Skyformer code's draws need one global block");
  const int64_t rows = p.blocks - 2 * p.global;
  if (rows < 1) throw std::invalid_argument("bigbird: no non-global query block to draw for");
  auto out = torch::full({p.heads, rows, p.random}, -1, torch::kInt64);  // (H, S, r)
  auto acc = out.accessor<int64_t, 3>();
  auto rng = stream(seed, index, p.blocks, draws);
  const bool legacy = legacy_length(p.blocks * block_tokens);
  for (int64_t h = 0; h < p.heads; ++h)
    for (int64_t s = 0; s < rows; ++s) {
      const int64_t row = p.global + s;
      auto candidates = draws == Draws::kUniform ? uniform_candidates(p, row)
                        : legacy                 ? legacy_candidates(p, block_tokens, row)
                                                 : plan_candidates(p, row);
      auto picked = choose(std::move(candidates), p.random, rng);
      for (size_t j = 0; j < picked.size(); ++j) acc[h][s][static_cast<int64_t>(j)] = picked[j];
    }
  return out;
}

BlockSparseLayout layout(const torch::Tensor& random_blocks, const PatternShape& p,
                         int64_t block_tokens) {
  const int64_t rows = p.blocks - 2 * p.global, fixed = 2 * p.global + 3;
  auto keys = torch::full({p.heads, rows, fixed + p.random}, -1, torch::kInt64);  // (H, S, m)
  for (int64_t s = 0; s < rows; ++s) {
    const int64_t row = p.global + s;
    std::vector<int64_t> listed;  // globals and window, each block once, in order
    for (int64_t b = 0; b < p.blocks; ++b)
      if (b < p.global || b >= p.blocks - p.global || (b >= row - 1 && b <= row + 1))
        listed.push_back(b);
    auto part = torch::tensor(listed, torch::kInt64);
    keys.select(1, s).narrow(1, 0, part.numel()).copy_(part.expand({p.heads, part.numel()}));
  }
  keys.narrow(2, fixed, p.random).copy_(random_blocks);
  BlockSparseLayout out;
  out.block_size = block_tokens;
  out.key_blocks = keys;
  out.sparse_rows = torch::arange(p.global, p.blocks - p.global, torch::kInt64);
  out.global_rows = torch::cat({torch::arange(0, p.global, torch::kInt64),
                                torch::arange(p.blocks - p.global, p.blocks, torch::kInt64)});
  return out;
}

}  // namespace lra::bigbird
