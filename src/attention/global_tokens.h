// Global query tokens of the sparse patterns (longformer's global attention, the LRA code's
// Sparse Transformer CLS row): a few positions that attend to every key with exact softmax
// weights. Their rows are computed apart from the pattern, over (B, H, g, L) scores: g is small,
// and the block-sparse engine's global rows are whole query blocks.
#pragma once
#include <cstdint>

#include <torch/types.h>

namespace lra {

// q_rows: (B, H, g, d), the global queries; k, v: (B, H, L, d); key_mask (B, L), 1 = real.
// Returns (B, H, g, d): softmax(q_rows k^T / sqrt(d)) v over the real keys (padded keys get
// exactly zero weight; a row whose keys are all padded weighs them uniformly, never NaN).
torch::Tensor global_query_rows(const torch::Tensor& q_rows, const torch::Tensor& k,
                                const torch::Tensor& v, const torch::Tensor& key_mask);

}  // namespace lra
