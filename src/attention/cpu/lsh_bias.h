// The constant added to each score of Reformer's chunked LSH attention (lsh_attention.h), built in
// one pass over the (query slot, window slot) pairs instead of a dozen (C, c, w c) tensor ops:
// -1e5 on the token's own key, -1e9 on padded keys (and, paper convention, keys of another
// bucket), else minus log N_ij, N_ij the number of (round, window) slots of the query's own
// bucket holding key j (paper), or 0 (code). Its reference is the tensor-op form in
// lsh_attention.cpp (lsh_attention_bias with cpu_kernel false).
#pragma once
#include <cstdint>

namespace lra::cpu {

struct LshBiasLayout {
  int64_t batch = 0, heads = 0, length = 0, hashes = 0;  // B, H, L, n
  int64_t chunk = 0, before = 0, after = 0;              // c and the window's chunks
  bool paper = true;
  const int64_t* slot_position = nullptr;  // (B H, n L): the position in each sorted slot
  const int64_t* slot_bucket = nullptr;    // (B H, n L): its bucket, distinct across rounds
  const bool* real = nullptr;              // (B, L): 1 = a real token
  const int64_t* chunk_of = nullptr;       // (B H, L, n): each position's chunk per round (paper)
  const int64_t* bucket_of = nullptr;      // (B H, L, n): each position's bucket per round (paper)
};

// bias: (B H (n L / c), c, w c), w = 1 + before + after, window slots in look-adjacent order
// (chunks x - before .. x + after, wrapping around the n L / c chunks).
void lsh_bias(const LshBiasLayout& layout, float* bias);
void lsh_bias(const LshBiasLayout& layout, double* bias);

}  // namespace lra::cpu
