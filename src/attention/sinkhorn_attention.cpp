#include "attention/sinkhorn_attention.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "attention/attention.h"
#include "attention/nystrom.h"

namespace lra::sinkhorn {
namespace {

// A masked score: finite, so that a row with nothing to attend (a padded query's) stays finite,
// and low enough that exp underflows to exactly 0 beside any allowed score.
constexpr double kMaskedScore = -1e30;

// The LRA code's additive mask bias.
constexpr double kCodeMaskBias = -1e10;

// Keeps the noise stream apart from the stream the sort network's initial weights come from.
constexpr uint64_t kNoiseStream = 0x5167A11Bu;

torch::Tensor dropped(const torch::Tensor& weights, double dropout, bool training) {
  return training && dropout > 0.0 ? torch::dropout(weights, dropout, true) : weights;
}

}  // namespace

torch::Tensor real_blocks(const torch::Tensor& key_mask, int64_t block) {
  const int64_t B = key_mask.size(0), N = key_mask.size(1) / block;
  return (key_mask.reshape({B, N, block}) != 0).any(-1);  // (B, N)
}

torch::Tensor permutation_support(const torch::Tensor& real_blocks) {
  const int64_t N = real_blocks.size(1);
  auto both = real_blocks.unsqueeze(2).logical_and(real_blocks.unsqueeze(1));   // (B, N, N)
  auto eye = torch::eye(N, real_blocks.options().dtype(torch::kBool));          // (N, N)
  auto keeps_itself = eye.logical_and(real_blocks.logical_not().unsqueeze(2));  // (B, N, N)
  return both.logical_or(keeps_itself).unsqueeze(1);                            // (B, 1, N, N)
}

torch::Tensor gumbel_noise(uint64_t seed, int64_t draw, int64_t batch, int64_t heads,
                           int64_t max_blocks) {
  auto gen = landmark_generator(seed ^ kNoiseStream, draw);
  auto u = torch::rand({batch, heads, max_blocks, max_blocks}, gen, torch::kFloat64);  // [0, 1)
  return -torch::log(-torch::log(u.clamp_min(std::numeric_limits<double>::min())));
}

torch::Tensor sinkhorn_log_permutation(const torch::Tensor& logits, const torch::Tensor& support,
                                       int64_t iterations, double temperature) {
  auto log_p = (logits / temperature)
                   .masked_fill(support.logical_not(), -std::numeric_limits<double>::infinity());
  for (int64_t it = 0; it < iterations; ++it) {
    log_p = log_p - torch::logsumexp(log_p, -1, true);  // rows
    log_p = log_p - torch::logsumexp(log_p, -2, true);  // columns
  }
  return log_p;  // (B, H, N, N)
}

torch::Tensor sorted_block_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, const torch::Tensor& key_mask,
                                     const torch::Tensor& permutation, int64_t block,
                                     double dropout, bool training) {
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), d = q.size(3), N = L / block;
  TORCH_CHECK(N * block == L, "sorted_block_attention: length ", L, " is not a multiple of ",
              block);
  auto pads = padded_key_rows(key_mask);  // (B, 1, L, 1)
  auto k_real = k.masked_fill(pads, 0.0).reshape({B, H, N, block, d});
  auto v_real = v.masked_fill(pads, 0.0).reshape({B, H, N, block, d});
  // Sorted block i = sum_j P_ij (block j), slot by slot.
  auto sorted_k =
      torch::matmul(permutation, k_real.reshape({B, H, N, block * d})).reshape({B, H, N, block, d});
  auto sorted_v =
      torch::matmul(permutation, v_real.reshape({B, H, N, block * d})).reshape({B, H, N, block, d});
  // A sorted slot holds a key where the permutation gives it real weight.
  auto real = key_mask.reshape({B, 1, N, block}).to(permutation.scalar_type());  // (B, 1, N, b)
  auto sorted_real = torch::matmul(permutation.detach(), real) > 0;              // (B, H, N, b)
  auto allowed = torch::cat({(real != 0).expand({B, H, N, block}), sorted_real}, 3)
                     .reshape({B, H, N, 1, 2 * block});
  auto keys = torch::cat({k_real, sorted_k}, 3);    // (B, H, N, 2b, d)
  auto values = torch::cat({v_real, sorted_v}, 3);  // (B, H, N, 2b, d)
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  auto scores = torch::matmul(q.reshape({B, H, N, block, d}), keys.transpose(-2, -1)) * scale;
  auto weights = torch::softmax(scores.masked_fill(allowed.logical_not(), kMaskedScore), -1);
  return torch::matmul(dropped(weights, dropout, training), values)  // (B, H, N, b, d)
      .reshape({B, H, L, d});
}

torch::Tensor lra_code_sinkhorn_attention(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& key_mask,
                                          int64_t block, double dropout, bool training) {
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), d = q.size(3), nb = L / block;
  TORCH_CHECK(nb * block == L, "lra_code_sinkhorn_attention: length ", L, " is not a multiple of ",
              block);
  // (B, H, nb, b, d): entry [n][s] is token s * nb + n, the code's (b, nb) reshape.
  auto strided = [&](const torch::Tensor& t) {
    return t.reshape({B, H, block, nb, d}).transpose(2, 3);
  };
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // Its padding masks reshape the mask the other way: chunk n, slot s is token n * b + s.
  auto chunks = key_mask.reshape({B, nb, block});  // (B, nb, b)
  auto local_bias = ((chunks.unsqueeze(3) * chunks.unsqueeze(2)) <= 0).to(q.scalar_type()) *
                    kCodeMaskBias;  // (B, nb, b, b)
  auto local = torch::softmax(
      torch::matmul(strided(q), strided(k).transpose(-2, -1)) * scale + local_bias.unsqueeze(1),
      -1);  // (B, H, nb, b, b)
  // Sorted keys: slot s' is the sum of the nb consecutive keys s' * nb ... s' * nb + nb - 1.
  auto key_sums = k.reshape({B, H, block, nb, d}).sum(3).unsqueeze(2);    // (B, H, 1, b, d)
  auto value_sums = v.reshape({B, H, block, nb, d}).sum(3).unsqueeze(2);  // (B, H, 1, b, d)
  auto shared_chunks = torch::matmul(chunks.transpose(1, 2), chunks);     // (B, b, b)
  auto sorted_bias = (shared_chunks <= 0).to(q.scalar_type()) * kCodeMaskBias;
  auto sorted = torch::softmax(torch::matmul(strided(q), key_sums.transpose(-2, -1)) * scale +
                                   sorted_bias.unsqueeze(1).unsqueeze(1),
                               -1);  // (B, H, nb, b, b)
  auto out = torch::matmul(dropped(local, dropout, training), strided(v)) +
             torch::matmul(dropped(sorted, dropout, training), value_sums);  // (B, H, nb, b, d)
  return out.transpose(2, 3).reshape({B, H, L, d});
}

}  // namespace lra::sinkhorn
