// Sparse Sinkhorn attention (Tay et al. 2020, "Sparse Sinkhorn Attention"): the sequence is cut
// into N blocks of `block` tokens; a learned soft permutation P (N x N, doubly stochastic by
// Sinkhorn balancing) mixes the key and value blocks into "sorted" blocks, and each query block
// attends to its own keys and to its sorted block's. What the sinkhorn backend composes, apart
// from the module so that the tests can give the random choices (the Gumbel noise) and the
// permutation to a float64 reference. Also the official LRA code's form of the method, which
// differs from the paper's (docs/attention.md, `sinkhorn`).
#pragma once
#include <cstdint>

#include <torch/types.h>

namespace lra::sinkhorn {

// (B, N) bool: the blocks of `block` tokens that hold at least one real token.
// key_mask: (B, N * block), 1 = real.
torch::Tensor real_blocks(const torch::Tensor& key_mask, int64_t block);

// (B, 1, N, N) bool: the entries of the permutation that exist. A real block mixes real blocks
// only; a block of padding alone keeps itself (its queries are padded, their rows unspecified),
// so that no real key block is ever mixed with padding.
torch::Tensor permutation_support(const torch::Tensor& real_blocks);

// Gumbel(0, 1) noise, draw `draw` of the layer seed `seed`: (batch, heads, max_blocks, max_blocks)
// float64. The sort of N blocks adds its leading (N x N); a sequence's noise does not depend on
// the batch size nor on N.
torch::Tensor gumbel_noise(uint64_t seed, int64_t draw, int64_t batch, int64_t heads,
                           int64_t max_blocks);

// log P for the sort logits (B, H, N, N): logits / temperature on the support (-inf elsewhere),
// then `iterations` times a row and then a column log-normalisation (Sinkhorn balancing in the
// log domain). Every row and column of the result sums to 1 on convergence; each step is exact
// for its own normalisation.
torch::Tensor sinkhorn_log_permutation(const torch::Tensor& logits, const torch::Tensor& support,
                                       int64_t iterations, double temperature);

// The paper's attention for a given permutation. q, k, v: (B, H, N * block, d); key_mask:
// (B, N * block); permutation: (B, H, N, N), row i the weights of the key blocks that form query
// block i's sorted block. Query block i attends, in one softmax with scores q.k / sqrt(d), to the
// real keys of block i and to the slots of its sorted block: slot s holds sum_j P_ij k_(j, s),
// the padded keys zeroed, and exists where that sum has real weight (sum_j P_ij [k_(j, s) real]
// > 0; padded keys get exactly zero weight). Attention-weight dropout while training. Returns
// (B, H, N * block, d).
torch::Tensor sorted_block_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, const torch::Tensor& key_mask,
                                     const torch::Tensor& permutation, int64_t block,
                                     double dropout, bool training);

// The official LRA code's SinkhornAttention (sort_activation softmax, what its configs run), for
// L = nb * block: query token s * nb + n (block n, slot s: its reshape makes strided blocks)
// attends with one softmax to the keys s' * nb + n of its block, and with a second softmax to the
// `block` keys sum_c k[s' * nb + c] (sums of nb consecutive keys; its einsum sums the softmax
// permutation away), the two outputs added. Its masks come from the contiguous chunks of the key
// mask instead (chunk n = tokens n * block ...), with -1e10 added to the scores, as the code
// builds them. Attention-weight dropout while training. Returns (B, H, L, d).
torch::Tensor lra_code_sinkhorn_attention(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& key_mask,
                                          int64_t block, double dropout, bool training);

}  // namespace lra::sinkhorn
