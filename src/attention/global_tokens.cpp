#include "attention/global_tokens.h"

#include <cmath>

#include <torch/torch.h>

#include "attention/attention.h"

namespace lra {

torch::Tensor global_query_rows(const torch::Tensor& q_rows, const torch::Tensor& k,
                                const torch::Tensor& v, const torch::Tensor& key_mask) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q_rows.size(-1)));
  auto scores = torch::matmul(q_rows, k.transpose(-2, -1)) * scale;  // (B, H, g, L)
  // Finite, as the engine's padded keys: exp() of it is exactly 0 beside any real key.
  scores = scores.masked_fill(padded_key_columns(key_mask), -1e30);
  return torch::matmul(torch::softmax(scores, -1), v);  // (B, H, g, d)
}

}  // namespace lra
