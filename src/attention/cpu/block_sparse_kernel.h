// The CPU path of block_sparse_attention: per (batch, head, query block), the listed keys are
// gathered into tiles of at most 512 rows and attended with an online softmax (the flash
// attention scheme), the backward recomputing each tile from the saved log-sum-exp and adding
// the keys' gradients back to their rows. Memory stays O(L d) per head where the op-composed path
// holds every block's gathered keys and scores at once, and backward needs no scatter of a
// (B, H, S, M, d) gradient.
#pragma once
#include <tuple>

#include <torch/types.h>

#include "attention/cpu/block_sparse_attention.h"

namespace lra {

// CPU, float32 or float64.
bool block_sparse_kernel_supported(const torch::Tensor& q);

// As block_sparse_attention, with the layout already checked against q and the scale given.
torch::Tensor block_sparse_kernel(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, const torch::Tensor& key_mask,
                                  const BlockSparseLayout& layout, double scale);

// The same on a length that is a block multiple, with `bias` (B, H, S, bs, M) added to the scores
// of the sparse rows (M: the slots of their key lists; no gradient), returning beside the
// output each query's log-sum-exp (B, H, L), differentiable: what combining several attentions
// by their normalisers needs (reformer's hash rounds).
std::tuple<torch::Tensor, torch::Tensor> block_sparse_kernel_with_lse(
    const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
    const torch::Tensor& key_mask, const BlockSparseLayout& layout, double scale,
    const torch::Tensor& bias);

}  // namespace lra
